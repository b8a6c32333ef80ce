package imageio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/png"
	"strings"

	"github.com/deepteams/webp"
	"github.com/gen2brain/avif"
	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

// Config is what the headers say about an image, read without allocating
// any pixel buffer, so limits can be checked before decoding.
type Config struct {
	Format string
	// Width and Height are as stored, before any EXIF orientation.
	Width, Height int
	// Frames is the number of frames (1 for still images).
	Frames int
	// Orientation is the EXIF orientation, 1..8 (1 when absent).
	Orientation int
	// Progressive is set for progressive JPEGs, which take about three
	// times the memory of baseline ones to decode.
	Progressive bool
	// Alpha is set when the header says the picture stores transparency:
	// PNG's colour type or a tRNS chunk, a GIF transparent index, WebP's
	// alpha flag. JPEG has none; TIFF, BMP and AVIF report false.
	Alpha bool
}

// Pixels is width × height × frames: what a full decode allocates, in pixels.
func (c Config) Pixels() int64 {
	return int64(c.Width) * int64(c.Height) * int64(max(c.Frames, 1))
}

// Upright returns the dimensions as displayed once the orientation is applied.
func (c Config) Upright() (w, h int) {
	if c.Orientation >= 5 {
		return c.Height, c.Width
	}
	return c.Width, c.Height
}

// ErrUnknownFormat is returned for data in no format this package reads.
var ErrUnknownFormat = errors.New("not an image in a supported format (" + strings.Join(Decodable, ", ") + ")")

// UnsupportedError names a recognised format that is not decoded, or, with
// Feature, a form of a decoded format that is not ("with 4:4:4 chroma").
type UnsupportedError struct{ Format, Feature string }

func (e UnsupportedError) Error() string {
	if e.Feature != "" {
		return fmt.Sprintf("%s images %s are not supported", e.Format, e.Feature)
	}
	return fmt.Sprintf("%s images are not supported (%s are)", e.Format, strings.Join(Decodable, ", "))
}

// DecodeConfig sniffs the format of data and reads its header.
func DecodeConfig(data []byte) (cfg Config, err error) {
	defer recoverTo(&err)
	format := Sniff(data)
	cfg = Config{Format: format, Frames: 1, Orientation: 1}
	var ic image.Config
	r := bytes.NewReader(data)
	switch format {
	case "":
		return cfg, ErrUnknownFormat
	case HEIC:
		ic, cfg.Orientation, err = heicConfig(data)
	case JPEG:
		ic, cfg.Progressive, err = decodeJPEGConfig(data)
		cfg.Orientation = Orientation(scanJPEG(data).meta.EXIF)
	case PNG:
		ic, err = png.DecodeConfig(r)
		cfg.Orientation = Orientation(readPNGMeta(data).EXIF)
		cfg.Alpha = pngHasAlpha(data)
	case GIF:
		ic, err = gif.DecodeConfig(r)
		if err == nil {
			cfg.Frames, err = countGIFFrames(data)
		}
		cfg.Alpha = gifHasTransparency(data)
	case WebP:
		var f *webp.Features
		if f, err = webp.GetFeatures(r); err == nil {
			ic = image.Config{Width: f.Width, Height: f.Height}
			cfg.Frames = max(f.FrameCount, 1)
			cfg.Alpha = f.HasAlpha
		}
		cfg.Orientation = Orientation(readWebPMeta(data).EXIF)
	case BMP:
		ic, err = bmp.DecodeConfig(r)
	case TIFF:
		ic, err = tiff.DecodeConfig(r)
		cfg.Orientation = Orientation(data)
	case AVIF:
		// The orientation of AVIF lives in irot/imir boxes, which the
		// decoder applies itself; the dimensions are as stored.
		ic, err = avif.DecodeConfig(r)
	}
	if err != nil {
		return cfg, fmt.Errorf("%s header: %w", format, err)
	}
	if ic.Width <= 0 || ic.Height <= 0 {
		return cfg, fmt.Errorf("%s header: empty image (%d×%d)", format, ic.Width, ic.Height)
	}
	cfg.Width, cfg.Height = ic.Width, ic.Height
	return cfg, nil
}

// pngHasAlpha reads the colour type from IHDR (4 and 6 carry alpha) and
// looks for a tRNS chunk before the image data (a transparent palette
// entry or colour key).
func pngHasAlpha(data []byte) bool {
	if len(data) < 26 {
		return false
	}
	if ct := data[25]; ct == 4 || ct == 6 {
		return true
	}
	for p := 8; p+8 <= len(data); {
		n := int(binary.BigEndian.Uint32(data[p:]))
		switch string(data[p+4 : p+8]) {
		case "tRNS":
			return true
		case "IDAT", "IEND":
			return false
		}
		if n < 0 || n > len(data) {
			return false
		}
		p += 12 + n
	}
	return false
}

