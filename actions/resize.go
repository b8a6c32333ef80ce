package actions

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"

	"github.com/disintegration/imaging"

	"github.com/opaprules/opaprules/internal/imageio"
)

func init() {
	Register(Definition{
		Name:    "resize",
		Summary: "Resize an image: fit inside, cover, fill (cover, then crop by gravity), pad (fit, then extend with a colour) or force a width and height.",
		Doc: "The geometry is imgproxy's: `fit` keeps the whole picture inside width×height, " +
			"`fill` covers it and crops the overflow by `gravity`, `force` stretches to exactly " +
			"width×height. `cover` scales like `fill` without cropping (the smallest picture that " +
			"covers the box), `pad` scales like `fit` and extends the canvas to width×height with " +
			"`background`, the picture placed by `gravity`. At least one of `width` and `height` " +
			"is needed, or `long`/`short` (the target of the source's longer/shorter side), or " +
			"`percent`; a missing side follows the aspect ratio. Without `upscale`, no dimension " +
			"ever grows; with `keep_small` as well, an image the target would enlarge is left as " +
			"it is (no crop, no padding), as OSS IMG's `limit_1` does.\n\n" +
			"`max_width` and `max_height` clamp values that come from the request. Clamping ends at " +
			"the parameter's own range: a `width` above 65535 is a 400 `InvalidArgument`, not a clamp.\n\n" +
			"A resize that is the plan's first image action on a JPEG decodes at 1/2, 1/4 or 1/8 " +
			"scale (shrink-on-load, see design.md), so a 12 MP thumbnail costs a fraction of a full " +
			"decode. Animations keep every frame unless `first_frame` is set.",
		Class: Transform,
		New: func() Action {
			return &Resize{Mode: "fit", Filter: "lanczos", Gravity: gravityCenter,
				Background: Color{NRGBA: color.NRGBA{255, 255, 255, 255}, Set: true}}
		},
	})
}

// Resize scales an image with imgproxy's semantics: fit keeps the whole
// picture inside width×height, fill covers width×height and crops the
// overflow by gravity, force stretches to exactly width×height. Without
// upscale, no dimension ever grows: the scale stops at 1 (force keeps its
// aspect distortion while doing so). The cover and pad modes, long, short,
// percent and keep_small come from OSS IMG's resize (m_mfit, m_pad, l_,
// s_, p_, limit_1) and are what oss_process maps it onto.
type Resize struct {
	Width      int     `yaml:"width" min:"0" max:"65535" doc:"target width in pixels; 0 or absent follows from height"`
	Height     int     `yaml:"height" min:"0" max:"65535" doc:"target height in pixels; 0 or absent follows from width"`
	Mode       string  `yaml:"mode" enum:"fit,fill,force,cover,pad" doc:"fit inside (default), fill and crop, force the exact size, cover without cropping, or pad: fit, then extend to width×height with background"`
	Long       int     `yaml:"long" min:"0" max:"65535" doc:"without width and height: the target of the source's longer side (its width when it is square)"`
	Short      int     `yaml:"short" min:"0" max:"65535" doc:"without width and height: the target of the source's shorter side"`
	Percent    float64 `yaml:"percent" min:"0" max:"1000" doc:"without width, height, long and short: scale both sides to this percentage"`
	Upscale    bool    `yaml:"upscale" doc:"allow enlarging images smaller than the target (default false)"`
	KeepSmall  bool    `yaml:"keep_small" doc:"without upscale: leave an image that the target would enlarge exactly as it is, rather than scaling it at most to its own size and still cropping or padding"`
	Background Color   `yaml:"background" doc:"colour of the padding of mode pad (default white)"`
	Filter     string  `yaml:"filter" enum:"lanczos,catmullrom,linear,box,nearest" doc:"resampling filter; linear and box are about twice as fast as lanczos when shrinking a lot"`
	Gravity    string  `yaml:"gravity" enum:"center,north,south,east,west,north_east,north_west,south_east,south_west,smart" doc:"which part fill keeps, or where pad places the picture (default center; smart keeps the most detailed part)"`
	MaxWidth   int     `yaml:"max_width" min:"0" doc:"clamp for a width that comes from the request"`
	MaxHeight  int     `yaml:"max_height" min:"0" doc:"clamp for a height that comes from the request"`
	FirstFrame bool    `yaml:"first_frame" doc:"keep only the first frame of an animation (default: resize every frame)"`
}

