package actions

import (
	"context"
	"fmt"
	"image"
)

func init() {
	Register(Definition{
		Name:    "slice",
		Summary: "Cut the image into strips of a width (or height) and keep the strip at an index.",
		Doc: "`width` cuts vertical strips from the left, `height` horizontal strips from the top " +
			"(`height` wins when both are set); the last strip holds what is left. An `index` past " +
			"the last strip leaves the image as it is. This is OSS IMG's indexcrop.",
		Class: Transform,
		New:   func() Action { return &Slice{} },
	})
}

// Slice keeps one strip of an image cut into equal strips.
type Slice struct {
	Width      int  `yaml:"width" min:"0" max:"65535" doc:"width of each vertical strip, in pixels"`
	Height     int  `yaml:"height" min:"0" max:"65535" doc:"height of each horizontal strip, in pixels"`
	Index      int  `yaml:"index" min:"0" doc:"which strip to keep, 0 for the first"`
	FirstFrame bool `yaml:"first_frame" doc:"keep only the first frame of an animation (default: every frame)"`
}

// Validate needs a strip size.
func (s *Slice) Validate() error {
	if s.Width == 0 && s.Height == 0 {
		return fmt.Errorf("set width or height")
	}
	return nil
}

// strip returns the part of a W×H image to keep, and false when the index
// is past the last strip.
func (s *Slice) strip(W, H int) (image.Rectangle, bool) {
	// Index is checked before it multiplies: it may be any int.
	if s.Height > 0 {
		if s.Index > (H-1)/s.Height {
			return image.Rectangle{}, false
		}
		y := s.Index * s.Height
		return image.Rect(0, y, W, min(H, y+s.Height)), true
	}
	if s.Width == 0 || s.Index > (W-1)/s.Width {
		return image.Rectangle{}, false
	}
	x := s.Index * s.Width
	return image.Rect(x, 0, min(W, x+s.Width), H), true
}

// Apply cuts every frame to the same strip.
func (s *Slice) Apply(ctx context.Context, obj *Object) error {
	img, err := obj.Image(ctx)
	if err != nil {
		return err
	}
	b := img.Bounds()
	win, ok := s.strip(b.Dx(), b.Dy())
	if !ok || win == image.Rect(0, 0, b.Dx(), b.Dy()) && !(s.FirstFrame && img.Animated()) {
		return nil
	}
	obj.SetImage(framesDo(img, s.FirstFrame, func(m image.Image) image.Image {
		return cropRGB(m, win.Add(m.Bounds().Min))
	}))
	return nil
}

// Interface guards.
var (
	_ Action    = (*Slice)(nil)
	_ Validator = (*Slice)(nil)
)
