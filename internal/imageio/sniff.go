package imageio

import (
	"bytes"
	"encoding/binary"
)

// Formats, as written in rules.yaml and used as keys of the per-format
// limits.
const (
	JPEG = "jpeg"
	PNG  = "png"
	GIF  = "gif"
	WebP = "webp"
	AVIF = "avif"
	BMP  = "bmp"
	TIFF = "tiff"
	HEIC = "heic"
)

// Decodable lists the formats Decode reads, in the order docs/actions.md lists them.
var Decodable = []string{JPEG, PNG, GIF, WebP, BMP, TIFF, AVIF, HEIC}

// Encodable lists the formats Encode writes.
var Encodable = []string{JPEG, PNG, GIF, WebP, AVIF, BMP, TIFF}

// Sniff names the format of data from its magic bytes, or returns "" when
// it is none that this package knows.
func Sniff(data []byte) string {
	switch {
	case len(data) >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF:
		return JPEG
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return PNG
	case bytes.HasPrefix(data, []byte("GIF87a")), bytes.HasPrefix(data, []byte("GIF89a")):
		return GIF
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return WebP
	case len(data) >= 14 && data[0] == 'B' && data[1] == 'M':
		return BMP
	case bytes.HasPrefix(data, []byte("II*\x00")), bytes.HasPrefix(data, []byte("MM\x00*")):
		return TIFF
	}
	return sniffISOBMFF(data)
}

// sniffISOBMFF reads the ftyp box of an ISO base media file: AVIF and HEIC
// are told apart by their major and compatible brands.
func sniffISOBMFF(data []byte) string {
	if len(data) < 16 || string(data[4:8]) != "ftyp" {
		return ""
	}
	size := int(binary.BigEndian.Uint32(data[:4]))
	if size < 16 || size > len(data) {
		size = min(len(data), 64)
	}
	isHEIC := false
	for off := 8; off+4 <= size; off += 4 {
		if off == 12 {
			continue // minor version, not a brand
		}
		switch string(data[off : off+4]) {
		case "avif", "avis":
			return AVIF
		case "heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1":
			isHEIC = true
		}
	}
	if isHEIC {
		return HEIC
	}
	return ""
}

// MediaType is the Content-Type of a format.
func MediaType(format string) string {
	switch format {
	case "":
		return ""
	case HEIC:
		return "image/heic"
	}
	return "image/" + format
}

// FormatOfMediaType maps an image media type to a format name; "image/jpg"
// and "image/pjpeg" are the spellings seen in Accept headers in the wild.
func FormatOfMediaType(mt string) string {
	switch mt {
	case "image/jpeg", "image/jpg", "image/pjpeg":
		return JPEG
	case "image/png":
		return PNG
	case "image/gif":
		return GIF
	case "image/webp":
		return WebP
	case "image/avif":
		return AVIF
	case "image/bmp":
		return BMP
	case "image/tiff":
		return TIFF
	}
	return ""
}