// Validate needs a size to resize to.
func (r *Resize) Validate() error {
	if r.Width == 0 && r.Height == 0 && r.Long == 0 && r.Short == 0 && r.Percent == 0 {
		return fmt.Errorf("set width, height, both, long/short or percent")
	}
	return nil
}

var resampleFilters = map[string]imaging.ResampleFilter{
	"lanczos":    imaging.Lanczos,
	"catmullrom": imaging.CatmullRom,
	"linear":     imaging.Linear,
	"box":        imaging.Box,
	"nearest":    imaging.NearestNeighbor,
}

// box returns the target box for a srcW×srcH source after the
// max_width/max_height clamps: width and height, else long and short laid
// along the source's longer and shorter side, else percent of the source.
// A zero side follows from the other.
func (r *Resize) box(srcW, srcH int) (w, h int) {
	w, h = r.Width, r.Height
	switch {
	case w > 0 || h > 0:
	case r.Long > 0 || r.Short > 0:
		if srcW >= srcH {
			w, h = r.Long, r.Short
		} else {
			w, h = r.Short, r.Long
		}
	case r.Percent > 0:
		w = max(1, int(math.Round(float64(srcW)*r.Percent/100)))
		h = max(1, int(math.Round(float64(srcH)*r.Percent/100)))
	}
	if r.MaxWidth > 0 && w > r.MaxWidth {
		w = r.MaxWidth
	}
	if r.MaxHeight > 0 && h > r.MaxHeight {
		h = r.MaxHeight
	}
	return w, h
}

// geometry returns, for a srcW×srcH source, the size the picture is scaled
// to and the size of the result: smaller than the scaled size for fill,
// which then crops, larger for pad, which then extends.
func (r *Resize) geometry(srcW, srcH int) (scaled, out image.Point) {
	w, h := r.box(srcW, srcH)
	wshrink, hshrink := 0.0, 0.0
	if w > 0 {
		wshrink = float64(srcW) / float64(w)
	}
	if h > 0 {
		hshrink = float64(srcH) / float64(h)
	}
	if w == 0 {
		wshrink = hshrink
	}
	if h == 0 {
		hshrink = wshrink
	}
	if wshrink == 0 {
		// No box at all (a request-time value of 0): leave the size.
		wshrink, hshrink = 1, 1
	}
	switch r.Mode {
	case "fill", "cover":
		wshrink = math.Min(wshrink, hshrink)
		hshrink = wshrink
	case "force":
	default: // fit, pad
		wshrink = math.Max(wshrink, hshrink)
		hshrink = wshrink
	}
	src := image.Pt(srcW, srcH)
	scaledBy := func(ws, hs float64) image.Point {
		return image.Pt(max(1, int(math.Round(float64(srcW)/ws))), max(1, int(math.Round(float64(srcH)/hs))))
	}
	if !r.Upscale {
		if r.KeepSmall {
			if s := scaledBy(wshrink, hshrink); s.X > srcW || s.Y > srcH {
				return src, src
			}
		}
		if m := math.Min(wshrink, hshrink); m < 1 {
			wshrink /= m
			hshrink /= m
		}
	}
	scaled = scaledBy(wshrink, hshrink)
	out = scaled
	switch r.Mode {
	case "fill":
		if w > 0 {
			out.X = min(w, scaled.X)
		}
		if h > 0 {
			out.Y = min(h, scaled.Y)
		}
	case "pad":
		out.X, out.Y = max(w, scaled.X), max(h, scaled.Y)
	}
	return scaled, out
}

