package actions

import (
	"context"
	"image"
	"math"
)

func init() {
	Register(Definition{
		Name:    "rounded_corners",
		Summary: "Round the image's corners with a radius; what lies outside becomes transparent.",
		Doc: "A radius larger than half the shorter side becomes half the shorter side. Formats " +
			"without transparency (JPEG) show the corners in `convert`'s background, white by " +
			"default. This is OSS IMG's rounded-corners.",
		Class: Transform,
		New:   func() Action { return &RoundedCorners{} },
	})
}

// RoundedCorners makes the corners of an image transparent outside
// quarter circles.
type RoundedCorners struct {
	Radius     int  `yaml:"radius" required:"true" min:"1" max:"4096" doc:"corner radius in pixels; capped at half the shorter side"`
	FirstFrame bool `yaml:"first_frame" doc:"keep only the first frame of an animation (default: every frame)"`
}

// Apply rounds every frame.
func (c *RoundedCorners) Apply(ctx context.Context, obj *Object) error {
	img, err := obj.Image(ctx)
	if err != nil {
		return err
	}
	b := img.Bounds()
	W, H := b.Dx(), b.Dy()
	r := float64(min(c.Radius, min(W, H)/2))
	obj.SetImage(framesDo(img, c.FirstFrame, func(m image.Image) image.Image {
		out := copyNRGBA(m)
		maskAlpha(out, func(x, y int) float64 {
			// Distance of the pixel centre from the centre of its
			// corner's circle, when it lies in a corner square.
			px, py := float64(x)+0.5, float64(y)+0.5
			cx, cy := px, py
			switch {
			case px < r:
				cx = r
			case px > float64(W)-r:
				cx = float64(W) - r
			}
			switch {
			case py < r:
				cy = r
			case py > float64(H)-r:
				cy = float64(H) - r
			}
			if cx == px || cy == py {
				return 1
			}
			return coverage(r, math.Hypot(px-cx, py-cy))
		})
		return out
	}))
	return nil
}

// Interface guards.
var _ Action = (*RoundedCorners)(nil)
