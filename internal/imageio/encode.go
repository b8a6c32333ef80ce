package imageio

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"time"

	"github.com/deepteams/webp"
	"github.com/deepteams/webp/animation"
	"github.com/disintegration/imaging"
	"github.com/gen2brain/avif"
	"github.com/opaprules/opaprules/internal/jpegenc"
	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

// Default qualities, on each encoder's own scale.
const (
	DefaultJPEGQuality = 80
	DefaultWebPQuality = 80
	DefaultAVIFQuality = 60
	// DefaultAVIFSpeed is libavif's fastest setting: 12 times faster than
	// speed 6 on an 800×600 picture for 8% more bytes (perf-notes).
	DefaultAVIFSpeed = 10
)

// EncodeOptions say how to encode.
type EncodeOptions struct {
	Format string
	// Quality is 1..100 on the encoder's own scale; 0 picks its default.
	Quality int
	// Lossless selects lossless WebP or AVIF.
	Lossless bool
	// Progressive writes a progressive JPEG (OSS's interlace,1): libjpeg's
	// default scan script, the same pixels as the baseline file.
	Progressive bool
	// Speed is the AVIF encoder's effort, 0 (slowest) .. 10; -1 for the default.
	Speed int
	// Background is what transparent pixels are flattened onto for formats
	// without alpha (JPEG); its own alpha is ignored.
	Background color.NRGBA
	// Metadata is embedded where the format can carry it: EXIF and ICC in
	// JPEG, PNG and WebP; nothing in GIF, BMP, TIFF and AVIF.
	Metadata Metadata
}

// CanAnimate reports whether Encode keeps every frame in format.
func CanAnimate(format string) bool { return format == GIF || format == WebP }

// Encode encodes img. Formats that cannot animate get the first frame.
func Encode(img *Image, o EncodeOptions) (out []byte, err error) {
	defer recoverTo(&err)
	if len(img.Frames) == 0 {
		return nil, fmt.Errorf("encode: no frames")
	}
	var buf bytes.Buffer
	first := img.Frames[0].Image
	if y, ok := first.(*image.YCbCr); ok && o.Format != JPEG {
		// The encoders below read RGB: interpolate the chroma as libjpeg
		// does rather than replicate it as YCbCr.At would.
		first = YCbCrToNRGBA(y)
	}
	switch o.Format {
	case JPEG:
		// internal/jpegenc fits its Huffman tables to the picture, as
		// libvips does: 10% smaller than image/jpeg at q80, same pixels.
		out, err := jpegenc.Append(nil, forJPEG(first, o.Background), jpegenc.Options{
			Quality:     orDefault(o.Quality, DefaultJPEGQuality),
			Progressive: o.Progressive,
		})
		return embedJPEG(out, o.Metadata), err
	case PNG:
		err = (&png.Encoder{CompressionLevel: png.DefaultCompression}).Encode(&buf, first)
		return embedPNG(buf.Bytes(), o.Metadata), err
	case GIF:
		err = encodeGIF(&buf, img)
	case WebP:
		err = encodeWebP(&buf, img, first, o)
	case AVIF:
		err = avif.Encode(&buf, first, avif.Options{
			Quality:           orDefault(o.Quality, DefaultAVIFQuality),
			QualityAlpha:      orDefault(o.Quality, DefaultAVIFQuality),
			Speed:             speedOrDefault(o.Speed),
			ChromaSubsampling: image.YCbCrSubsampleRatio420,
			Lossless:          o.Lossless,
		})
	case BMP:
		err = bmp.Encode(&buf, first)
	case TIFF:
		err = tiff.Encode(&buf, first, &tiff.Options{Compression: tiff.Deflate, Predictor: true})
	default:
		return nil, fmt.Errorf("no encoder for %q", o.Format)
	}
	return buf.Bytes(), err
}

func orDefault(q, def int) int {
	if q <= 0 {
		return def
	}
	return min(q, 100)
}

func speedOrDefault(s int) int {
	if s < 0 || s > 10 {
		return DefaultAVIFSpeed
	}
	return s
}

// forJPEG returns m in a form jpegenc encodes fast (its fast paths are
// *image.YCbCr, *image.Gray, *image.RGBA and opaque *image.NRGBA), with
// transparency flattened onto bg.
func forJPEG(m image.Image, bg color.NRGBA) image.Image {
	switch m.(type) {
	case *image.YCbCr, *image.Gray, *image.RGBA:
		if IsOpaque(m) {
			return m
		}
	}
	return Flatten(m, bg)
}

