package imageio

import (
	"bytes"
	"encoding/binary"
	"runtime"
	"strings"
	"testing"
)

// The header parser runs on untrusted bytes before any decoder: these
// tests need no tool, only warm.heic (64×64, from heif-enc) and the
// builder.

func warmCoded(t testing.TB) codedImage {
	t.Helper()
	return readCoded(t, warmHEICFile)
}

func TestHEIFHeader(t *testing.T) {
	c := warmCoded(t)
	exif := MinimalEXIF(nil, 6, false)
	icc := []byte("not really an ICC profile, but bytes to carry")
	withMeta := testHEIF{primary: 1, items: []testItem{
		{id: 1, typ: "hvc1", props: []bmffBox{{"hvcC", c.hvcC}, ispeBox(64, 64), {"colr", append([]byte("prof"), icc...)}, irotBox(3)}, data: c.data},
		// The EXIF item: a 4-byte offset to the TIFF header, here past
		// the "Exif\0\0" that cameras write.
		{id: 2, typ: "Exif", hidden: true, data: append(append(u32(6), exifPrefix...), exif...)},
	}, refs: []testRef{{"cdsc", 2, []uint32{1}}}}.bytes()

	for _, tc := range []struct {
		name  string
		file  []byte
		check func(t *testing.T, info *heifInfo)
	}{
		{"from heif-enc", warmHEICFile, func(t *testing.T, info *heifInfo) {
			if info.itemType != "hvc1" || info.width != 64 || info.height != 64 || info.orientation != 1 || info.tiles != 1 {
				t.Errorf("%+v", info)
			}
		}},
		{"rebuilt", stillHEIF(c), func(t *testing.T, info *heifInfo) {
			if info.width != 64 || info.cropW != 64 || info.orientation != 1 {
				t.Errorf("%+v", info)
			}
		}},
		{"EXIF orientation is not HEIF's", withMeta, func(t *testing.T, info *heifInfo) {
			// irot 3 (270° anticlockwise) is EXIF 6; the EXIF item's own 6
			// is not applied on top.
			if info.orientation != 6 {
				t.Errorf("orientation %d, want 6 from irot alone", info.orientation)
			}
			if !bytes.Equal(info.exif, exif) || Orientation(info.exif) != 6 {
				t.Errorf("EXIF %x", info.exif)
			}
			if !bytes.Equal(info.icc, icc) {
				t.Errorf("ICC %q", info.icc)
			}
		}},
		{"nclx", stillHEIF(c, nclxBox(9, 16, 9, false)), func(t *testing.T, info *heifInfo) {
			if n := info.nclx; n == nil || n.primaries != 9 || n.transfer != 16 || n.matrix != 9 || n.fullRange {
				t.Errorf("nclx %+v", n)
			}
		}},
		{"grid", gridHEIF([]codedImage{c, c, c, c}, 2, 2, 100, 120, imirBox(1)), func(t *testing.T, info *heifInfo) {
			if info.itemType != "grid" || info.width != 100 || info.height != 120 || info.tiles != 4 || info.orientation != 2 {
				t.Errorf("%+v", info)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			info, err := parseHEIF(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, info)
		})
	}

	cfg, err := DecodeConfig(withMeta)
	if err != nil || cfg.Format != HEIC || cfg.Width != 64 || cfg.Orientation != 6 {
		t.Fatalf("config %+v, %v", cfg, err)
	}
	if m := ReadMetadata(HEIC, withMeta); !bytes.Equal(m.EXIF, exif) || !bytes.Equal(m.ICC, icc) {
		t.Errorf("metadata %+v", m)
	}
}

// orientations compose as the transforms they stand for.
func TestOrientationAlgebra(t *testing.T) {
	for o := 1; o <= 8; o++ {
		if composeOrientation(o, inverseOrientation(o)) != 1 || composeOrientation(1, o) != o || composeOrientation(o, 1) != o {
			t.Errorf("orientation %d does not invert", o)
		}
	}
	// Four quarter turns anticlockwise come back; two mirrors cancel.
	if composeOrientation(composeOrientation(8, 8), composeOrientation(8, 8)) != 1 || composeOrientation(8, 8) != 3 {
		t.Error("irot does not compose")
	}
	if composeOrientation(2, 4) != 3 {
		t.Error("a flip each way is not a half turn")
	}
}

// hostile takes the 64×64 file apart in the ways a hostile or broken file
// would be: every one is refused with an error, none panics or reaches the
// decoder.
func TestHEIFHostileHeaders(t *testing.T) {
	c := warmCoded(t)
	spsHuge := hvcCWithSize(t, c.hvcC, 16384, 16384)
	big := func(n int) []byte { return make([]byte, n) }
	cases := []struct {
		name string
		file []byte
		want string
	}{
		{"no meta", putBox("ftyp", []byte("heic\x00\x00\x00\x00mif1heic")), "no meta box"},
		{"box larger than the file", append(putBox("ftyp", []byte("heic\x00\x00\x00\x00mif1heic")), 0xFF, 0xFF, 0xFF, 0xF0, 'm', 'e', 't', 'a'), "does not fit"},
		{"box shorter than its header", append(putBox("ftyp", []byte("heic\x00\x00\x00\x00mif1")), 0, 0, 0, 4, 'm', 'e', 't', 'a'), "does not fit"},
		{"64-bit size past the end", append(putBox("ftyp", []byte("heic\x00\x00\x00\x00mif1")), append([]byte{0, 0, 0, 1, 'm', 'e', 't', 'a'}, 0x7F, 0, 0, 0, 0, 0, 0, 0)...), "does not fit"},
		{"ispe of 100000 pixels a side", stillHEIFProps(c, bmffBox{"hvcC", c.hvcC}, ispeBox(100000, 64)), "image size"},
		{"ispe of zero", stillHEIFProps(c, bmffBox{"hvcC", c.hvcC}, ispeBox(0, 64)), "image size"},
		{"no ispe", stillHEIFProps(c, bmffBox{"hvcC", c.hvcC}), "without ispe"},
		{"no hvcC", stillHEIFProps(c, ispeBox(64, 64)), "without hvcC"},
		{"SPS far larger than ispe", stillHEIFProps(c, bmffBox{"hvcC", spsHuge}, ispeBox(64, 64)), "HEVC picture of 16384×16384 in an ispe of 64×64"},
		{"truncated hvcC", stillHEIFProps(c, bmffBox{"hvcC", c.hvcC[:30]}, ispeBox(64, 64)), "hvcC"},
		{"grid cell count differs", gridHEIF([]codedImage{c, c, c}, 2, 2, 100, 100), "with 3 images"},
		{"grid larger than its cells", gridHEIF([]codedImage{c, c, c, c}, 2, 2, 200, 100), "do not tile"},
		{"grid cells overhanging by a whole cell", gridHEIF([]codedImage{c, c, c, c}, 2, 2, 60, 100), "do not tile"},
		{"ipma declaring 2^32-1 entries", replaceBox(t, stillHEIF(c), "ipma", append(fullBoxHeader(0, 0), 0xFF, 0xFF, 0xFF, 0xFF)), "truncated"},
		{"iloc declaring 65535 items", replaceBox(t, stillHEIF(c), "iloc", append(fullBoxHeader(1, 0), 0x44, 0, 0xFF, 0xFF)), "truncated"},
		{"iloc extent past the end", gridWithIdatLength(t, c, 1<<30), "outside the file"},
		{"iref declaring 65535 references", replaceBox(t, stillHEIF(c), "iref", append(fullBoxHeader(0, 0), putBox("dimg", u16(1), u16(65535))...)), "truncated"},
		{"too many boxes", append(stillHEIF(c), bytes.Repeat(putBox("free"), 5*heifMaxItems)...), "too many boxes"},
		{"primary not listed", replaceBox(t, stillHEIF(c), "pitm", append(fullBoxHeader(0, 0), u16(9)...)), "primary item 9"},
		{"handler not pict", replaceBox(t, stillHEIF(c), "hdlr", append(append(fullBoxHeader(0, 0), u32(0)...), "vide"...)), "is not pict"},
		{"primary is a JPEG", replaceInfe(t, stillHEIF(c), "jpeg"), "whose primary image is of type jpeg"},
		{"clap outside the picture", stillHEIFProps(c, bmffBox{"hvcC", c.hvcC}, ispeBox(64, 64), clapBox(80, 64, 0, 0)), "clean aperture"},
		{"clap dividing by zero", stillHEIFProps(c, bmffBox{"hvcC", c.hvcC}, ispeBox(64, 64), bmffBox{"clap", big(32)}), "malformed clap"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeConfig(tc.file)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
	// Every prefix of a valid file is refused or read, never a panic.
	whole := stillHEIF(c, irotBox(1), nclxBox(1, 13, 6, true))
	for n := range len(whole) {
		if _, err := parseHEIF(whole[:n]); err == nil && n < 200 {
			t.Errorf("a %d-byte prefix parsed", n)
		}
	}
}

// A header declaring billions of entries is refused from its counts, not
// after allocating for them.
func TestHEIFCountsRefusedBeforeAllocating(t *testing.T) {
	file := replaceBox(t, stillHEIF(warmCoded(t)), "ipma", append(fullBoxHeader(0, 0), 0xFF, 0xFF, 0xFF, 0xFF))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 10 {
		if _, err := parseHEIF(file); err == nil {
			t.Fatal("parsed")
		}
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / 10; per > 16<<10 {
		t.Errorf("%d bytes allocated to refuse a header", per)
	}
}

func FuzzParseHEIF(f *testing.F) {
	c := readCoded(f, warmHEICFile)
	f.Add(warmHEICFile)
	f.Add(stillHEIF(c, irotBox(1), imirBox(0), nclxBox(1, 13, 6, true)))
	f.Add(gridHEIF([]codedImage{c, c, c, c}, 2, 2, 100, 120))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Without DecodeConfig's recover, so a panic shows.
		if _, err := parseHEIF(data); err != nil {
			return
		}
		cfg, err := DecodeConfig(data)
		if err != nil {
			return
		}
		if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > 1<<16 || cfg.Height > 1<<16 || cfg.Orientation < 1 || cfg.Orientation > 8 {
			t.Fatalf("config %+v", cfg)
		}
	})
}

// stillHEIFProps is a still file with exactly the given properties.
func stillHEIFProps(c codedImage, props ...bmffBox) []byte {
	return testHEIF{primary: 1, items: []testItem{{id: 1, typ: "hvc1", props: props, data: c.data}}}.bytes()
}

// replaceBox swaps the payload of the first box of type typ inside the
// meta box (one level down, or two inside iprp).
func replaceBox(t *testing.T, file []byte, typ string, payload []byte) []byte {
	t.Helper()
	var walk func(b []byte, depth int) ([]byte, bool)
	walk = func(b []byte, depth int) ([]byte, bool) {
		boxes, err := bmffBoxes(b)
		if err != nil {
			t.Fatal(err)
		}
		var out []byte
		done := false
		for _, x := range boxes {
			switch {
			case !done && x.typ == typ:
				out = append(out, putBox(typ, payload)...)
				done = true
			case !done && depth < 3 && (x.typ == "meta" || x.typ == "iprp"):
				skip := 0
				if x.typ == "meta" {
					skip = 4
				}
				inner, ok := walk(x.payload[skip:], depth+1)
				if ok {
					done = true
					out = append(out, putBox(x.typ, x.payload[:skip], inner)...)
				} else {
					out = append(out, putBox(x.typ, x.payload)...)
				}
			default:
				out = append(out, putBox(x.typ, x.payload)...)
			}
		}
		return out, done
	}
	out, ok := walk(file, 0)
	if !ok {
		t.Fatalf("no %s box", typ)
	}
	return out
}

func replaceInfe(t *testing.T, file []byte, itemType string) []byte {
	t.Helper()
	infe := putBox("infe", fullBoxHeader(2, 0), u16(1), u16(0), []byte(itemType), []byte{0})
	return replaceBox(t, file, "iinf", append(append(fullBoxHeader(0, 0), u16(1)...), infe...))
}

// gridWithIdatLength is a grid whose descriptor's extent claims n bytes.
func gridWithIdatLength(t *testing.T, c codedImage, n int) []byte {
	t.Helper()
	file := gridHEIF([]codedImage{c}, 1, 1, 64, 64)
	i := bytes.Index(file, []byte("iloc"))
	if i < 0 {
		t.Fatal("no iloc")
	}
	// iloc v1: version/flags, sizes, count, then the grid (first item):
	// id, method, data reference, extent count, offset, length.
	p := i + 4 + 4 + 2 + 2 + 2 + 2 + 2 + 2 + 4
	binary.BigEndian.PutUint32(file[p:], uint32(n))
	return file
}

// hvcCWithSize rewrites the SPS of an hvcC to declare another picture size,
// re-encoding the Exp-Golomb fields (the tests' hostile input).
func hvcCWithSize(t *testing.T, hvcC []byte, w, h int) []byte {
	t.Helper()
	out := append([]byte(nil), hvcC[:23]...)
	r := &fieldReader{b: hvcC, p: 22}
	arrays := int(r.u8())
	for range arrays {
		typ := r.u8()
		n := int(r.u16())
		out = append(out, typ)
		out = append(out, u16(n)...)
		for range n {
			nal := r.take(int(r.u16()))
			if typ&0x3F == 33 {
				nal = spsWithSize(t, nal, w, h)
			}
			out = append(out, u16(len(nal))...)
			out = append(out, nal...)
		}
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	return out
}

// spsWithSize re-writes an SPS NAL (without emulation prevention in its
// first bytes, as x265's are) with a new pic_width/height.
func spsWithSize(t *testing.T, nal []byte, w, h int) []byte {
	t.Helper()
	rbsp := unescapeRBSP(nal[2:])
	br := &bitReader{b: rbsp}
	br.bits(4)
	if br.bits(3) != 0 {
		t.Skip("SPS with sub-layers")
	}
	br.bits(1)
	br.bits(32)
	br.bits(32)
	br.bits(32)
	br.ue()
	if br.ue() == 3 {
		br.bits(1)
	}
	start := br.pos
	br.ue()
	br.ue()
	end := br.pos
	var bw bitWriter
	for i := range start {
		bw.bit(uint32(rbsp[i/8] >> (7 - i%8) & 1))
	}
	bw.ue(uint32(w))
	bw.ue(uint32(h))
	for i := end; i < 8*len(rbsp); i++ {
		bw.bit(uint32(rbsp[i/8] >> (7 - i%8) & 1))
	}
	out := append([]byte(nil), nal[:2]...)
	return append(out, bw.bytes()...)
}

type bitWriter struct {
	b []byte
	n int
}

func (w *bitWriter) bit(v uint32) {
	if w.n%8 == 0 {
		w.b = append(w.b, 0)
	}
	w.b[len(w.b)-1] |= byte(v&1) << (7 - w.n%8)
	w.n++
}

func (w *bitWriter) ue(v uint32) {
	v++
	n := 0
	for x := v; x > 1; x >>= 1 {
		n++
	}
	for range n {
		w.bit(0)
	}
	for i := n; i >= 0; i-- {
		w.bit(v >> i & 1)
	}
}

func (w *bitWriter) bytes() []byte { return w.b }
