package actions

import (
	"context"
	"image"
	"math"
)

func init() {
	Register(Definition{
		Name:    "circle",
		Summary: "Cut out the circle of a radius around the image's centre; the corners become transparent.",
		Doc: "The result is the (2×radius+1)-pixel square around the centre, with everything outside " +
			"the circle transparent (antialiased at the edge). A radius too large for the image " +
			"becomes (shorter side − 1)/2. Formats without transparency (JPEG) show the corners " +
			"in `convert`'s background, white by default. This is OSS IMG's circle.",
		Class: Transform,
		New:   func() Action { return &Circle{} },
	})
}

// Circle crops an image to a circle around its centre.
type Circle struct {
	Radius     int  `yaml:"radius" required:"true" min:"1" max:"4096" doc:"radius in pixels; capped at (shorter side − 1)/2"`
	FirstFrame bool `yaml:"first_frame" doc:"keep only the first frame of an animation (default: every frame)"`
}

// circleRadius is the radius actually cut from a W×H image: the square of
// side 2r+1 must fit.
func circleRadius(r, W, H int) int {
	if short := min(W, H); 2*r+1 > short {
		r = (short - 1) / 2
	}
	return max(r, 0)
}

// Apply cuts every frame.
func (c *Circle) Apply(ctx context.Context, obj *Object) error {
	img, err := obj.Image(ctx)
	if err != nil {
		return err
	}
	b := img.Bounds()
	r := circleRadius(c.Radius, b.Dx(), b.Dy())
	d := 2*r + 1
	at := image.Pt((b.Dx()-d)/2, (b.Dy()-d)/2)
	win := image.Rectangle{Min: at, Max: at.Add(image.Pt(d, d))}
	fr := float64(r)
	obj.SetImage(framesDo(img, c.FirstFrame, func(m image.Image) image.Image {
		out := cropRGB(m, win.Add(m.Bounds().Min))
		maskAlpha(out, func(x, y int) float64 {
			// Pixel centres against a circle centred on the middle pixel.
			return coverage(fr, math.Hypot(float64(x-r), float64(y-r)))
		})
		return out
	}))
	return nil
}

// coverage is the share of a pixel at distance dist from a circle's centre
// that lies inside radius r, for a one-pixel-wide antialiased edge.
func coverage(r, dist float64) float64 {
	return max(0, min(1, r+0.5-dist))
}

// maskAlpha multiplies the alpha of every pixel of m by f(x, y) (0..1), in
// m's own coordinates from 0.
func maskAlpha(m *image.NRGBA, f func(x, y int) float64) {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	for y := range h {
		row := m.Pix[y*m.Stride:]
		for x := range w {
			k := f(x, y)
			if k >= 1 {
				continue
			}
			a := &row[4*x+3]
			*a = uint8(math.Round(float64(*a) * k))
		}
	}
}

// Interface guards.
var _ Action = (*Circle)(nil)
