package actions

import (
	"context"
	"fmt"
	"image"

	"github.com/disintegration/imaging"
)

func init() {
	Register(Definition{
		Name:    "adjust",
		Summary: "Adjust colours and detail: brightness, contrast, gamma, saturation, grayscale, blur, sharpen.",
		Doc: "The operations apply in the order brightness, contrast, gamma, saturation, grayscale, " +
			"blur, sharpen, to every frame.",
		Class: Transform,
		New:   func() Action { return &Adjust{Gamma: 1} },
	})
}

// Adjust changes tone and detail. The adjustments apply in a fixed order:
// brightness, contrast, gamma, saturation, grayscale, then blur and sharpen.
type Adjust struct {
	Brightness float64 `yaml:"brightness" min:"-100" max:"100" doc:"percent, -100 (black) to 100 (white); 0 leaves it"`
	Contrast   float64 `yaml:"contrast" min:"-100" max:"100" doc:"percent, -100 (flat gray) to 100; 0 leaves it"`
	Gamma      float64 `yaml:"gamma" min:"0.01" max:"10" doc:"gamma correction; below 1 darkens, above 1 lightens; 1 (default) leaves it"`
	Saturation float64 `yaml:"saturation" min:"-100" max:"400" doc:"percent, -100 (gray) to 400; 0 leaves it"`
	Grayscale  bool    `yaml:"grayscale" doc:"turn the picture gray"`
	Blur       float64 `yaml:"blur" min:"0" max:"100" doc:"Gaussian blur sigma in pixels; 0 leaves it"`
	Sharpen    float64 `yaml:"sharpen" min:"0" max:"100" doc:"unsharp-mask sigma in pixels; 0 leaves it"`
}

// Validate refuses an adjust that would do nothing.
func (a *Adjust) Validate() error {
	if len(a.steps()) == 0 {
		return fmt.Errorf("set at least one of brightness, contrast, gamma, saturation, grayscale, blur, sharpen")
	}
	return nil
}

func (a *Adjust) steps() []func(image.Image) *image.NRGBA {
	var steps []func(image.Image) *image.NRGBA
	add := func(on bool, f func(image.Image) *image.NRGBA) {
		if on {
			steps = append(steps, f)
		}
	}
	add(a.Brightness != 0, func(m image.Image) *image.NRGBA { return imaging.AdjustBrightness(m, a.Brightness) })
	add(a.Contrast != 0, func(m image.Image) *image.NRGBA { return imaging.AdjustContrast(m, a.Contrast) })
	add(a.Gamma != 1 && a.Gamma > 0, func(m image.Image) *image.NRGBA { return imaging.AdjustGamma(m, a.Gamma) })
	add(a.Saturation != 0, func(m image.Image) *image.NRGBA { return imaging.AdjustSaturation(m, a.Saturation) })
	add(a.Grayscale, imaging.Grayscale)
	add(a.Blur > 0, func(m image.Image) *image.NRGBA { return imaging.Blur(m, a.Blur) })
	add(a.Sharpen > 0, func(m image.Image) *image.NRGBA { return imaging.Sharpen(m, a.Sharpen) })
	return steps
}

// Apply adjusts every frame.
func (a *Adjust) Apply(ctx context.Context, obj *Object) error {
	img, err := obj.Image(ctx)
	if err != nil {
		return err
	}
	steps := a.steps()
	if len(steps) == 0 {
		return nil
	}
	var ctxErr error
	obj.SetImage(framesDo(img, false, func(m image.Image) image.Image {
		for _, step := range steps {
			if ctxErr = ctx.Err(); ctxErr != nil {
				return m
			}
			m = step(m)
		}
		return m
	}))
	return ctxErr
}
