package imageio

import (
	"bytes"
	"encoding/binary"
	"image"
	"os"
	"path/filepath"
	"testing"

	"github.com/opaprules/opaprules/internal/reftest"
)

// HEIF files for tests are assembled here from pieces that libheif's
// heif-enc (Debian libheif-examples 1.15) encodes: heif-enc writes one
// coded image per file and nothing else (no grid, no irot/imir, no colr
// nclx: its nclx options are parsed and ignored in 1.15). Its coded images
// (hvcC and bitstream) are taken as they are and put into new files with
// the boxes ISO/IEC 23008-12 describes, which libheif's heif-convert then
// decodes as the reference.

// testItem is one item of a built file.
type testItem struct {
	id     uint32
	typ    string
	hidden bool
	props  []bmffBox // written to ipco in this order, associated in this order
	data   []byte
	idat   bool // data in the idat box (construction method 1)
}

type testRef struct {
	typ  string
	from uint32
	to   []uint32
}

type testHEIF struct {
	primary uint32
	items   []testItem
	refs    []testRef
	brands  []string
}

func putBox(typ string, payload ...[]byte) []byte {
	n := 8
	for _, p := range payload {
		n += len(p)
	}
	b := binary.BigEndian.AppendUint32(nil, uint32(n))
	b = append(b, typ...)
	for _, p := range payload {
		b = append(b, p...)
	}
	return b
}

func fullBoxHeader(version uint8, flags uint32) []byte {
	return binary.BigEndian.AppendUint32(nil, uint32(version)<<24|flags)
}

func u16(v int) []byte { return binary.BigEndian.AppendUint16(nil, uint16(v)) }
func u32(v int) []byte { return binary.BigEndian.AppendUint32(nil, uint32(v)) }

func ispeBox(w, h int) bmffBox {
	return bmffBox{"ispe", append(append(fullBoxHeader(0, 0), u32(w)...), u32(h)...)}
}

func irotBox(quarterTurnsAnticlockwise int) bmffBox {
	return bmffBox{"irot", []byte{byte(quarterTurnsAnticlockwise & 3)}}
}

func imirBox(axis int) bmffBox { return bmffBox{"imir", []byte{byte(axis & 1)}} }

func nclxBox(primaries, transfer, matrix int, full bool) bmffBox {
	p := append([]byte("nclx"), u16(primaries)...)
	p = append(p, u16(transfer)...)
	p = append(p, u16(matrix)...)
	if full {
		return bmffBox{"colr", append(p, 0x80)}
	}
	return bmffBox{"colr", append(p, 0)}
}

// bytes writes the file: ftyp, meta, then one mdat with the data of the
// items not in idat.
func (f testHEIF) bytes() []byte {
	brands := f.brands
	if brands == nil {
		brands = []string{"heic", "mif1", "heic"}
	}
	ftyp := []byte(brands[0])
	ftyp = append(ftyp, 0, 0, 0, 0)
	for _, b := range brands[1:] {
		ftyp = append(ftyp, b...)
	}
	ftypBox := putBox("ftyp", ftyp)
	meta := f.meta(0)
	base := len(ftypBox) + len(meta) + 8
	meta = f.meta(base)
	var mdat []byte
	for _, it := range f.items {
		if !it.idat {
			mdat = append(mdat, it.data...)
		}
	}
	return bytes.Join([][]byte{ftypBox, meta, putBox("mdat", mdat)}, nil)
}

func (f testHEIF) meta(mdatStart int) []byte {
	hdlr := putBox("hdlr", fullBoxHeader(0, 0), u32(0), []byte("pict"), make([]byte, 12), []byte{0})
	pitm := putBox("pitm", fullBoxHeader(0, 0), u16(int(f.primary)))
	var infes [][]byte
	for _, it := range f.items {
		flags := uint32(0)
		if it.hidden {
			flags = 1
		}
		infes = append(infes, putBox("infe", fullBoxHeader(2, flags), u16(int(it.id)), u16(0), []byte(it.typ), []byte{0}))
	}
	iinf := putBox("iinf", append([][]byte{fullBoxHeader(0, 0), u16(len(f.items))}, infes...)...)
	var refs [][]byte
	for _, r := range f.refs {
		p := append(u16(int(r.from)), u16(len(r.to))...)
		for _, to := range r.to {
			p = append(p, u16(int(to))...)
		}
		refs = append(refs, putBox(r.typ, p))
	}
	iref := putBox("iref", append([][]byte{fullBoxHeader(0, 0)}, refs...)...)
	var ipco [][]byte
	ipma := append(fullBoxHeader(0, 0), u32(len(f.items))...)
	for _, it := range f.items {
		ipma = append(ipma, u16(int(it.id))...)
		ipma = append(ipma, byte(len(it.props)))
		for _, p := range it.props {
			ipco = append(ipco, putBox(p.typ, p.payload))
			essential := byte(0)
			if p.typ != "ispe" {
				essential = 0x80
			}
			ipma = append(ipma, essential|byte(len(ipco)))
		}
	}
	iprp := putBox("iprp", putBox("ipco", ipco...), putBox("ipma", ipma))
	// iloc version 1: 4-byte offsets and lengths, no base offset.
	iloc := append(fullBoxHeader(1, 0), 0x44, 0x00)
	iloc = append(iloc, u16(len(f.items))...)
	var idat []byte
	off := mdatStart
	for _, it := range f.items {
		iloc = append(iloc, u16(int(it.id))...)
		if it.idat {
			iloc = append(iloc, u16(1)...)
		} else {
			iloc = append(iloc, u16(0)...)
		}
		iloc = append(iloc, u16(0)...) // data reference index
		iloc = append(iloc, u16(1)...) // one extent
		if it.idat {
			iloc = append(iloc, u32(len(idat))...)
			idat = append(idat, it.data...)
		} else {
			iloc = append(iloc, u32(off)...)
			off += len(it.data)
		}
		iloc = append(iloc, u32(len(it.data))...)
	}
	parts := [][]byte{fullBoxHeader(0, 0), hdlr, pitm, iinf, iref, iprp, putBox("iloc", iloc)}
	if len(idat) > 0 {
		parts = append(parts, putBox("idat", idat))
	}
	return putBox("meta", parts...)
}

