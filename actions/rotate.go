package actions

import (
	"context"
	"image"
	"math"
	"net/http"

	"github.com/disintegration/imaging"
)

func init() {
	Register(Definition{
		Name:    "rotate",
		Summary: "Rotate an image clockwise (90, 180, 270 exactly; other angles fill the corners with background); auto_orient: false keeps EXIF-rotated pixels as stored.",
		Doc: "Multiples of 90 are exact; other angles grow the canvas and fill the corners with " +
			"`background`. `auto_orient` (default true) applies the EXIF orientation on decode; " +
			"`auto_orient: false` must come before any other image action.",
		Class: Transform,
		New:   func() Action { return &Rotate{AutoOrient: true} },
	})
}

// Rotate turns an image clockwise. Right angles move pixels exactly; any
// other angle grows the canvas to hold the turned picture and fills the
// corners with background.
//
// Images are turned upright by their EXIF orientation when decoded. To
// keep the pixels as stored (and the orientation tag in the output),
// rotate with auto_orient: false must be the plan's first image action,
// because the first image action decodes.
type Rotate struct {
	Angle      float64 `yaml:"angle" min:"-360" max:"360" doc:"degrees clockwise"`
	Background Color   `yaml:"background" doc:"colour of the corners uncovered by angles other than multiples of 90 (default transparent; JPEG flattens it onto convert's background)"`
	AutoOrient bool    `yaml:"auto_orient" doc:"turn images upright by their EXIF orientation on decode (default true); false must come before any other image action"`
}

// Apply rotates every frame.
func (r *Rotate) Apply(ctx context.Context, obj *Object) error {
	img, err := obj.decodeImage(ctx, decodeOptions{keepOrientation: !r.AutoOrient})
	if err != nil {
		return err
	}
	if !r.AutoOrient && img.Orientation == 1 && obj.img.cfg.Orientation != 1 {
		return Errorf(http.StatusBadRequest, CodeInvalidArgument,
			"rotate: auto_orient: false comes after another image action, which already turned the picture upright; make it the first image action")
	}
	angle := math.Mod(r.Angle, 360)
	if angle < 0 {
		angle += 360
	}
	if angle == 0 {
		return nil
	}
	var turn func(image.Image) image.Image
	// imaging turns counter-clockwise; this action turns clockwise.
	switch angle {
	case 90:
		turn = func(m image.Image) image.Image { return imaging.Rotate270(m) }
	case 180:
		turn = func(m image.Image) image.Image { return imaging.Rotate180(m) }
	case 270:
		turn = func(m image.Image) image.Image { return imaging.Rotate90(m) }
	default:
		b := img.Bounds()
		w, h := rotatedSize(b.Dx(), b.Dy(), angle)
		if err := obj.checkOutputSize(w, h); err != nil {
			return err
		}
		turn = func(m image.Image) image.Image { return imaging.Rotate(m, -angle, r.Background.NRGBA) }
	}
	obj.SetImage(framesDo(img, false, func(m image.Image) image.Image { return turn(asRGB(m)) }))
	return nil
}

// rotatedSize is the canvas that holds a w×h picture turned by angle degrees.
func rotatedSize(w, h int, angle float64) (int, int) {
	rad := angle * math.Pi / 180
	s, c := math.Abs(math.Sin(rad)), math.Abs(math.Cos(rad))
	fw, fh := float64(w), float64(h)
	return int(math.Ceil(fw*c + fh*s)), int(math.Ceil(fw*s + fh*c))
}

// Interface guards (see docs/adding-an-action.md).
var (
	_ Action = (*Rotate)(nil)
)
