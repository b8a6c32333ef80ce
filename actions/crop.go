package actions

import (
	"context"
	"fmt"
	"image"
	"net/http"
)

func init() {
	Register(Definition{
		Name:    "crop",
		Summary: "Cut out a box (x, y, width, height) or a width×height window placed by gravity (smart: the most detailed part).",
		Doc: "Either a box (`x`, `y`, `width`, `height` in pixels, clamped to the image; 0 reaches " +
			"the edge) or a `width`×`height` window placed by `gravity`: one of the nine compass " +
			"names, or `smart`, the window with the most edge energy. With `gravity`, `x` and `y` " +
			"move the window right and down from where gravity puts it, and the part past the " +
			"image's edge is cut off (OSS IMG's crop with `g`). A window that starts outside the " +
			"image, or an empty result, is a 400.",
		Class: Transform,
		New:   func() Action { return &Crop{} },
	})
}

// Crop cuts out part of an image. Without gravity the window is the box at
// x, y (a box reaching outside the image is clamped to it); with gravity it
// is a width×height window placed by gravity, clamped to the image size,
// then moved by x, y and clipped to the image. A width or height of 0
// reaches the image's edge.
type Crop struct {
	X          int    `yaml:"x" min:"0" doc:"left edge of the box, in pixels; with gravity, how far to move the window right"`
	Y          int    `yaml:"y" min:"0" doc:"top edge of the box, in pixels; with gravity, how far to move the window down"`
	Width      int    `yaml:"width" min:"0" doc:"width of the window; 0 or absent reaches the right edge"`
	Height     int    `yaml:"height" min:"0" doc:"height of the window; 0 or absent reaches the bottom edge"`
	Gravity    string `yaml:"gravity" enum:"center,north,south,east,west,north_east,north_west,south_east,south_west,smart" doc:"place a width×height window instead of a box; smart picks the part with the most detail"`
	FirstFrame bool   `yaml:"first_frame" doc:"keep only the first frame of an animation (default: crop every frame)"`
}

// Validate refuses parameters that crop nothing.
func (c *Crop) Validate() error {
	if c.Gravity != "" {
		if c.Width == 0 && c.Height == 0 && c.X == 0 && c.Y == 0 {
			return fmt.Errorf("gravity needs width, height, x or y")
		}
		return nil
	}
	if c.X == 0 && c.Y == 0 && c.Width == 0 && c.Height == 0 {
		return fmt.Errorf("set a box (x, y, width, height) or width/height with gravity")
	}
	return nil
}

// window returns the part of a W×H image to keep, or an empty rectangle,
// and where the window starts (outside the image when it is empty for
// that reason).
func (c *Crop) window(m image.Image) (win image.Rectangle, start image.Point) {
	b := m.Bounds()
	W, H := b.Dx(), b.Dy()
	w, h := c.Width, c.Height
	whole := image.Rect(0, 0, W, H)
	if c.Gravity == "" {
		if w == 0 {
			w = W
		}
		if h == 0 {
			h = H
		}
		start = image.Pt(c.X, c.Y)
		return image.Rectangle{Min: start, Max: start.Add(image.Pt(w, h))}.Intersect(whole), start
	}
	if w == 0 || w > W {
		w = W
	}
	if h == 0 || h > H {
		h = H
	}
	var at image.Point
	if c.Gravity == gravitySmart {
		at = smartAnchor(m, w, h)
	} else {
		at = anchor(c.Gravity, W, H, w, h)
	}
	start = at.Add(image.Pt(c.X, c.Y))
	return image.Rectangle{Min: start, Max: start.Add(image.Pt(w, h))}.Intersect(whole), start
}

// Apply crops every frame (or the first only) to the same window.
func (c *Crop) Apply(ctx context.Context, obj *Object) error {
	img, err := obj.Image(ctx)
	if err != nil {
		return err
	}
	b := img.Bounds()
	win, start := c.window(img.Frames[0].Image)
	if start.X >= b.Dx() || start.Y >= b.Dy() {
		return Errorf(http.StatusBadRequest, CodeInvalidArgument,
			"crop: the window starts at (%d, %d), outside the %d×%d image", start.X, start.Y, b.Dx(), b.Dy())
	}
	if win.Empty() {
		return Errorf(http.StatusBadRequest, CodeInvalidArgument,
			"crop: the box (x %d, y %d, width %d, height %d) lies outside the %d×%d image", c.X, c.Y, c.Width, c.Height, b.Dx(), b.Dy())
	}
	if win == image.Rect(0, 0, b.Dx(), b.Dy()) && !(c.FirstFrame && img.Animated()) {
		return nil
	}
	obj.SetImage(framesDo(img, c.FirstFrame, func(m image.Image) image.Image {
		return cropRGB(m, win.Add(m.Bounds().Min))
	}))
	return nil
}

// Interface guards (see docs/adding-an-action.md).
var (
	_ Action    = (*Crop)(nil)
	_ Validator = (*Crop)(nil)
)