// Flatten composes m over an opaque background colour.
func Flatten(m image.Image, bg color.NRGBA) *image.RGBA {
	n, ok := m.(*image.NRGBA)
	if !ok || n.Rect.Min != (image.Point{}) {
		n = imaging.Clone(m)
	}
	out := &image.RGBA{Pix: n.Pix, Stride: n.Stride, Rect: n.Rect}
	if n.Opaque() {
		// Opaque NRGBA and RGBA share one memory layout.
		return out
	}
	if n == m {
		// Do not blend into the caller's pixels.
		out.Pix = make([]uint8, len(n.Pix))
	}
	br, bgc, bb := uint32(bg.R), uint32(bg.G), uint32(bg.B)
	for i := 0; i+3 < len(n.Pix); i += 4 {
		a := uint32(n.Pix[i+3])
		ia := 255 - a
		out.Pix[i] = uint8((uint32(n.Pix[i])*a + br*ia + 127) / 255)
		out.Pix[i+1] = uint8((uint32(n.Pix[i+1])*a + bgc*ia + 127) / 255)
		out.Pix[i+2] = uint8((uint32(n.Pix[i+2])*a + bb*ia + 127) / 255)
		out.Pix[i+3] = 255
	}
	return out
}

// ToNRGBA returns m as NRGBA, m itself when it already is one (callers
// that draw must copy first), a decoded JPEG with its chroma interpolated
// as libjpeg does (YCbCrToNRGBA).
func ToNRGBA(m image.Image) *image.NRGBA {
	switch p := m.(type) {
	case *image.NRGBA:
		if p.Rect.Min == (image.Point{}) {
			return p
		}
	case *image.YCbCr:
		return YCbCrToNRGBA(p)
	}
	return imaging.Clone(m)
}

func encodeGIF(buf *bytes.Buffer, img *Image) error {
	frames := make([]*image.NRGBA, len(img.Frames))
	for i, f := range img.Frames {
		frames[i] = ToNRGBA(f.Image)
	}
	pal, transparent := buildPalette(frames)
	mapper := newPaletteMapper(pal, transparent)
	g := &gif.GIF{LoopCount: img.LoopCount}
	for i, f := range frames {
		g.Image = append(g.Image, mapper.toPaletted(f, len(frames) == 1))
		g.Delay = append(g.Delay, img.Frames[i].Delay)
		// Every frame is a full canvas, so each replaces the last; with
		// transparency the previous frame must not show through.
		g.Disposal = append(g.Disposal, gif.DisposalBackground)
	}
	return gif.EncodeAll(buf, g)
}

// encodeWebP encodes img; first is its first frame as Encode prepared it.
func encodeWebP(buf *bytes.Buffer, img *Image, first image.Image, o EncodeOptions) error {
	q := orDefault(o.Quality, DefaultWebPQuality)
	if !img.Animated() {
		opts := webp.DefaultOptions()
		opts.Quality = float32(q)
		opts.Lossless = o.Lossless
		// WebP's EXIF chunk holds the TIFF structure without JPEG's prefix.
		opts.ICC, opts.EXIF = o.Metadata.ICC, o.Metadata.EXIF
		return webp.Encode(buf, first, opts)
	}
	b := img.Bounds()
	enc := animation.NewEncoder(buf, b.Dx(), b.Dy(), &animation.EncodeOptions{
		LoopCount: gifToWebPLoops(img.LoopCount),
		Quality:   q,
		Lossless:  o.Lossless,
	})
	if enc == nil {
		return fmt.Errorf("webp: cannot animate a %d×%d canvas", b.Dx(), b.Dy())
	}
	if len(o.Metadata.ICC) > 0 {
		enc.SetICCProfile(o.Metadata.ICC)
	}
	if len(o.Metadata.EXIF) > 0 {
		enc.SetEXIF(o.Metadata.EXIF)
	}
	for _, f := range img.Frames {
		if err := enc.AddFrame(ToNRGBA(f.Image), time.Duration(f.Delay)*10*time.Millisecond); err != nil {
			return err
		}
	}
	return enc.Close()
}
