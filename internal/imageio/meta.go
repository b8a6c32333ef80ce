package imageio

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"io"
	"slices"
)

// Metadata is what a source carries besides pixels. EXIF is a TIFF
// structure (no "Exif\0\0" prefix), ICC a colour profile.
type Metadata struct {
	EXIF []byte
	ICC  []byte
	XMP  []byte
}

// Empty reports whether there is no metadata at all.
func (m Metadata) Empty() bool { return len(m.EXIF) == 0 && len(m.ICC) == 0 && len(m.XMP) == 0 }

const (
	exifPrefix = "Exif\x00\x00"
	iccPrefix  = "ICC_PROFILE\x00"
	xmpPrefix  = "http://ns.adobe.com/xap/1.0/\x00"
	// maxICC bounds an ICC profile read from a file: real profiles are a few
	// KiB to about 1 MiB, and a zlib stream must not inflate without bound.
	maxICC = 4 << 20
)

// ReadMetadata extracts EXIF, ICC and XMP from a JPEG, PNG or WebP file,
// and EXIF and ICC from a HEIC.
// Other formats yield nothing; malformed containers yield what was found
// before the damage.
func ReadMetadata(format string, data []byte) Metadata {
	switch format {
	case JPEG:
		return scanJPEG(data).meta
	case PNG:
		return readPNGMeta(data)
	case WebP:
		return readWebPMeta(data)
	case HEIC:
		return readHEICMeta(data)
	}
	return Metadata{}
}

// jpegInfo is what a walk over the JPEG markers before the first scan finds.
type jpegInfo struct {
	meta Metadata
}

func scanJPEG(data []byte) jpegInfo {
	var info jpegInfo
	var icc [][]byte
	jpegSegments(data, func(marker byte, seg []byte) bool {
		switch {
		case marker == 0xE1 && bytes.HasPrefix(seg, []byte(exifPrefix)) && info.meta.EXIF == nil:
			info.meta.EXIF = seg[len(exifPrefix):]
		case marker == 0xE1 && bytes.HasPrefix(seg, []byte(xmpPrefix)) && info.meta.XMP == nil:
			info.meta.XMP = seg[len(xmpPrefix):]
		case marker == 0xE2 && bytes.HasPrefix(seg, []byte(iccPrefix)) && len(seg) > len(iccPrefix)+2:
			icc = append(icc, seg[len(iccPrefix):])
		}
		return true
	})
	info.meta.ICC = joinICC(icc)
	return info
}

// jpegSegments calls f with each marker segment of a JPEG after SOI and
// before the first scan (SOS) or the end of the image, until f returns
// false or the segments stop making sense.
func jpegSegments(data []byte, f func(marker byte, seg []byte) bool) {
	for p := 2; p+4 <= len(data); {
		if data[p] != 0xFF {
			return
		}
		marker := data[p+1]
		if marker == 0xFF { // fill byte
			p++
			continue
		}
		if marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01 {
			p += 2 // no length
			continue
		}
		if marker == 0xDA || marker == 0xD9 { // start of scan, end of image
			return
		}
		n := int(binary.BigEndian.Uint16(data[p+2:]))
		if n < 2 || p+2+n > len(data) || !f(marker, data[p+4:p+2+n]) {
			return
		}
		p += 2 + n
	}
}

// joinICC reassembles an ICC profile split over APP2 segments, each
// starting with its 1-based sequence number and the total count.
func joinICC(chunks [][]byte) []byte {
	if len(chunks) == 0 {
		return nil
	}
	slices.SortStableFunc(chunks, func(a, b []byte) int { return int(a[0]) - int(b[0]) })
	var out []byte
	for _, c := range chunks {
		out = append(out, c[2:]...)
	}
	return out
}

func readPNGMeta(data []byte) Metadata {
	var m Metadata
	for p := 8; p+12 <= len(data); {
		n := int(binary.BigEndian.Uint32(data[p:]))
		if n < 0 || n > len(data)-p-12 {
			break
		}
		typ, body := string(data[p+4:p+8]), data[p+8:p+8+n]
		switch typ {
		case "IDAT", "IEND":
			return m
		case "eXIf":
			m.EXIF = body
		case "iCCP":
			m.ICC = inflateICCP(body)
		case "iTXt":
			if bytes.HasPrefix(body, []byte("XML:com.adobe.xmp\x00\x00\x00\x00\x00")) {
				m.XMP = body[len("XML:com.adobe.xmp")+5:]
			}
		}
		p += 12 + n
	}
	return m
}

