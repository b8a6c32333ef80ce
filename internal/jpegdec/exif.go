package jpegdec

// exifOrientation returns the Orientation tag (0x0112) of IFD0 in a TIFF
// structure, or 1 when it is absent, malformed or out of range.
func exifOrientation(t []byte) int {
	if len(t) < 8 {
		return 1
	}
	var u16 func([]byte) int
	var u32 func([]byte) int
	switch string(t[:4]) {
	case "II*\x00":
		u16 = func(b []byte) int { return int(b[0]) | int(b[1])<<8 }
		u32 = func(b []byte) int { return u16(b) | u16(b[2:])<<16 }
	case "MM\x00*":
		u16 = func(b []byte) int { return int(b[0])<<8 | int(b[1]) }
		u32 = func(b []byte) int { return u16(b)<<16 | u16(b[2:]) }
	default:
		return 1
	}
	off := u32(t[4:])
	if off < 8 || off > len(t)-2 {
		return 1
	}
	n := u16(t[off:])
	ents := t[off+2:]
	for i := 0; i < n && len(ents) >= 12; i, ents = i+1, ents[12:] {
		if u16(ents) != 0x0112 {
			continue
		}
		// Orientation is a SHORT (type 3) with count 1, stored left-aligned
		// in the value field; tolerate LONG as some writers use it.
		var o int
		switch u16(ents[2:]) {
		case 3:
			o = u16(ents[8:])
		case 4:
			o = u32(ents[8:])
		default:
			return 1
		}
		if o < 1 || o > 8 {
			return 1
		}
		return o
	}
	return 1
}
