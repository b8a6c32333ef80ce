package imageio

import (
	"encoding/binary"
	"math"
)

// EXIF payloads here are TIFF structures: a byte-order mark, a first-IFD
// offset, and IFDs of 12-byte entries (tag, type, count, value or offset).
// Only what the actions need is implemented: reading the orientation,
// resetting it, removing GPS data, and keeping just copyright and artist.

const (
	tagOrientation = 0x0112
	tagArtist      = 0x013B
	tagCopyright   = 0x8298
	tagGPSIFD      = 0x8825

	typeASCII = 2
	typeShort = 3
	typeLong  = 4
)

// typeSizes is the byte size of one value of each TIFF field type.
var typeSizes = [...]int{1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}

type tiffData struct {
	b  []byte
	bo binary.ByteOrder
}

func parseTIFF(b []byte) (tiffData, uint32, bool) {
	if len(b) < 8 {
		return tiffData{}, 0, false
	}
	var bo binary.ByteOrder
	switch string(b[:4]) {
	case "II*\x00":
		bo = binary.LittleEndian
	case "MM\x00*":
		bo = binary.BigEndian
	default:
		return tiffData{}, 0, false
	}
	return tiffData{b, bo}, bo.Uint32(b[4:8]), true
}

// entry is one IFD entry and where it sits in the data.
type entry struct {
	pos   int // offset of the 12-byte entry
	tag   uint16
	typ   uint16
	count uint32
}

// size is the byte size of the entry's value; values of up to 4 bytes sit
// in the entry itself.
func (e entry) size() int {
	if int(e.typ) >= len(typeSizes) || typeSizes[e.typ] == 0 {
		return 0
	}
	n := uint64(e.count) * uint64(typeSizes[e.typ])
	if n > math.MaxInt32 {
		// Larger than any EXIF block; the cap keeps it an int on 32-bit
		// platforms too.
		return math.MaxInt32
	}
	return int(n)
}

// valueSpan returns the byte range of the entry's value within t.b.
func (t tiffData) valueSpan(e entry) (int, int, bool) {
	n := e.size()
	if n <= 4 {
		return e.pos + 8, e.pos + 8 + n, true
	}
	off := int(t.bo.Uint32(t.b[e.pos+8:]))
	if off < 0 || off > len(t.b) || n > len(t.b)-off {
		return 0, 0, false
	}
	return off, off + n, true
}

// entries lists the entries of the IFD at off, or nil when it does not fit.
func (t tiffData) entries(off uint32) []entry {
	if off < 8 || int64(off)+2 > int64(len(t.b)) {
		return nil
	}
	n := int(t.bo.Uint16(t.b[off:]))
	start := int(off) + 2
	if n*12 > len(t.b)-start {
		return nil
	}
	es := make([]entry, n)
	for i := range es {
		p := start + i*12
		es[i] = entry{pos: p, tag: t.bo.Uint16(t.b[p:]), typ: t.bo.Uint16(t.b[p+2:]), count: t.bo.Uint32(t.b[p+4:])}
	}
	return es
}

func (t tiffData) find(ifd uint32, tag uint16) (entry, bool) {
	for _, e := range t.entries(ifd) {
		if e.tag == tag {
			return e, true
		}
	}
	return entry{}, false
}

// Orientation returns the EXIF orientation (1..8) recorded in exif, or 1
// when there is none or it is out of range.
func Orientation(exif []byte) int {
	t, ifd0, ok := parseTIFF(exif)
	if !ok {
		return 1
	}
	e, ok := t.find(ifd0, tagOrientation)
	if !ok || e.typ != typeShort || e.count < 1 {
		return 1
	}
	if o := int(t.bo.Uint16(t.b[e.pos+8:])); o >= 1 && o <= 8 {
		return o
	}
	return 1
}

