// Package pngdec decodes PNG files held whole in memory, faster than
// image/png for the pictures a thumbnailer meets most: 8 bits per
// sample, greyscale, RGB, RGBA or a palette, interlaced or not. Every other
// PNG (1/2/4/16-bit samples, grey with alpha, tRNS on grey or RGB) goes to
// image/png, so the result is always what image/png would return,
// pixel for pixel and type for type.
//
// Where the time goes in image/png (a 3840×2160 RGB photograph): about
// 45% in compress/flate, which reads bit by bit through a 32 KiB window,
// and most of the rest in the per-pixel loop that unfilters a row and
// expands RGB to RGBA. The fast path instead inflates the whole IDAT
// stream at once (internal/inflate: the decompressed size is known from
// IHDR, so no window is needed) into the tail of the buffer that becomes
// the picture's pixels, then unfilters each row straight into its place
// in front of the data still to read. It needs no memory beyond the
// picture itself and the compressed stream. (An interlaced file's rows get
// a buffer of their own: its passes scatter their pixels.)
package pngdec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"math"

	"github.com/opaprules/opaprules/internal/inflate"
)

// A FormatError reports a malformed PNG met on the fast path.
type FormatError string

func (e FormatError) Error() string { return "png: invalid format: " + string(e) }

// Colour types and filter types, PNG specification (ISO/IEC 15948) 6.1
// and 9.2.
const (
	colourGrey      = 0
	colourRGB       = 2
	colourPalette   = 3
	colourGreyAlpha = 4
	colourRGBA      = 6

	filterNone  = 0
	filterSub   = 1
	filterUp    = 2
	filterAvg   = 3
	filterPaeth = 4
)

const signature = "\x89PNG\r\n\x1a\n"

// maxBytes bounds the pixel buffer the fast path allocates whatever the
// header says; callers check the picture's size against their own, far
// smaller, limits before decoding.
const maxBytes = 1 << 34

type header struct {
	width, height int
	depth         byte
	colour        byte
	interlace     byte
	plte, trns    []byte // a palette file's PLTE and tRNS chunks
}

// Decode decodes the PNG in data. The result has image/png's type for the
// file: *image.Gray, *image.RGBA (RGB files, opaque), *image.NRGBA (RGBA
// files) or *image.Paletted on the fast path.
func Decode(data []byte) (image.Image, error) {
	h, idat, ok, err := scan(data)
	if err != nil {
		return nil, err
	}
	if !ok {
		return png.Decode(bytes.NewReader(data))
	}
	return decodeFast(h, idat)
}

// scan walks the chunks, checking each CRC, and gathers the IDAT stream.
// ok is false when the file needs image/png.
func scan(data []byte) (h header, idat []byte, ok bool, err error) {
	if len(data) < len(signature) || string(data[:len(signature)]) != signature {
		return h, nil, false, FormatError("not a PNG file")
	}
	p := data[len(signature):]
	var (
		seenHeader, seenEnd bool
		idatEnded           bool // a chunk other than IDAT came after IDAT
		parts               [][]byte
		size                int
	)
	for !seenEnd {
		if len(p) < 12 {
			return h, nil, false, FormatError("truncated chunk")
		}
		n := binary.BigEndian.Uint32(p)
		if n > math.MaxInt32 || int(n) > len(p)-12 {
			return h, nil, false, FormatError("truncated chunk")
		}
		typ, body := string(p[4:8]), p[8:8+n]
		if crc32.ChecksumIEEE(p[4:8+n]) != binary.BigEndian.Uint32(p[8+n:]) {
			return h, nil, false, FormatError(fmt.Sprintf("%s chunk checksum mismatch", typ))
		}
		p = p[12+n:]
		if !seenHeader && typ != "IHDR" {
			return h, nil, false, FormatError("missing IHDR")
		}
		switch typ {
		case "IHDR":
			if seenHeader || n != 13 {
				return h, nil, false, FormatError("bad IHDR")
			}
			seenHeader = true
			h = header{
				width:     int(binary.BigEndian.Uint32(body[0:])),
				height:    int(binary.BigEndian.Uint32(body[4:])),
				depth:     body[8],
				colour:    body[9],
				interlace: body[12],
			}
			if body[10] != 0 || body[11] != 0 || h.width <= 0 || h.height <= 0 ||
				h.width > math.MaxInt32 || h.height > math.MaxInt32 {
				// Let image/png word the error.
				return h, nil, false, nil
			}
			if h.depth != 8 || h.interlace > 1 ||
				(h.colour != colourGrey && h.colour != colourRGB && h.colour != colourRGBA && h.colour != colourPalette) {
				return h, nil, false, nil
			}
		case "PLTE":
			// In a grey file an error, in an RGB one a hint: rare enough
			// to leave to image/png, as is anything out of order.
			if h.colour != colourPalette || h.plte != nil || len(parts) > 0 ||
				n == 0 || n%3 != 0 || n > 3*256 {
				return h, nil, false, nil
			}
			h.plte = body
		case "tRNS":
			// tRNS turns grey and RGB into NRGBA with a keyed colour:
			// rare, left to image/png. A palette's is its alpha.
			if h.colour != colourPalette || h.plte == nil || h.trns != nil || len(parts) > 0 || n > 256 {
				return h, nil, false, nil
			}
			h.trns = body
		case "IDAT":
			if idatEnded || (h.colour == colourPalette && h.plte == nil) {
				// Split IDAT runs (image/png has its own rule for them),
				// or a palette file without its palette.
				return h, nil, false, nil
			}
			parts = append(parts, body)
			size += len(body)
		case "IEND":
			seenEnd = true
		}
		if typ != "IDAT" && len(parts) > 0 {
			idatEnded = true
		}
	}
	switch len(parts) {
	case 0:
		return h, nil, false, FormatError("no IDAT chunk")
	case 1:
		idat = parts[0]
	default:
		idat = make([]byte, 0, size)
		for _, b := range parts {
			idat = append(idat, b...)
		}
	}
	return h, idat, true, nil
}

