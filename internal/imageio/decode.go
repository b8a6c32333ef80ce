package imageio

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"time"

	"github.com/deepteams/webp"
	"github.com/deepteams/webp/animation"
	"github.com/gen2brain/avif"
	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"

	"github.com/opaprules/opaprules/internal/pngdec"
)

// DecodeOptions say how to decode.
type DecodeOptions struct {
	// AutoOrient turns the pixels upright by the EXIF orientation (AVIF:
	// by its irot/imir boxes).
	AutoOrient bool
	// FirstFrame decodes only the first frame of an animation.
	FirstFrame bool
	// Target, when set, maps the size of the picture (upright with
	// AutoOrient, so width and height swap for orientations 5-8; as
	// stored without) to the size the caller will shrink it to next. A
	// JPEG is then decoded at 1/2, 1/4 or 1/8 of its size when that
	// leaves at least twice the target in both dimensions (see Shrink);
	// other formats ignore it. Set it only when the shrink is the next
	// thing done to the pixels: anything measured in source pixels (a
	// crop box, a watermark offset) would land elsewhere on a smaller
	// picture.
	Target func(w, h int) (int, int)
	// OrientAfterShrink, with AutoOrient, leaves a decode that shrank on
	// load as stored, Image.Orientation saying what is still to apply,
	// for a caller that resizes first and turns the smaller result
	// (ResampleOpaque, then Orient): turning the 2000×1500 decode of a
	// 4000×3000 portrait photo costs 12 MB and tens of milliseconds, the
	// 600×800 result next to nothing. ShrinkExtent follows.
	OrientAfterShrink bool
}

// Decode decodes data, whose header DecodeConfig read into cfg (and the
// caller checked against its limits). With opts.Target a JPEG may come
// out smaller than cfg says, by the factor Shrink(cfg, opts).
func Decode(data []byte, cfg Config, opts DecodeOptions) (img *Image, err error) {
	defer recoverTo(&err)
	img = &Image{Format: cfg.Format, Orientation: 1}
	r := bytes.NewReader(data)
	var m image.Image
	switch cfg.Format {
	case JPEG:
		m, err = decodeJPEG(data, cfg, opts)
	case PNG:
		m, err = pngdec.Decode(data)
	case BMP:
		m, err = bmp.Decode(r)
	case TIFF:
		m, err = tiff.Decode(r)
	case AVIF:
		m, err = decodeAVIF(data, opts.AutoOrient)
	case HEIC:
		m, err = decodeHEIC(data, cfg, opts.AutoOrient)
		if !opts.AutoOrient {
			img.Orientation = cfg.Orientation
		}
	case GIF:
		err = decodeGIF(img, r, opts.FirstFrame)
	case WebP:
		if cfg.Frames > 1 {
			err = decodeAnimatedWebP(img, data, opts.FirstFrame)
		} else {
			m, err = webp.Decode(r)
		}
	default:
		return nil, ErrUnknownFormat
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.Format, err)
	}
	if m != nil {
		img.Frames = []Frame{{Image: m}}
	}
	if len(img.Frames) == 0 {
		return nil, fmt.Errorf("%s: no frames", cfg.Format)
	}
	if cfg.Format == AVIF || cfg.Format == HEIC {
		// Their decoders orient the pixels themselves.
		return img, nil
	}
	img.Orientation = cfg.Orientation
	if opts.AutoOrient && cfg.Orientation > 1 && !orientsLater(cfg, opts) {
		for i := range img.Frames {
			img.Frames[i].Image = Orient(img.Frames[i].Image, cfg.Orientation)
		}
		img.Orientation = 1
	}
	return img, nil
}

func decodeGIF(img *Image, r *bytes.Reader, firstOnly bool) error {
	g, err := gif.DecodeAll(r)
	if err != nil {
		return err
	}
	img.LoopCount = g.LoopCount
	img.Frames = coalesceGIF(g, firstOnly)
	return nil
}