// ScrubEXIF returns a copy of exif fit to travel with an output image: the
// orientation reset to 1 when the pixels were already turned upright, and
// the GPS directory emptied (and its values zeroed) unless keepGPS.
func ScrubEXIF(exif []byte, resetOrientation, keepGPS bool) []byte {
	t, ifd0, ok := parseTIFF(exif)
	if !ok {
		return nil
	}
	t.b = append([]byte(nil), exif...)
	if resetOrientation {
		if e, ok := t.find(ifd0, tagOrientation); ok && e.typ == typeShort && e.count >= 1 {
			t.bo.PutUint16(t.b[e.pos+8:], 1)
		}
	}
	if !keepGPS {
		if e, ok := t.find(ifd0, tagGPSIFD); ok && (e.typ == typeLong || e.typ == 13) {
			t.emptyIFD(t.bo.Uint32(t.b[e.pos+8:]))
		}
	}
	return t.b
}

// emptyIFD zeroes every value of the IFD at off and leaves it with no
// entries, so readers find a valid, empty directory and no stale bytes.
func (t tiffData) emptyIFD(off uint32) {
	es := t.entries(off)
	if es == nil {
		return
	}
	for _, e := range es {
		if from, to, ok := t.valueSpan(e); ok && e.size() > 4 {
			clear(t.b[from:to])
		}
		clear(t.b[e.pos : e.pos+12])
	}
	t.bo.PutUint16(t.b[off:], 0)
	// With no entries the next-IFD link follows the count directly; the GPS
	// directory never links on, so it is zero (already cleared above when
	// there were entries; written here for an IFD that had none).
	if int(off)+6 <= len(t.b) {
		t.bo.PutUint32(t.b[off+2:], 0)
	}
}

// HasGPS reports whether exif holds a GPS directory with entries.
func HasGPS(exif []byte) bool {
	t, ifd0, ok := parseTIFF(exif)
	if !ok {
		return false
	}
	e, ok := t.find(ifd0, tagGPSIFD)
	return ok && len(t.entries(t.bo.Uint32(t.b[e.pos+8:]))) > 0
}

// MinimalEXIF builds a small EXIF block holding only what is asked for: the
// Artist and Copyright tags of src when copyright is set, and an
// orientation other than 1. It returns nil when there is nothing to hold.
func MinimalEXIF(src []byte, orientation int, copyright bool) []byte {
	type field struct {
		tag, typ uint16
		count    uint32
		val      []byte
	}
	var fields []field // in ascending tag order, as TIFF wants
	if orientation > 1 && orientation <= 8 {
		fields = append(fields, field{tagOrientation, typeShort, 1, []byte{byte(orientation), 0}})
	}
	if t, ifd0, ok := parseTIFF(src); ok && copyright {
		for _, tag := range []uint16{tagArtist, tagCopyright} {
			e, ok := t.find(ifd0, tag)
			if !ok || e.typ != typeASCII {
				continue
			}
			from, to, ok := t.valueSpan(e)
			if !ok || to == from {
				continue
			}
			v := append([]byte(nil), t.b[from:to]...)
			if v[len(v)-1] != 0 {
				v = append(v, 0)
			}
			fields = append(fields, field{tag, typeASCII, uint32(len(v)), v})
		}
	}
	if len(fields) == 0 {
		return nil
	}
	le := binary.LittleEndian
	out := []byte("II*\x00\x08\x00\x00\x00")
	out = le.AppendUint16(out, uint16(len(fields)))
	dataOff := 8 + 2 + 12*len(fields) + 4
	var data []byte
	for _, f := range fields {
		out = le.AppendUint16(out, f.tag)
		out = le.AppendUint16(out, f.typ)
		out = le.AppendUint32(out, f.count)
		if len(f.val) <= 4 {
			var v [4]byte
			copy(v[:], f.val)
			out = append(out, v[:]...)
			continue
		}
		out = le.AppendUint32(out, uint32(dataOff+len(data)))
		data = append(data, f.val...)
		if len(data)%2 == 1 {
			data = append(data, 0) // values start on word boundaries
		}
	}
	out = le.AppendUint32(out, 0)
	return append(out, data...)
}
