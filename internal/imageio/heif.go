package imageio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// A HEIF file (ISO/IEC 23008-12) is a tree of ISO BMFF boxes: the meta box
// lists items (coded images, grids, EXIF), their properties (size,
// rotation, mirroring, colour, decoder configuration) and where their bytes
// are. parseHEIF reads that tree without decoding anything, so the limits
// can be checked before the WebAssembly decoder allocates a pixel, and so
// the decoder never sees a file whose header lies about its size.
//
// Everything is bounded: each box must fit its parent, counts are checked
// against the bytes that would hold them, and the whole walk is linear in
// the size of the meta box. Anything the primary image needs that is
// missing or inconsistent is an error; boxes it does not need are skipped.

// heifInfo is what the header says about the primary image.
type heifInfo struct {
	itemType string // hvc1 or grid
	// width and height are the primary item's ispe: the coded (or grid
	// output) size before clean aperture and rotation.
	width, height int
	// cropW, cropH are the size after the clean aperture (clap), as stored.
	cropW, cropH int
	// orientation is the EXIF orientation equivalent to the item's irot
	// and imir transforms (1 when it has none).
	orientation int
	// tiles is the number of coded images a decode of the primary item
	// decodes: 1, or the grid's cells.
	tiles int
	// nclx is the primary item's colour description, when it has one.
	nclx *heifNCLX
	exif []byte // TIFF structure of the EXIF item describing the primary
	icc  []byte
}

// heifNCLX is an nclx colour box: which matrix turns the coded YCbCr into
// RGB, and whether it spans the full 0-255 range or video's 16-235.
type heifNCLX struct {
	primaries, transfer, matrix uint16
	fullRange                   bool
}

const (
	// heifMaxItems bounds the items and properties a header may declare:
	// a phone photo has a few dozen (48 tiles and a handful of others),
	// the largest grids some hundreds.
	heifMaxItems = 4096
	heifMaxDepth = 8
)

var errHEIFTruncated = errors.New("heif: truncated box")

// box is one ISO BMFF box: its type and its payload.
type bmffBox struct {
	typ     string
	payload []byte
}

// boxes splits data into the boxes it holds.
func bmffBoxes(data []byte) ([]bmffBox, error) {
	var out []bmffBox
	for p := 0; p < len(data); {
		if len(data)-p < 8 {
			return nil, errHEIFTruncated
		}
		size := uint64(binary.BigEndian.Uint32(data[p:]))
		typ := string(data[p+4 : p+8])
		hdr := uint64(8)
		switch size {
		case 0: // to the end of the enclosing box
			size = uint64(len(data) - p)
		case 1:
			if len(data)-p < 16 {
				return nil, errHEIFTruncated
			}
			size, hdr = binary.BigEndian.Uint64(data[p+8:]), 16
		}
		if size < hdr || size > uint64(len(data)-p) {
			return nil, fmt.Errorf("heif: box %q of %d bytes does not fit its %d", printable(typ), size, len(data)-p)
		}
		out = append(out, bmffBox{typ, data[p+int(hdr) : p+int(size)]})
		if len(out) > 4*heifMaxItems {
			return nil, errors.New("heif: too many boxes")
		}
		p += int(size)
	}
	return out, nil
}

// printable keeps a hostile box type out of error messages as raw bytes.
func printable(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '?'
		}
	}
	return string(b)
}

// fieldReader reads big-endian fields of a box payload; the first read past the
// end sets err and every later read returns zero.
type fieldReader struct {
	b   []byte
	p   int
	err error
}

func (r *fieldReader) take(n int) []byte {
	if r.err != nil || n < 0 || n > len(r.b)-r.p {
		r.err = errHEIFTruncated
		return nil
	}
	s := r.b[r.p : r.p+n]
	r.p += n
	return s
}

func (r *fieldReader) u8() uint8 {
	if s := r.take(1); s != nil {
		return s[0]
	}
	return 0
}

func (r *fieldReader) u16() uint16 {
	if s := r.take(2); s != nil {
		return binary.BigEndian.Uint16(s)
	}
	return 0
}