// codedImage is the primary image of a file heif-enc wrote.
type codedImage struct {
	hvcC, data []byte
	w, h       int
	// aux holds the alpha image, when the file has one.
	aux *codedImage
}

func readCoded(t testing.TB, file []byte) codedImage {
	t.Helper()
	top, err := bmffBoxes(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range top {
		if b.typ != "meta" {
			continue
		}
		m, err := parseMeta(b.payload)
		if err != nil {
			t.Fatal(err)
		}
		c := m.codedImageOf(t, file, m.primary)
		for id, to := range m.refs["auxl"] {
			if len(to) == 1 && to[0] == m.primary {
				a := m.codedImageOf(t, file, id)
				c.aux = &a
			}
		}
		return c
	}
	t.Fatal("no meta box")
	return codedImage{}
}

func (m *heifMeta) codedImageOf(t testing.TB, file []byte, id uint32) codedImage {
	t.Helper()
	it := m.items[id]
	hvcC, ok := m.prop(it, "hvcC")
	if !ok {
		t.Fatalf("item %d has no hvcC", id)
	}
	w, h, err := m.ispe(it)
	if err != nil {
		t.Fatal(err)
	}
	data, err := m.itemData(file, id, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	return codedImage{hvcC: hvcC, data: data, w: w, h: h}
}

// heifEnc encodes m with heif-enc and returns the file's bytes.
func heifEnc(t testing.TB, dir, name string, m image.Image, args ...string) []byte {
	t.Helper()
	src := reftest.WritePNG(t, dir, name+".png", m)
	out := filepath.Join(dir, name+".heic")
	reftest.Run(t, "heif-enc", append(args, "-o", out, src)...)
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// stillHEIF wraps one coded image, with extra properties (irot, imir,
// colr) after its own, as a file.
func stillHEIF(c codedImage, extra ...bmffBox) []byte {
	props := append([]bmffBox{{"hvcC", c.hvcC}, ispeBox(c.w, c.h)}, extra...)
	f := testHEIF{primary: 1, items: []testItem{{id: 1, typ: "hvc1", props: props, data: c.data}}}
	if c.aux != nil {
		urn := append(fullBoxHeader(0, 0), "urn:mpeg:hevc:2015:auxid:1\x00"...)
		f.items = append(f.items, testItem{id: 2, typ: "hvc1", hidden: true, data: c.aux.data,
			props: []bmffBox{{"hvcC", c.aux.hvcC}, ispeBox(c.aux.w, c.aux.h), {"auxC", urn}}})
		f.refs = append(f.refs, testRef{"auxl", 2, []uint32{1}})
	}
	return f.bytes()
}

// gridHEIF puts cells (row by row, all of one size) into a grid of the
// given output size, with extra properties on the grid item.
func gridHEIF(cells []codedImage, cols, rows, w, h int, extra ...bmffBox) []byte {
	desc := []byte{0, 0, byte(rows - 1), byte(cols - 1)}
	desc = append(desc, u16(w)...)
	desc = append(desc, u16(h)...)
	f := testHEIF{primary: 1, items: []testItem{{id: 1, typ: "grid", data: desc, idat: true,
		props: append([]bmffBox{ispeBox(w, h)}, extra...)}}}
	ref := testRef{typ: "dimg", from: 1}
	for i, c := range cells {
		id := uint32(10 + i)
		f.items = append(f.items, testItem{id: id, typ: "hvc1", hidden: true, data: c.data,
			props: []bmffBox{{"hvcC", c.hvcC}, ispeBox(c.w, c.h)}})
		ref.to = append(ref.to, id)
	}
	f.refs = []testRef{ref}
	return f.bytes()
}
