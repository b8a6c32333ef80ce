package imageio

import (
	"bytes"
	"strconv"
	"strings"
)

// Field is one EXIF tag as a name and a printable value.
type Field struct {
	Name, Value string
}

// exifNames are the tags EXIFFields reports, by directory, with the names
// of the EXIF 2.3 specification (CIPA DC-008), which OSS IMG's info also
// uses as its JSON keys.
var exifNames = map[uint16]string{
	0x0103: "Compression", 0x010E: "ImageDescription", 0x010F: "Make", 0x0110: "Model",
	0x0112: "Orientation", 0x011A: "XResolution", 0x011B: "YResolution", 0x0128: "ResolutionUnit",
	0x0131: "Software", 0x0132: "DateTime", 0x013B: "Artist", 0x8298: "Copyright",
}

var exifSubNames = map[uint16]string{
	0x829A: "ExposureTime", 0x829D: "FNumber", 0x8822: "ExposureProgram", 0x8827: "ISOSpeedRatings",
	0x9000: "ExifVersion", 0x9003: "DateTimeOriginal", 0x9004: "DateTimeDigitized", 0x9201: "ShutterSpeedValue",
	0x9202: "ApertureValue", 0x9204: "ExposureBiasValue", 0x9207: "MeteringMode", 0x9209: "Flash",
	0x920A: "FocalLength", 0xA001: "ColorSpace", 0xA002: "PixelXDimension", 0xA003: "PixelYDimension",
	0xA402: "ExposureMode", 0xA403: "WhiteBalance", 0xA405: "FocalLengthIn35mmFilm", 0xA434: "LensModel",
}

var gpsNames = map[uint16]string{
	0x0000: "GPSVersionID", 0x0001: "GPSLatitudeRef", 0x0002: "GPSLatitude", 0x0003: "GPSLongitudeRef",
	0x0004: "GPSLongitude", 0x0005: "GPSAltitudeRef", 0x0006: "GPSAltitude", 0x0007: "GPSTimeStamp",
	0x0012: "GPSMapDatum", 0x001D: "GPSDateStamp",
}

const tagExifIFD = 0x8769

// EXIFFields lists the common tags of an EXIF block (IFD0, the EXIF
// directory, and the GPS directory when withGPS), in directory and tag
// order. Values print as EXIF tools print them: text trimmed of its NUL,
// numbers in decimal, rationals as n/d, several values joined by ", ".
// Anything malformed is skipped.
func EXIFFields(exif []byte, withGPS bool) []Field {
	t, ifd0, ok := parseTIFF(exif)
	if !ok {
		return nil
	}
	var out []Field
	add := func(ifd uint32, names map[uint16]string) {
		for _, e := range t.entries(ifd) {
			if name, ok := names[e.tag]; ok {
				if v, ok := t.format(e); ok {
					out = append(out, Field{name, v})
				}
			}
		}
	}
	add(ifd0, exifNames)
	if e, ok := t.find(ifd0, tagExifIFD); ok && (e.typ == typeLong || e.typ == 13) {
		add(t.bo.Uint32(t.b[e.pos+8:]), exifSubNames)
	}
	if withGPS {
		if e, ok := t.find(ifd0, tagGPSIFD); ok && (e.typ == typeLong || e.typ == 13) {
			add(t.bo.Uint32(t.b[e.pos+8:]), gpsNames)
		}
	}
	return out
}

// format prints an entry's value, at most 64 values or 256 bytes of text.
func (t tiffData) format(e entry) (string, bool) {
	from, to, ok := t.valueSpan(e)
	if !ok {
		return "", false
	}
	v := t.b[from:to]
	if e.typ == typeASCII || e.typ == 7 && isText(v) {
		s := string(bytes.TrimRight(v, "\x00 "))
		if len(s) > 256 {
			s = s[:256]
		}
		return strings.ToValidUTF8(s, "?"), true
	}
	n := min(int(e.count), 64)
	parts := make([]string, 0, n)
	for i := range n {
		switch e.typ {
		case 1, 7: // BYTE, UNDEFINED
			parts = append(parts, strconv.Itoa(int(v[i])))
		case 6: // SBYTE
			parts = append(parts, strconv.Itoa(int(int8(v[i]))))
		case typeShort:
			parts = append(parts, strconv.Itoa(int(t.bo.Uint16(v[2*i:]))))
		case 8: // SSHORT
			parts = append(parts, strconv.Itoa(int(int16(t.bo.Uint16(v[2*i:])))))
		case typeLong:
			parts = append(parts, strconv.FormatUint(uint64(t.bo.Uint32(v[4*i:])), 10))
		case 9: // SLONG
			parts = append(parts, strconv.Itoa(int(int32(t.bo.Uint32(v[4*i:])))))
		case 5: // RATIONAL
			parts = append(parts, strconv.FormatUint(uint64(t.bo.Uint32(v[8*i:])), 10)+"/"+strconv.FormatUint(uint64(t.bo.Uint32(v[8*i+4:])), 10))
		case 10: // SRATIONAL
			parts = append(parts, strconv.Itoa(int(int32(t.bo.Uint32(v[8*i:]))))+"/"+strconv.Itoa(int(int32(t.bo.Uint32(v[8*i+4:])))))
		default:
			return "", false
		}
	}
	if e.typ == 7 || e.typ == 1 && e.count > 1 {
		return strings.Join(parts, " "), true
	}
	return strings.Join(parts, ", "), true
}

// isText reports whether an UNDEFINED value is printable ASCII (ExifVersion
// is "0230").
func isText(v []byte) bool {
	for _, c := range v {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return len(v) > 0
}
