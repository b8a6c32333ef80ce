package actions

import (
	"context"
	"fmt"
	"image"
	"math"

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
	BlurRadius int     `yaml:"blur_radius" min:"0" max:"100" doc:"how far the blur reaches, in pixels; 0 (default) reaches 3 sigmas (OSS IMG's blur r, with s the sigma)"`
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
	add(a.Blur > 0 && a.BlurRadius == 0, func(m image.Image) *image.NRGBA { return imaging.Blur(m, a.Blur) })
	add(a.Blur > 0 && a.BlurRadius > 0, func(m image.Image) *image.NRGBA { return gaussianBlur(m, a.BlurRadius, a.Blur) })
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
		m = asRGB(m)
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

// gaussianBlur blurs m with a Gaussian of the given sigma truncated at
// radius pixels, in two separable passes over premultiplied colour (so
// transparent pixels lend no colour to their neighbours), edges extended.
func gaussianBlur(m image.Image, radius int, sigma float64) *image.NRGBA {
	src := copyNRGBA(m)
	w, h := src.Rect.Dx(), src.Rect.Dy()
	// Fixed-point weights summing to 1<<14.
	const one = 1 << 14
	k := make([]int32, 2*radius+1)
	var total float64
	ws := make([]float64, len(k))
	for i := range ws {
		d := float64(i - radius)
		ws[i] = math.Exp(-d * d / (2 * sigma * sigma))
		total += ws[i]
	}
	var sum int32
	for i := range k {
		k[i] = int32(math.Round(ws[i] / total * one))
		sum += k[i]
	}
	k[radius] += one - sum
	premul := make([]uint8, len(src.Pix))
	for i := 0; i < len(src.Pix); i += 4 {
		a := uint32(src.Pix[i+3])
		premul[i] = uint8((uint32(src.Pix[i])*a + 127) / 255)
		premul[i+1] = uint8((uint32(src.Pix[i+1])*a + 127) / 255)
		premul[i+2] = uint8((uint32(src.Pix[i+2])*a + 127) / 255)
		premul[i+3] = uint8(a)
	}
	pass := func(dst, in []uint8, n, lines, step, stride int) {
		for l := range lines {
			base := l * stride
			for p := range n {
				var acc [4]int32
				for j, kw := range k {
					q := clampInt(p+j-radius, 0, n-1)
					o := base + q*step
					acc[0] += kw * int32(in[o])
					acc[1] += kw * int32(in[o+1])
					acc[2] += kw * int32(in[o+2])
					acc[3] += kw * int32(in[o+3])
				}
				o := base + p*step
				for c := range 4 {
					dst[o+c] = uint8(max(0, min(255, (acc[c]+one/2)>>14)))
				}
			}
		}
	}
	tmp := make([]uint8, len(premul))
	pass(tmp, premul, w, h, 4, src.Stride) // along rows
	pass(premul, tmp, h, w, src.Stride, 4) // along columns
	out := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(premul); i += 4 {
		a := uint32(premul[i+3])
		out.Pix[i+3] = uint8(a)
		if a == 0 {
			continue
		}
		for c := range 3 {
			out.Pix[i+c] = uint8(min(255, (uint32(premul[i+c])*255+a/2)/a))
		}
	}
	return out
}

// Interface guards (see docs/adding-an-action.md).
var (
	_ Action    = (*Adjust)(nil)
	_ Validator = (*Adjust)(nil)
)