func (r *fieldReader) u32() uint32 {
	if s := r.take(4); s != nil {
		return binary.BigEndian.Uint32(s)
	}
	return 0
}

// uint reads an n-byte unsigned integer, n in 0, 4 or 8 (iloc's sizes).
func (r *fieldReader) uint(n int) uint64 {
	switch n {
	case 0:
		return 0
	case 4:
		return uint64(r.u32())
	case 8:
		if s := r.take(8); s != nil {
			return binary.BigEndian.Uint64(s)
		}
		return 0
	}
	r.err = fmt.Errorf("heif: field of %d bytes", n)
	return 0
}

// id reads an item ID of 16 bits, or of 32 with wide set.
func (r *fieldReader) id(wide bool) uint32 {
	if wide {
		return r.u32()
	}
	return uint32(r.u16())
}

func (r *fieldReader) left() int { return len(r.b) - r.p }

// fullBox reads the version and flags of a FullBox.
func (r *fieldReader) fullBox() (version uint8, flags uint32) {
	v := r.u32()
	return uint8(v >> 24), v & 0xFFFFFF
}

// heifItem is one entry of the meta box.
type heifItem struct {
	typ   string
	props []int // 1-based indices into ipco, in ipma's order
	loc   *heifLoc
}

type heifLoc struct {
	method  int // 0: file offset, 1: idat
	extents [][2]uint64
}

type heifMeta struct {
	primary uint32
	items   map[uint32]*heifItem
	props   []bmffBox
	refs    map[string]map[uint32][]uint32 // type → from → to
	idat    []byte
}

// parseHEIF reads the header of a HEIF file.
func parseHEIF(data []byte) (*heifInfo, error) {
	top, err := bmffBoxes(data)
	if err != nil {
		return nil, err
	}
	var metaBox []byte
	for _, b := range top {
		if b.typ == "meta" {
			metaBox = b.payload
			break
		}
	}
	if metaBox == nil {
		return nil, errors.New("heif: no meta box")
	}
	m, err := parseMeta(metaBox)
	if err != nil {
		return nil, err
	}
	return m.info(data)
}

func parseMeta(payload []byte) (*heifMeta, error) {
	r := &fieldReader{b: payload}
	r.fullBox()
	if r.err != nil {
		return nil, r.err
	}
	children, err := bmffBoxes(payload[r.p:])
	if err != nil {
		return nil, err
	}
	m := &heifMeta{items: map[uint32]*heifItem{}, refs: map[string]map[uint32][]uint32{}}
	var handler string
	var hasPitm bool
	for _, b := range children {
		r := &fieldReader{b: b.payload}
		switch b.typ {
		case "hdlr":
			r.fullBox()
			r.u32() // pre_defined
			handler = string(r.take(4))
		case "pitm":
			v, _ := r.fullBox()
			m.primary, hasPitm = r.id(v > 0), true
		case "iinf":
			err = m.parseIinf(r)
		case "iref":
			err = m.parseIref(r)
		case "iprp":
			err = m.parseIprp(b.payload)
		case "iloc":
			err = m.parseIloc(r)
		case "idat":
			m.idat = b.payload
		}
		if err == nil {
			err = r.err
		}
		if err != nil {
			return nil, fmt.Errorf("heif: %s: %w", b.typ, err)
		}
	}
	if handler != "pict" {
		return nil, fmt.Errorf("heif: handler %q is not pict", printable(handler))
	}
	if !hasPitm {
		return nil, errors.New("heif: no primary item")
	}
	return m, nil
}

func (m *heifMeta) item(id uint32) *heifItem {
	it := m.items[id]
	if it == nil {
		it = &heifItem{}
		m.items[id] = it
	}
	return it
}

// limitItems refuses a header declaring more items than it could hold or
// than any real picture needs.
func (m *heifMeta) limitItems() error {
	if len(m.items) > heifMaxItems {
		return fmt.Errorf("over %d items", heifMaxItems)
	}
	return nil
}

