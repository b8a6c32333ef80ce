package imageio

import (
	"bytes"
	"image"

	"github.com/opaprules/opaprules/internal/jpegdec"
)

// JPEG goes through internal/jpegdec at every scale: at full size it
// decodes a 4000×3000 baseline photo in 70 ms against image/jpeg's 187 ms
// (and a progressive one in 60 MB against 90 MB), returns the same image
// types within ±1 per sample, and it reads the layouts image/jpeg refuses
// (chroma sampled finer than luma, factors of 3, CMYK without an Adobe
// marker). Its header parser is the one the decoder runs, so the size the
// limits were checked against is the size that gets allocated.

// Shrink returns the factor, 1, 2, 4 or 8, by which Decode with opts
// shrinks the picture (shrink-on-load): the result is ceil(w/f)×ceil(h/f)
// of the full size. Only JPEG shrinks, and only when opts.Target asks for
// at most a quarter of the size, so the scaled IDCT (an exact area
// average) does the first 2×, 4× or 8× and the caller's resampler still
// has at least 2× left in both dimensions, as libvips does
// (jpegdec.ScaleFor).
func Shrink(cfg Config, opts DecodeOptions) int {
	f, _ := shrinkPlan(cfg, opts)
	return f
}

// shrinkPlan is Shrink, and whether to decode chroma sharper than the
// shrink (jpegdec's SharpChroma): 4:2:0 chroma at 1/f leaves the
// resampler less than 2× on chroma whenever it has less than 4× on luma,
// and box-filtered chroma then aliases on colour edges. It is asked for at
// 1/4 and 1/8 only, where the sharper chroma planes are small (1.5 MB more
// for a 4000×3000 source at 1/4) and colour edges of small thumbnails gain
// the most (up to 12 dB before encoding). At 1/2 it would cost 4.5 MB of
// planes, 13 MB of peak RSS and 15% of the time for 0.5-2.5 dB that no
// 4:2:0 output keeps: JPEG and WebP q80 and JPEG q95 measure the same
// with and without (35.58, 28.58 and 36.18 dB against the original on the
// bench photo); only lossless outputs show it (PNG 47.0 against 49.4 dB).
func shrinkPlan(cfg Config, opts DecodeOptions) (f int, sharpChroma bool) {
	if cfg.Format != JPEG || opts.Target == nil || cfg.Frames > 1 {
		return 1, false
	}
	w, h := cfg.Width, cfg.Height
	swap := opts.AutoOrient && cfg.Orientation >= 5
	if swap {
		w, h = h, w
	}
	tw, th := opts.Target(w, h)
	if swap {
		tw, th = th, tw
	}
	if tw <= 0 || th <= 0 {
		// A target is a size to shrink to: both sides are set.
		return 1, false
	}
	f = jpegdec.ScaleFor(cfg.Width, cfg.Height, tw, th)
	if f == 1 {
		return 1, false
	}
	n := ShrunkSize(cfg.Width, cfg.Height, f)
	return f, f >= 4 && (n.X < 4*tw || n.Y < 4*th)
}

// orientsLater reports whether Decode leaves the orientation to the
// caller (DecodeOptions.OrientAfterShrink).
func orientsLater(cfg Config, opts DecodeOptions) bool {
	return opts.AutoOrient && opts.OrientAfterShrink && cfg.Orientation > 1 && Shrink(cfg, opts) > 1
}

// ShrunkSize is the size of a picture of w×h shrunk on load by f.
func ShrunkSize(w, h, f int) image.Point {
	if f <= 1 {
		return image.Pt(w, h)
	}
	return image.Pt((w+f-1)/f, (h+f-1)/f)
}

func decodeJPEG(data []byte, cfg Config, opts DecodeOptions) (image.Image, error) {
	f, sharp := shrinkPlan(cfg, opts)
	return jpegdec.DecodeBytes(data, jpegdec.Options{
		Scale:       f,
		SharpChroma: sharp,
		// The header was read and checked already: a decoder that saw a
		// larger frame than DecodeConfig did must not allocate it.
		MaxPixels: int64(cfg.Width) * int64(cfg.Height),
	})
}

func decodeJPEGConfig(data []byte) (image.Config, bool, error) {
	c, err := jpegdec.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return image.Config{}, false, err
	}
	return image.Config{ColorModel: c.ColorModel, Width: c.Width, Height: c.Height}, c.Progressive, nil
}