func decodeFast(h header, idat []byte) (image.Image, error) {
	in := 1 // bytes per pixel in the file
	out := 1
	switch h.colour {
	case colourRGB:
		in, out = 3, 4
	case colourRGBA:
		in, out = 4, 4
	}
	w, ht := int64(h.width), int64(h.height)
	rawBytes := ht * (1 + w*int64(in))
	if h.interlace == 1 {
		rawBytes = 0
		for _, p := range adam7 {
			pw, ph := passSize(p, h.width, h.height)
			if pw > 0 {
				rawBytes += int64(ph) * (1 + int64(pw)*int64(in))
			}
		}
	}
	outBytes := ht * w * int64(out)
	if rawBytes > maxBytes || outBytes > maxBytes {
		return nil, FormatError("picture too large")
	}
	var pix []byte
	if h.interlace == 0 {
		// The rows are inflated into the tail of the picture's buffer
		// and unfiltered into place (see unfilter).
		buf := make([]byte, max(rawBytes, outBytes))
		off := len(buf) - int(rawBytes)
		if err := inflateAll(buf[off:], idat); err != nil {
			return nil, err
		}
		if err := unfilter(buf, off, h.width, h.height, in, out); err != nil {
			return nil, err
		}
		pix = buf[:outBytes:outBytes]
	} else {
		// Passes scatter their pixels over the picture: the rows need a
		// buffer of their own.
		raw := make([]byte, rawBytes)
		if err := inflateAll(raw, idat); err != nil {
			return nil, err
		}
		pix = make([]byte, outBytes)
		if err := deinterlace(pix, raw, h.width, h.height, in, out); err != nil {
			return nil, err
		}
	}
	r := image.Rect(0, 0, h.width, h.height)
	switch h.colour {
	case colourPalette:
		return &image.Paletted{Pix: pix, Stride: h.width, Rect: r, Palette: palette(h.plte, h.trns, pix)}, nil
	case colourGrey:
		return &image.Gray{Pix: pix, Stride: h.width, Rect: r}, nil
	case colourRGB:
		return &image.RGBA{Pix: pix, Stride: 4 * h.width, Rect: r}, nil
	default:
		return &image.NRGBA{Pix: pix, Stride: 4 * h.width, Rect: r}, nil
	}
}

// inflateAll inflates the IDAT stream into exactly len(dst) bytes.
func inflateAll(dst, idat []byte) error {
	n, err := inflate.Zlib(dst, idat)
	switch {
	case errors.Is(err, inflate.ErrOutputFull):
		return FormatError("too much pixel data")
	case err != nil:
		return FormatError(err.Error())
	case n < len(dst):
		return FormatError("not enough pixel data")
	}
	return nil
}

// palette builds the palette as image/png does: PLTE's colours opaque,
// tRNS's alphas on its first entries (making them NRGBA, and reaching past
// PLTE's length with black if tRNS is longer), and, for indices in the
// pixels past its end, entries of opaque black rather than an error (as
// libpng 1.5.13 and image/png do).
func palette(plte, trns, pix []byte) color.Palette {
	pal := make(color.Palette, 256)
	for i := range pal {
		pal[i] = color.RGBA{0, 0, 0, 0xff}
	}
	np := len(plte) / 3
	for i := range np {
		pal[i] = color.RGBA{plte[3*i], plte[3*i+1], plte[3*i+2], 0xff}
	}
	for i, a := range trns {
		c := pal[i].(color.RGBA)
		pal[i] = color.NRGBA{c.R, c.G, c.B, a}
	}
	n := max(np, len(trns))
	if n < 256 {
		var top byte
		for _, v := range pix {
			top = max(top, v)
		}
		n = max(n, int(top)+1)
	}
	return pal[:n]
}