func (m *heifMeta) parseIinf(r *fieldReader) error {
	v, _ := r.fullBox()
	if v == 0 {
		r.u16()
	} else {
		r.u32()
	}
	if r.err != nil {
		return r.err
	}
	entries, err := bmffBoxes(r.b[r.p:])
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.typ != "infe" {
			continue
		}
		er := &fieldReader{b: e.payload}
		v, _ := er.fullBox()
		if v < 2 {
			continue // item_type appears in version 2
		}
		id := er.id(v > 2)
		er.u16() // protection index
		typ := string(er.take(4))
		if er.err != nil {
			return er.err
		}
		m.item(id).typ = typ
		if err := m.limitItems(); err != nil {
			return err
		}
	}
	return nil
}

func (m *heifMeta) parseIref(r *fieldReader) error {
	v, _ := r.fullBox()
	if r.err != nil {
		return r.err
	}
	refs, err := bmffBoxes(r.b[r.p:])
	if err != nil {
		return err
	}
	total := 0
	for _, ref := range refs {
		rr := &fieldReader{b: ref.payload}
		from := rr.id(v > 0)
		n := int(rr.u16())
		size := 2
		if v > 0 {
			size = 4
		}
		if rr.err != nil || n*size > rr.left() {
			return errHEIFTruncated
		}
		if total += n; total > heifMaxItems*4 {
			return errors.New("too many references")
		}
		to := make([]uint32, n)
		for i := range to {
			to[i] = rr.id(v > 0)
		}
		if m.refs[ref.typ] == nil {
			m.refs[ref.typ] = map[uint32][]uint32{}
		}
		m.refs[ref.typ][from] = append(m.refs[ref.typ][from], to...)
	}
	return nil
}

