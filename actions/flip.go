package actions

import (
	"context"
	"fmt"
	"image"

	"github.com/disintegration/imaging"
)

func init() {
	Register(Definition{
		Name:    "flip",
		Summary: "Mirror an image horizontally, vertically or both.",
		Doc:     "Every frame of an animation is flipped.",
		Class:   Transform,
		New:     func() Action { return &Flip{} },
	})
}

// Flip mirrors an image.
type Flip struct {
	Direction string `yaml:"direction" required:"true" enum:"horizontal,vertical,both" doc:"horizontal mirrors left and right, vertical top and bottom"`
}

// Validate catches a templated direction that resolved to nothing.
func (f *Flip) Validate() error {
	if f.Direction == "" {
		return fmt.Errorf("direction: want horizontal, vertical or both")
	}
	return nil
}

// Apply flips every frame.
func (f *Flip) Apply(ctx context.Context, obj *Object) error {
	img, err := obj.Image(ctx)
	if err != nil {
		return err
	}
	var flip func(image.Image) image.Image
	switch f.Direction {
	case "horizontal":
		flip = func(m image.Image) image.Image { return imaging.FlipH(m) }
	case "vertical":
		flip = func(m image.Image) image.Image { return imaging.FlipV(m) }
	default:
		flip = func(m image.Image) image.Image { return imaging.Rotate180(m) }
	}
	obj.SetImage(framesDo(img, false, func(m image.Image) image.Image { return flip(asRGB(m)) }))
	return nil
}

// Interface guards (see docs/adding-an-action.md).
var (
	_ Action    = (*Flip)(nil)
	_ Validator = (*Flip)(nil)
)