// gifHasTransparency looks for a graphic control extension that names a
// transparent colour index, in any frame.
func gifHasTransparency(data []byte) bool {
	for i := 0; i+4 < len(data); i++ {
		// 0x21 0xF9 0x04 flags: an extension introducer, the graphic
		// control label and its fixed block size. Image data can hold the
		// same bytes, so this may err towards alpha, never away from it.
		if data[i] == 0x21 && data[i+1] == 0xF9 && data[i+2] == 4 && data[i+3]&1 != 0 {
			return true
		}
	}
	return false
}

// recoverTo turns a panic in a third-party parser of untrusted bytes into
// an error.
func recoverTo(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("malformed image: %v", r)
	}
}

// countGIFFrames walks the GIF block structure, skipping every data
// sub-block, and counts image descriptors, without decoding any LZW data.
func countGIFFrames(data []byte) (int, error) {
	if len(data) < 13 {
		return 0, errors.New("gif: short header")
	}
	p := 13
	if flags := data[10]; flags&0x80 != 0 {
		p += 3 << (flags&7 + 1) // global colour table
	}
	frames := 0
	skipSubBlocks := func() bool {
		for p < len(data) {
			n := int(data[p])
			p++
			if n == 0 {
				return true
			}
			p += n
		}
		return false
	}
	for p < len(data) {
		switch data[p] {
		case 0x3B: // trailer
			return max(frames, 1), nil
		case 0x21: // extension: label, then sub-blocks
			p += 2
			if !skipSubBlocks() {
				return max(frames, 1), nil
			}
		case 0x2C: // image descriptor
			if p+10 > len(data) {
				return max(frames, 1), nil
			}
			flags := data[p+9]
			p += 10
			if flags&0x80 != 0 {
				p += 3 << (flags&7 + 1)
			}
			p++ // LZW minimum code size
			frames++
			if !skipSubBlocks() {
				return frames, nil
			}
		default:
			// Garbage after the last frame: the decoder stops there too.
			return max(frames, 1), nil
		}
	}
	return max(frames, 1), nil
}

// MemoryEstimate is the peak memory, in bytes, that decoding the image
// with opts and resizing it takes: whole-process peak RSS measured with
// bench/images.sh and opaprules dry-run (GOGC=100), per pixel. PNG ≈14-18
// bytes per source pixel, AVIF (WebAssembly) ≈45 (perf-notes), HEIC ≈37; formats not
// measured get 16. JPEG (internal/jpegdec) is counted per decoded pixel,
// so a shrink-on-load decode reserves what it allocates, plus, for
// progressive files, the coefficients kept until the last scan, which
// scale with the source (see jpegCoefBytes).
func MemoryEstimate(c Config, opts DecodeOptions) int64 {
	perPixel := int64(16)
	switch c.Format {
	case JPEG:
		// 4000×3000 baseline → 800 px: 39 MB (whole process, 1/2) and
		// 66 MB to 1500 px (full decode) against 6 bytes per decoded
		// pixel: 18 and 72 MB. Progressive (4:4:4): 100 and 162 MB
		// against 138 and 225 MB.
		f := Shrink(c, opts)
		n := ShrunkSize(c.Width, c.Height, f)
		est := int64(n.X) * int64(n.Y) * 6
		if c.Progressive {
			est += c.Pixels() * jpegCoefBytes[f] / 64
		}
		return est + 1<<20
	case AVIF:
		perPixel = 45
	case HEIC:
		// 4032×3024: 453 MiB whole-process peak (bench/decoders.sh).
		perPixel = 40
	}
	return c.Pixels()*perPixel + 1<<20
}

// jpegCoefBytes is what a progressive decode at 1/f keeps per 64 source
// pixels, twice (the garbage collector's headroom): int16 coefficients, as
// many per block as the reduced IDCT reads (64, 49, 25 or 1), and an 8-byte
// map per block, for the worst layout: 4:4:4 at 1/1, 1/2 and 1/4, and at
// 1/8 4:2:0, whose chroma is then decoded at 1/4 (SharpChroma).
var jpegCoefBytes = map[int]int64{
	1: 2 * 3 * (2*64 + 8),
	2: 2 * 3 * (2*49 + 8),
	4: 2 * 3 * (2*25 + 8),
	8: 2 * (4*(2*1+8) + 2*(2*25+8)) / 4,
}
