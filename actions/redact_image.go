package actions

import (
	"context"
	"fmt"
	"image"
	"math"

	"github.com/opaprules/opaprules/internal/imageio"
)

// The image mode of redact (redact.go): regions filled, pixelated or
// blurred with the kernels of internal/imageio.

// imageParamsSet names the image-mode parameters given besides regions.
func (r *Redact) imageParamsSet() []string {
	var set []string
	for _, p := range []struct {
		name  string
		given bool
	}{{"fill", r.Fill != ""}, {"color", r.Color.Set}, {"block_size", r.BlockSize != 0}, {"sigma", r.Sigma != 0}} {
		if p.given {
			set = append(set, p.name)
		}
	}
	return set
}

func (r *Redact) checkRegions() error {
	if len(r.Regions) > maxRedactRegions {
		return fmt.Errorf("regions: %d boxes, over the limit of %d", len(r.Regions), maxRedactRegions)
	}
	for i, g := range r.Regions {
		name := fmt.Sprintf("regions[%d]", i)
		for _, v := range []struct {
			field string
			v     float64
		}{{"x", g.X}, {"y", g.Y}, {"width", g.Width}, {"height", g.Height}} {
			if math.IsNaN(v.v) || v.v < 0 {
				return fmt.Errorf("%s.%s: %s is negative", name, v.field, fmtNum(v.v))
			}
			switch g.Unit {
			case "", "px":
				if v.v != math.Trunc(v.v) || v.v > maxRegionPixels {
					return fmt.Errorf("%s.%s: %s is not a whole number of pixels up to %d (for fractions of the image set unit: fraction)", name, v.field, fmtNum(v.v), maxRegionPixels)
				}
			case "fraction":
				if v.v > 1 {
					return fmt.Errorf("%s.%s: %s is above 1 (unit: fraction)", name, v.field, fmtNum(v.v))
				}
			default:
				return fmt.Errorf("%s.unit: %q is not one of px, fraction", name, g.Unit)
			}
		}
		if g.Width == 0 || g.Height == 0 {
			return fmt.Errorf("%s: width and height must be more than 0", name)
		}
		if g.Unit == "fraction" && (g.X >= 1 || g.Y >= 1) {
			return fmt.Errorf("%s: x and y must be below 1 (unit: fraction), or the box is outside the image", name)
		}
	}
	return nil
}

// applyImage redacts the regions on every frame.
func (r *Redact) applyImage(ctx context.Context, obj *Object) error {
	img, err := obj.Image(ctx)
	if err != nil {
		return err
	}
	b := img.Bounds()
	boxes, err := r.boxes(b.Dx(), b.Dy())
	if err != nil {
		return err
	}
	out := *img
	out.Frames = make([]Frame, len(img.Frames))
	for i, fr := range img.Frames {
		if err := ctx.Err(); err != nil {
			return err
		}
		// Decoded frames may be shared with the source: draw on a copy.
		dst := copyNRGBA(fr.Image)
		for _, box := range boxes {
			r.fill(dst, box)
		}
		out.Frames[i] = Frame{Image: dst, Delay: fr.Delay}
	}
	obj.SetImage(&out)
	// Only the colour profile, which says nothing about who or where, may
	// stay: not even a convert before or after this redact can keep EXIF
	// or GPS.
	obj.StripMetadata()
	return nil
}

// boxes converts the regions to pixel rectangles of a w×h image. Fractions
// round outwards, so the box covers at least what was asked. A box reaching
// outside the image is clipped; one wholly outside is an error, since
// serving the picture would leave unredacted what the rule meant to hide.
func (r *Redact) boxes(w, h int) ([]image.Rectangle, error) {
	bounds := image.Rect(0, 0, w, h)
	boxes := make([]image.Rectangle, 0, len(r.Regions))
	for i, g := range r.Regions {
		var box image.Rectangle
		if g.Unit == "fraction" {
			// The epsilon keeps float error (0.3+0.2 = 0.5000000000000001)
			// from widening a box that fits whole pixels.
			const eps = 1e-9
			box = image.Rect(
				int(math.Floor(g.X*float64(w)+eps)), int(math.Floor(g.Y*float64(h)+eps)),
				int(math.Ceil((g.X+g.Width)*float64(w)-eps)), int(math.Ceil((g.Y+g.Height)*float64(h)-eps)))
		} else {
			box = image.Rect(int(g.X), int(g.Y), int(g.X+g.Width), int(g.Y+g.Height))
		}
		box = box.Intersect(bounds)
		if box.Empty() {
			return nil, InvalidArgument("regions[%d] lies outside the %d×%d image", i, w, h)
		}
		boxes = append(boxes, box)
	}
	return boxes, nil
}

func (r *Redact) fill(m *image.NRGBA, box image.Rectangle) {
	short := min(box.Dx(), box.Dy())
	switch r.Fill {
	case "pixelate":
		size := r.BlockSize
		if size == 0 {
			size = max(8, (short+5)/6)
		}
		imageio.PixelateRect(m, box, size)
	case "blur":
		sigma := r.Sigma
		if sigma == 0 {
			sigma = min(maxSigma, max(4, float64(short)/6))
		}
		imageio.BlurRect(m, box, sigma)
	default:
		c := r.Color.NRGBA
		if !r.Color.Set {
			c.A = 255 // black
		}
		imageio.FillRect(m, box, c)
	}
}