// inflateICCP reads an iCCP chunk: a profile name, a NUL, the compression
// method (0) and a zlib stream.
func inflateICCP(body []byte) []byte {
	i := bytes.IndexByte(body, 0)
	if i < 0 || i+2 > len(body) {
		return nil
	}
	zr, err := zlib.NewReader(bytes.NewReader(body[i+2:]))
	if err != nil {
		return nil
	}
	b, err := io.ReadAll(io.LimitReader(zr, maxICC+1))
	if err != nil || len(b) > maxICC {
		return nil
	}
	return b
}

func readWebPMeta(data []byte) Metadata {
	var m Metadata
	for p := 12; p+8 <= len(data); {
		n := int(binary.LittleEndian.Uint32(data[p+4:]))
		if n < 0 || n > len(data)-p-8 {
			break
		}
		body := data[p+8 : p+8+n]
		switch string(data[p : p+4]) {
		case "ICCP":
			m.ICC = body
		case "EXIF":
			m.EXIF = bytes.TrimPrefix(body, []byte(exifPrefix))
		case "XMP ":
			m.XMP = body
		}
		p += 8 + n + n&1
	}
	return m
}

// embedJPEG inserts EXIF and ICC segments right after the SOI marker (and
// the JFIF APP0 segment, when there is one) of an encoded JPEG. Pieces that do not fit a segment are left out.
func embedJPEG(enc []byte, m Metadata) []byte {
	if len(enc) < 2 || (len(m.EXIF) == 0 && len(m.ICC) == 0) {
		return enc
	}
	var segs []byte
	if len(m.EXIF) > 0 && len(m.EXIF)+len(exifPrefix)+2 <= 0xFFFF {
		segs = appendSegment(segs, 0xE1, []byte(exifPrefix), m.EXIF)
	}
	if len(m.ICC) > 0 {
		const room = 0xFFFF - 2 - len(iccPrefix) - 2
		count := (len(m.ICC) + room - 1) / room
		if count <= 255 {
			for i := range count {
				chunk := m.ICC[i*room : min(len(m.ICC), (i+1)*room)]
				head := append([]byte(iccPrefix), byte(i+1), byte(count))
				segs = appendSegment(segs, 0xE2, head, chunk)
			}
		}
	}
	// JFIF wants its APP0 right after SOI: the new segments follow it.
	at := 2
	if len(enc) >= 4+5 && enc[2] == 0xFF && enc[3] == 0xE0 && string(enc[6:9]) == "JFI" {
		at = min(4+int(binary.BigEndian.Uint16(enc[4:6])), len(enc))
	}
	out := make([]byte, 0, len(enc)+len(segs))
	out = append(out, enc[:at]...)
	out = append(out, segs...)
	return append(out, enc[at:]...)
}

func appendSegment(dst []byte, marker byte, head, body []byte) []byte {
	dst = append(dst, 0xFF, marker)
	dst = binary.BigEndian.AppendUint16(dst, uint16(2+len(head)+len(body)))
	dst = append(dst, head...)
	return append(dst, body...)
}

// embedPNG inserts iCCP and eXIf chunks after IHDR, where the PNG
// specification wants them (before PLTE and IDAT).
func embedPNG(enc []byte, m Metadata) []byte {
	const afterIHDR = 8 + 12 + 13
	if len(enc) < afterIHDR || (len(m.EXIF) == 0 && len(m.ICC) == 0) {
		return enc
	}
	var chunks []byte
	if len(m.ICC) > 0 {
		var z bytes.Buffer
		z.WriteString("ICC profile\x00\x00")
		zw := zlib.NewWriter(&z)
		zw.Write(m.ICC)
		zw.Close()
		chunks = appendPNGChunk(chunks, "iCCP", z.Bytes())
	}
	if len(m.EXIF) > 0 {
		chunks = appendPNGChunk(chunks, "eXIf", m.EXIF)
	}
	out := make([]byte, 0, len(enc)+len(chunks))
	out = append(out, enc[:afterIHDR]...)
	out = append(out, chunks...)
	return append(out, enc[afterIHDR:]...)
}

func appendPNGChunk(dst []byte, typ string, body []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(body)))
	start := len(dst)
	dst = append(dst, typ...)
	dst = append(dst, body...)
	return binary.BigEndian.AppendUint32(dst, crc32.ChecksumIEEE(dst[start:]))
}

// IsRGBProfile reports whether icc describes RGB data (its header's colour
// space is 'RGB '). Decoding turns CMYK and YCCK pixels into RGB, and
// image actions turn gray into RGB, so only an RGB profile still fits the
// pixels an encoder writes.
func IsRGBProfile(icc []byte) bool {
	return len(icc) >= 20 && string(icc[16:20]) == "RGB "
}