func (m *heifMeta) parseIprp(payload []byte) error {
	children, err := bmffBoxes(payload)
	if err != nil {
		return err
	}
	for _, c := range children {
		switch c.typ {
		case "ipco":
			if m.props, err = bmffBoxes(c.payload); err != nil {
				return err
			}
			if len(m.props) > heifMaxItems {
				return fmt.Errorf("over %d properties", heifMaxItems)
			}
		case "ipma":
			r := &fieldReader{b: c.payload}
			v, flags := r.fullBox()
			n := int(r.u32())
			// An entry takes at least 3 bytes: no count can exceed that.
			if r.err != nil || n > r.left()/3 {
				return errHEIFTruncated
			}
			for range n {
				id := r.id(v >= 1)
				k := int(r.u8())
				it := m.item(id)
				for range k {
					var idx int
					if flags&1 != 0 {
						idx = int(r.u16() & 0x7FFF)
					} else {
						idx = int(r.u8() & 0x7F)
					}
					it.props = append(it.props, idx)
				}
				if r.err != nil {
					return r.err
				}
				if err := m.limitItems(); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (m *heifMeta) parseIloc(r *fieldReader) error {
	v, _ := r.fullBox()
	if v > 2 {
		return fmt.Errorf("version %d", v)
	}
	sizes := r.u16()
	offSize, lenSize, baseSize := int(sizes>>12), int(sizes>>8&15), int(sizes>>4&15)
	idxSize := 0
	if v > 0 {
		idxSize = int(sizes & 15)
	}
	var n int
	if v < 2 {
		n = int(r.u16())
	} else {
		n = int(r.u32())
	}
	if r.err != nil || n > r.left()/4 {
		return errHEIFTruncated
	}
	for range n {
		id := r.id(v == 2)
		loc := &heifLoc{}
		if v > 0 {
			loc.method = int(r.u16() & 15)
		}
		r.u16() // data_reference_index
		base := r.uint(baseSize)
		ext := int(r.u16())
		if r.err != nil || ext*(offSize+lenSize) > r.left() {
			return errHEIFTruncated
		}
		for range ext {
			if idxSize > 0 {
				r.uint(idxSize)
			}
			off, n := r.uint(offSize), r.uint(lenSize)
			if off > 1<<62 || base > 1<<62 {
				return errors.New("extent offset out of range")
			}
			loc.extents = append(loc.extents, [2]uint64{base + off, n})
		}
		if r.err != nil {
			return r.err
		}
		m.item(id).loc = loc
		if err := m.limitItems(); err != nil {
			return err
		}
	}
	return nil
}

// itemData returns the bytes of an item (a grid's descriptor, EXIF),
// joining its extents. An extent of length 0 runs to the end of the file.
func (m *heifMeta) itemData(file []byte, id uint32, max int) ([]byte, error) {
	it := m.items[id]
	if it == nil || it.loc == nil {
		return nil, fmt.Errorf("heif: item %d has no location", id)
	}
	src := file
	switch it.loc.method {
	case 0:
	case 1:
		src = m.idat
	default:
		return nil, fmt.Errorf("heif: item %d: construction method %d", id, it.loc.method)
	}
	var out []byte
	for _, e := range it.loc.extents {
		off, n := e[0], e[1]
		if n == 0 {
			n = uint64(len(src)) - min(off, uint64(len(src)))
		}
		if off > uint64(len(src)) || n > uint64(len(src))-off {
			return nil, fmt.Errorf("heif: item %d lies outside the file", id)
		}
		if len(out)+int(n) > max {
			return nil, fmt.Errorf("heif: item %d is over %d bytes", id, max)
		}
		out = append(out, src[off:off+n]...)
	}
	return out, nil
}

// prop returns the first property of the item of the given type.
func (m *heifMeta) prop(it *heifItem, typ string) ([]byte, bool) {
	for _, i := range it.props {
		if i >= 1 && i <= len(m.props) && m.props[i-1].typ == typ {
			return m.props[i-1].payload, true
		}
	}
	return nil, false
}

func (m *heifMeta) ispe(it *heifItem) (w, h int, err error) {
	p, ok := m.prop(it, "ispe")
	if !ok {
		return 0, 0, errors.New("heif: image without ispe")
	}
	r := &fieldReader{b: p}
	r.fullBox()
	w, h = int(r.u32()), int(r.u32())
	if r.err != nil {
		return 0, 0, r.err
	}
	if w <= 0 || h <= 0 || w > 1<<16 || h > 1<<16 {
		return 0, 0, fmt.Errorf("heif: image size %d×%d", w, h)
	}
	return w, h, nil
}

// coded checks a coded item the decoder will decode: an HEVC image whose
// sequence parameter set declares no more than its ispe (plus the
// padding to whole coding blocks), in a form the decoder renders
// correctly.
func (m *heifMeta) coded(it *heifItem) error {
	if it.typ != "hvc1" {
		return UnsupportedError{Format: HEIC, Feature: "with " + printable(it.typ) + " coded images"}
	}
	p, ok := m.prop(it, "hvcC")
	if !ok {
		return errors.New("heif: HEVC image without hvcC")
	}
	w, h, err := m.ispe(it)
	if err != nil {
		return err
	}
	sps, err := hevcSPS(p)
	if err != nil {
		return err
	}
	if sps.width > w+64 || sps.height > h+64 {
		return fmt.Errorf("heif: HEVC picture of %d×%d in an ispe of %d×%d", sps.width, sps.height, w, h)
	}
	// gen2brain/heic v0.7.0 (the heic crate) decodes 4:2:0 at 8 to 12
	// bits as libheif does; monochrome, 4:2:2 and 4:4:4 come out as
	// garbage, without an error (internal/imageio/heic_reference_test.go).
	switch {
	case sps.chroma == 0:
		return UnsupportedError{Format: HEIC, Feature: "in monochrome (4:0:0)"}
	case sps.chroma == 2:
		return UnsupportedError{Format: HEIC, Feature: "with 4:2:2 chroma"}
	case sps.chroma == 3:
		return UnsupportedError{Format: HEIC, Feature: "with 4:4:4 chroma"}
	case sps.bitDepth > 12:
		return UnsupportedError{Format: HEIC, Feature: fmt.Sprintf("of %d bits", sps.bitDepth)}
	}
	return nil
}

func (m *heifMeta) info(file []byte) (*heifInfo, error) {
	it := m.items[m.primary]
	if it == nil {
		return nil, fmt.Errorf("heif: primary item %d is not listed", m.primary)
	}
	info := &heifInfo{itemType: it.typ, orientation: 1}
	var err error
	if info.width, info.height, err = m.ispe(it); err != nil {
		return nil, err
	}
	switch it.typ {
	case "hvc1":
		info.tiles = 1
		if err := m.coded(it); err != nil {
			return nil, err
		}
	case "grid":
		if err := m.gridInfo(file, it, info); err != nil {
			return nil, err
		}
	default:
		return nil, UnsupportedError{Format: HEIC, Feature: "whose primary image is of type " + printable(it.typ)}
	}
	if err := m.transforms(it, info); err != nil {
		return nil, err
	}
	for id, to := range m.refs["auxl"] {
		if !slices.Contains(to, m.primary) {
			continue
		}
		if aux := m.items[id]; aux != nil && m.isAlpha(aux) {
			// The alpha plane is a monochrome HEVC image, which the decoder
			// cannot render, and it drops it: the colours under
			// transparent pixels would show.
			return nil, UnsupportedError{Format: HEIC, Feature: "with an alpha channel"}
		}
	}
	for _, i := range it.props {
		if i >= 1 && i <= len(m.props) && m.props[i-1].typ == "colr" {
			readColr(m.props[i-1].payload, info)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(m.refs["cdsc"])) {
		if ex := m.items[id]; ex != nil && ex.typ == "Exif" && slices.Contains(m.refs["cdsc"][id], m.primary) {
			if b, err := m.itemData(file, id, 1<<20); err == nil && len(b) >= 4 {
				if off := int(binary.BigEndian.Uint32(b)); off >= 0 && off <= len(b)-4 {
					info.exif = b[4+off:]
				}
			}
		}
	}
	return info, nil
}

func (m *heifMeta) gridInfo(file []byte, it *heifItem, info *heifInfo) error {
	d, err := m.itemData(file, m.primary, 64)
	if err != nil {
		return err
	}
	r := &fieldReader{b: d}
	r.u8() // version
	flags := r.u8()
	rows, cols := int(r.u8())+1, int(r.u8())+1
	var w, h int
	if flags&1 != 0 {
		w, h = int(r.u32()), int(r.u32())
	} else {
		w, h = int(r.u16()), int(r.u16())
	}
	if r.err != nil {
		return fmt.Errorf("heif: grid descriptor: %w", r.err)
	}
	if w != info.width || h != info.height {
		return fmt.Errorf("heif: grid of %d×%d in an ispe of %d×%d", w, h, info.width, info.height)
	}
	tiles := m.refs["dimg"][m.primary]
	if len(tiles) != rows*cols {
		return fmt.Errorf("heif: grid of %d×%d cells with %d images", cols, rows, len(tiles))
	}
	info.tiles = len(tiles)
	var tw, th int
	for i, id := range tiles {
		t := m.items[id]
		if t == nil {
			return fmt.Errorf("heif: grid cell %d is not listed", id)
		}
		if err := m.coded(t); err != nil {
			return err
		}
		w, h, err := m.ispe(t)
		if err != nil {
			return err
		}
		if i == 0 {
			tw, th = w, h
		} else if w != tw || h != th {
			return errors.New("heif: grid cells of different sizes")
		}
	}
	// The cells cover the output, overlapping only on the right and bottom
	// edges (ISO/IEC 23008-12, 6.6.2.3.1).
	if tw*cols < info.width || th*rows < info.height || tw*(cols-1) >= info.width || th*(rows-1) >= info.height {
		return fmt.Errorf("heif: %d×%d cells of %d×%d do not tile %d×%d", cols, rows, tw, th, info.width, info.height)
	}
	return nil
}

// transforms reads the clean aperture, rotation and mirroring of the
// primary item, in the order the item lists them (HEIF applies them in
// that order), into a crop size and an EXIF orientation.
func (m *heifMeta) transforms(it *heifItem, info *heifInfo) error {
	info.cropW, info.cropH = info.width, info.height
	o := 1
	for _, i := range it.props {
		if i < 1 || i > len(m.props) {
			continue
		}
		p := m.props[i-1]
		switch p.typ {
		case "clap":
			r := &fieldReader{b: p.payload}
			wn, wd, hn, hd := r.u32(), r.u32(), r.u32(), r.u32()
			if r.err != nil || wd == 0 || hd == 0 {
				return errors.New("heif: malformed clap")
			}
			w, h := int(wn/wd), int(hn/hd)
			if o >= 5 {
				w, h = h, w // clap after a quarter turn crops the turned picture
			}
			if w <= 0 || h <= 0 || w > info.cropW || h > info.cropH {
				return fmt.Errorf("heif: clean aperture %d×%d outside the %d×%d image", w, h, info.cropW, info.cropH)
			}
			info.cropW, info.cropH = w, h
		case "irot":
			if len(p.payload) < 1 {
				return errHEIFTruncated
			}
			o = composeOrientation(o, rotOrientation[p.payload[0]&3])
		case "imir":
			if len(p.payload) < 1 {
				return errHEIFTruncated
			}
			// axis 0 flips top and bottom, 1 left and right: so libheif
			// and the heic crate read it (the 2017 text of ISO/IEC
			// 23008-12 could be read the other way; libheif's enum
			// heif_transform_mirror_direction settled it).
			mir := 4
			if p.payload[0]&1 == 1 {
				mir = 2
			}
			o = composeOrientation(o, mir)
		}
	}
	info.orientation = o
	return nil
}

// rotOrientation maps irot's angle (quarter turns anti-clockwise) to the
// EXIF orientation that shows the stored picture that way.
var rotOrientation = [4]int{1, 8, 3, 6}

// orientations as the 2×2 integer matrices (about the picture's centre)
// that take stored coordinates to displayed ones; EXIF's numbering.
var orientMatrix = [9][4]int{
	1: {1, 0, 0, 1},
	2: {-1, 0, 0, 1},
	3: {-1, 0, 0, -1},
	4: {1, 0, 0, -1},
	5: {0, 1, 1, 0},
	6: {0, -1, 1, 0},
	7: {0, -1, -1, 0},
	8: {0, 1, -1, 0},
}

// composeOrientation is the orientation of applying a, then b.
func composeOrientation(a, b int) int {
	x, y := orientMatrix[a], orientMatrix[b]
	c := [4]int{
		y[0]*x[0] + y[1]*x[2], y[0]*x[1] + y[1]*x[3],
		y[2]*x[0] + y[3]*x[2], y[2]*x[1] + y[3]*x[3],
	}
	for o := 1; o <= 8; o++ {
		if orientMatrix[o] == c {
			return o
		}
	}
	return 1
}

// inverseOrientation undoes o.
func inverseOrientation(o int) int {
	for i := 1; i <= 8; i++ {
		if composeOrientation(o, i) == 1 {
			return i
		}
	}
	return 1
}

func (m *heifMeta) isAlpha(it *heifItem) bool {
	p, ok := m.prop(it, "auxC")
	if !ok || len(p) < 4 {
		return false
	}
	urn, _, _ := strings.Cut(string(p[4:]), "\x00")
	return urn == "urn:mpeg:hevc:2015:auxid:1" || urn == "urn:mpeg:mpegB:cicp:systems:auxiliary:alpha"
}

func readColr(p []byte, info *heifInfo) {
	if len(p) < 4 {
		return
	}
	switch string(p[:4]) {
	case "nclx":
		r := &fieldReader{b: p[4:]}
		n := &heifNCLX{primaries: r.u16(), transfer: r.u16(), matrix: r.u16(), fullRange: r.u8()&0x80 != 0}
		if r.err == nil {
			info.nclx = n
		}
	case "prof", "rICC":
		info.icc = p[4:]
	}
}
