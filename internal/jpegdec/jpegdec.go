// Package jpegdec is a pure-Go JPEG decoder that can decode at 1/2, 1/4 or
// 1/8 of the stored size ("shrink-on-load") without ever building the
// full-size pixels.
//
// Thumbnailing a large photo is dominated by decoding it. At a reduced scale
// each 8×8 DCT block is turned straight into a 4×4, 2×2 or 1×1 block of
// output samples by a reduced inverse DCT, so the pixel planes, the IDCT work
// and the memory traffic all shrink by the square of the scale. The reduced
// IDCTs compute exactly the box-filtered (area-averaged) output of the full
// IDCT (before rounding and clamping), so a scaled decode looks like a full
// decode followed by a box downscale, only much cheaper.
//
// Supported: baseline and extended sequential (SOF0/SOF1) and progressive
// (SOF2) Huffman-coded 8-bit JPEGs, including spectral selection, successive
// approximation, non-interleaved scans and restart markers; 1 (grayscale),
// 3 (YCbCr, or RGB as image/jpeg detects it) and 4 (CMYK or Adobe YCCK)
// components, with any sampling factors 1..4 per component.
//
// Refused with [UnsupportedError]: arithmetic coding (SOF9-SOF11), lossless
// and hierarchical modes, 12- and 16-bit precision, and component counts
// other than 1, 3 and 4.
//
// Output types follow image/jpeg: *image.Gray, *image.YCbCr (with the file's
// chroma subsampling when image.YCbCrSubsampleRatio can express it, 4:4:4
// after nearest-neighbour upsampling otherwise; [Options.SharpChroma] makes
// reduced decodes less subsampled), *image.RGBA for RGB files and
// *image.CMYK for 4-component files. Like image/jpeg, truncated or corrupt
// entropy-coded data is an error rather than a partial image.
//
// DecodeBytes works on the whole input in memory before allocating pixel planes,
// and refuses a header whose block count the input could not possibly encode
// (every block needs at least one bit), so a tiny hostile file cannot make
// it allocate a huge image; use [Options.MaxPixels] to bound memory on
// legitimate but huge inputs.
//
// On a 4000×3000 4:2:0 q90 photo a 1/8 decode takes about 40 ms and 4 MB
// (most of it the copy of the input), against 190 ms and 18 MB for
// image/jpeg's full decode; see README.md for the measurements.
package jpegdec

import (
	"image"
	"image/color"
	"io"
)

// FormatError reports that the input is not a valid JPEG (including truncated
// data).
type FormatError string

func (e FormatError) Error() string { return "jpegdec: invalid JPEG format: " + string(e) }

// UnsupportedError reports that the input is a valid JPEG that this package
// does not decode.
type UnsupportedError string

func (e UnsupportedError) Error() string { return "jpegdec: unsupported JPEG feature: " + string(e) }

// LimitError reports that the image is larger than Options.MaxPixels allows.
type LimitError struct {
	Width, Height int
	MaxPixels     int64
}

func (e *LimitError) Error() string {
	return "jpegdec: image too large"
}

// Config is what DecodeConfig learns from the headers alone.
type Config struct {
	// Width and Height are the stored (unrotated) dimensions.
	Width, Height int
	// Components is 1, 3 or 4.
	Components int
	// ColorModel is the model of the image Decode returns: color.GrayModel,
	// color.YCbCrModel, color.RGBAModel or color.CMYKModel.
	ColorModel color.Model
	// Progressive is true for SOF2 (progressive DCT) files.
	Progressive bool
	// Orientation is the EXIF orientation tag, 1..8; 1 when absent or
	// invalid. Applying it is up to the caller.
	Orientation int
	// EXIF is the APP1 Exif payload starting at the TIFF header (after the
	// "Exif\x00\x00" prefix), or nil.
	EXIF []byte
}

// Options controls Decode.
type Options struct {
	// Scale is the shrink factor: 1, 2, 4 or 8 (0 means 1). The output is
	// ceil(Width/Scale) × ceil(Height/Scale).
	Scale int
	// MaxPixels, when positive, makes Decode fail with *LimitError before
	// allocating anything large if Width*Height (full size, whatever the
	// scale) exceeds it.
	MaxPixels int64
	// SharpChroma decodes subsampled chroma with larger reduced IDCTs
	// at scales 2, 4 and 8, up to the luma's resolution, the way libjpeg
	// scales chroma "via IDCT scaling rather than upsampling": a 1/2
	// decode of a 4:2:0 file then has 1/2-scale chroma too and comes out
	// as 4:4:4, where without it the chroma is at 1/4 and every chroma
	// sample is the box average of a 4×4 luma area (fine to show, but it
	// leaves a resampler that shrinks further no margin on chroma). Only
	// subsampling by the same power of two on both axes can be undone
	// (4:2:0 fully, 4:1:0 to 4:2:2); other layouts decode as without it.
	SharpChroma bool
}

// maxScans bounds the work a hostile progressive file can cause: every scan
// may touch every block. Real encoders emit at most a few dozen scans.
const maxScans = 256

// DecodeConfig reads the JPEG headers up to the first scan. It does not read
// the entropy-coded data.
func DecodeConfig(r io.Reader) (Config, error) {
	d := decoder{src: source{r: r}}
	if err := d.readHeaders(); err != nil {
		return Config{}, err
	}
	return d.config(), nil
}

// DecodeBytes decodes a JPEG held in memory at 1/opts.Scale of its size,
// without copying it first. The decoder only reads data; it must not change during the call.
func DecodeBytes(data []byte, opts Options) (image.Image, error) {
	shift, err := shiftOf(opts.Scale)
	if err != nil {
		return nil, err
	}
	d := decoder{src: source{buf: data}, shift: shift, sharpChroma: opts.SharpChroma, maxPixels: opts.MaxPixels}
	return d.decode()
}

func shiftOf(scale int) (uint, error) {
	if scale == 0 {
		scale = 1
	}
	var shift uint
	switch scale {
	case 1:
		shift = 0
	case 2:
		shift = 1
	case 4:
		shift = 2
	case 8:
		shift = 3
	default:
		return 0, UnsupportedError("scale must be 1, 2, 4 or 8")
	}
	return shift, nil
}

// ScaleFor returns the scale Decode should use when the image will be
// resized to fit dstW×dstH afterwards: the largest of 8, 4, 2 and 1 that
// still leaves at least a factor of two for the final resampler in both
// dimensions, i.e. ceil(srcW/scale) >= 2*dstW and ceil(srcH/scale) >= 2*dstH.
// The margin matters because the shrink-on-load is a box filter: like
// libvips, we let a proper filter do the last 2× and more, so the result is
// as sharp and alias-free as a full decode would give.
//
// A non-positive dstW or dstH leaves that dimension unconstrained (a bound on
// the other one alone). All sizes are in stored orientation: swap dstW and
// dstH first if EXIF orientation 5..8 will be applied.
func ScaleFor(srcW, srcH, dstW, dstH int) int {
	if srcW <= 0 || srcH <= 0 || (dstW <= 0 && dstH <= 0) {
		return 1
	}
	for s := 8; s > 1; s /= 2 {
		if (dstW <= 0 || (srcW+s-1)/s >= 2*dstW) && (dstH <= 0 || (srcH+s-1)/s >= 2*dstH) {
			return s
		}
	}
	return 1
}