// Apply resizes every frame (or the first only).
func (r *Resize) Apply(ctx context.Context, obj *Object) error {
	img, err := obj.decodeImage(ctx, decodeOptions{target: func(w, h int) (int, int) {
		s, _ := r.geometry(w, h)
		return s.X, s.Y
	}})
	if err != nil {
		return err
	}
	b := img.Bounds()
	// After a shrink-on-load decode the geometry still follows the
	// source's full size: the decoded picture is only a head start, and
	// its resampling reads exactly the part that is picture.
	src, extent, orient, shrunk := obj.shrinkOf(img)
	scaled, out := r.geometry(src.X, src.Y)
	if err := obj.checkOutputSize(max(scaled.X, out.X), max(scaled.Y, out.Y)); err != nil {
		return err
	}
	if scaled == b.Size() && out == scaled && !(r.FirstFrame && img.Animated()) {
		return nil
	}
	filter := resampleFilters[r.Filter]
	resize := func(m image.Image) image.Image {
		if !shrunk {
			// An opaque full decode (a JPEG too small to shrink on load, a
			// PNG without alpha) takes the plane resampler too: imaging
			// converts the whole picture to NRGBA rows and resamples in
			// float, 5-10x the instructions.
			if imageio.IsOpaque(m) {
				return imageio.ResampleOpaque(m, imageio.Rect{}, scaled.X, scaled.Y, filter)
			}
			return imaging.Resize(m, scaled.X, scaled.Y, filter)
		}
		// Still as stored: resample in stored axes, then turn upright
		// the (much smaller) result.
		w, h := scaled.X, scaled.Y
		if orient >= 5 {
			w, h = h, w
		}
		return imageio.Orient(imageio.ResampleOpaque(m, extent, w, h, filter), orient)
	}
	pad := r.Mode == "pad" && out != scaled
	var crop image.Point
	if pad {
		gravity := r.Gravity
		if gravity == gravitySmart {
			gravity = gravityCenter
		}
		// Where the picture goes on the larger canvas.
		crop = anchor(gravity, out.X, out.Y, scaled.X, scaled.Y)
	} else if out != scaled && r.Gravity == gravitySmart {
		// One window for every frame, chosen on the first, so an animation
		// does not jump around.
		first := resize(img.Frames[0].Image)
		crop = smartAnchor(first, out.X, out.Y)
	} else {
		crop = anchor(r.Gravity, scaled.X, scaled.Y, out.X, out.Y)
	}
	var ctxErr error
	resized := framesDo(img, r.FirstFrame, func(m image.Image) image.Image {
		if ctxErr = ctx.Err(); ctxErr != nil {
			return m
		}
		if shrunk || m.Bounds().Size() != scaled {
			m = resize(m)
		}
		switch {
		case pad:
			canvas := image.NewNRGBA(image.Rect(0, 0, out.X, out.Y))
			draw.Draw(canvas, canvas.Rect, &image.Uniform{C: r.Background.NRGBA}, image.Point{}, draw.Src)
			draw.Draw(canvas, image.Rectangle{Min: crop, Max: crop.Add(scaled)}, m, m.Bounds().Min, draw.Over)
			m = canvas
		case out != scaled:
			m = imaging.Crop(m, image.Rectangle{Min: crop, Max: crop.Add(out)}.Add(m.Bounds().Min))
		}
		return m
	})
	if shrunk && orient > 1 {
		// Turned upright above.
		resized.Orientation = 1
	}
	obj.SetImage(resized)
	return ctxErr
}

// Warm compiles the HEIC decoder: a resize is how most plans begin, and
// its source may be HEIC.
func (r *Resize) Warm() error { return warmSourceDecoders() }

// Interface guards (see docs/adding-an-action.md).
var (
	_ Action    = (*Resize)(nil)
	_ Validator = (*Resize)(nil)
	_ Warmer    = (*Resize)(nil)
)