// coalesceGIF renders each GIF frame onto the logical screen as a viewer
// would, honouring transparency and disposal, so every frame is a full
// canvas that can be resized or cropped on its own.
func coalesceGIF(g *gif.GIF, firstOnly bool) []Frame {
	w, h := g.Config.Width, g.Config.Height
	if w <= 0 || h <= 0 {
		b := g.Image[0].Bounds()
		w, h = b.Max.X, b.Max.Y
	}
	canvas := image.NewNRGBA(image.Rect(0, 0, w, h))
	var saved []uint8
	frames := make([]Frame, 0, len(g.Image))
	for i, pm := range g.Image {
		disposal := byte(0)
		if i < len(g.Disposal) {
			disposal = g.Disposal[i]
		}
		if disposal == gif.DisposalPrevious {
			saved = append(saved[:0], canvas.Pix...)
		}
		drawPaletted(canvas, pm)
		delay := 0
		if i < len(g.Delay) {
			delay = g.Delay[i]
		}
		snap := image.NewNRGBA(canvas.Rect)
		copy(snap.Pix, canvas.Pix)
		frames = append(frames, Frame{Image: snap, Delay: delay})
		if firstOnly {
			break
		}
		switch disposal {
		case gif.DisposalBackground:
			// Viewers clear to transparent rather than to the background
			// colour, and so does this.
			r := pm.Bounds().Intersect(canvas.Rect)
			for y := r.Min.Y; y < r.Max.Y; y++ {
				clear(canvas.Pix[canvas.PixOffset(r.Min.X, y):canvas.PixOffset(r.Max.X, y)])
			}
		case gif.DisposalPrevious:
			copy(canvas.Pix, saved)
		}
	}
	return frames
}

// drawPaletted draws the opaque pixels of pm over dst.
func drawPaletted(dst *image.NRGBA, pm *image.Paletted) {
	var lut [256]color.NRGBA
	for i, c := range pm.Palette {
		lut[i] = color.NRGBAModel.Convert(c).(color.NRGBA)
	}
	r := pm.Bounds().Intersect(dst.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		src := pm.Pix[pm.PixOffset(r.Min.X, y):pm.PixOffset(r.Max.X, y)]
		d := dst.Pix[dst.PixOffset(r.Min.X, y):]
		for x, idx := range src {
			if int(idx) >= len(pm.Palette) {
				continue
			}
			c := lut[idx]
			if c.A == 0 {
				continue
			}
			d[4*x], d[4*x+1], d[4*x+2], d[4*x+3] = c.R, c.G, c.B, c.A
		}
	}
}

func decodeAnimatedWebP(img *Image, data []byte, firstOnly bool) error {
	anim, err := animation.DecodeBytes(data)
	if err != nil {
		return err
	}
	if firstOnly {
		anim.Frames = anim.Frames[:1]
	}
	// DecodeBytes parses the container; the frames' pixels come next.
	if err := anim.DecodeFrames(); err != nil {
		return err
	}
	dec, err := animation.NewAnimDecoder(anim)
	if err != nil {
		return err
	}
	img.LoopCount = webpToGIFLoops(anim.LoopCount)
	for dec.HasNext() {
		m, d, err := dec.NextFrame()
		if err != nil {
			return err
		}
		img.Frames = append(img.Frames, Frame{Image: m, Delay: int(d / (10 * time.Millisecond))})
		if firstOnly {
			break
		}
	}
	return nil
}

// WebP counts plays (0 = forever), GIF counts repeats (0 = forever, -1 =
// play once).
func webpToGIFLoops(n int) int {
	switch n {
	case 0:
		return 0
	case 1:
		return -1
	}
	return n - 1
}

func gifToWebPLoops(n int) int {
	switch {
	case n == 0:
		return 0
	case n < 0:
		return 1
	}
	return n + 1
}

func decodeAVIF(data []byte, autoOrient bool) (image.Image, error) {
	return avif.Decode(bytes.NewReader(data), avif.Options{AutoRotate: autoOrient})
}
