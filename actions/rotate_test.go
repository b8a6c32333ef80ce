package actions

import (
	"image"
	"image/color"
	"testing"

	"github.com/opaprules/opaprules/internal/imageio"
)

// quadrants is a 64×32 picture whose four quadrants have distinct colours,
// so any turn or mirror shows.
func quadrants() *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, 64, 32))
	cols := [4]color.NRGBA{{255, 0, 0, 255}, {0, 255, 0, 255}, {0, 0, 255, 255}, {255, 255, 0, 255}}
	for y := range 32 {
		for x := range 64 {
			m.SetNRGBA(x, y, cols[(y/16)*2+x/32])
		}
	}
	return m
}

// corners reads the colours at the four corners (inset, to stay clear of
// JPEG edge effects): top-left, top-right, bottom-left, bottom-right.
func corners(m image.Image) [4]color.NRGBA {
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	return [4]color.NRGBA{nrgbaAt(m, 4, 4), nrgbaAt(m, w-5, 4), nrgbaAt(m, 4, h-5), nrgbaAt(m, w-5, h-5)}
}

func sameCorners(a, b [4]color.NRGBA, tol int) bool {
	for i := range a {
		if !near(a[i], b[i], tol) {
			return false
		}
	}
	return true
}

var (
	red    = color.NRGBA{255, 0, 0, 255}
	green  = color.NRGBA{0, 255, 0, 255}
	blue   = color.NRGBA{0, 0, 255, 255}
	yellow = color.NRGBA{255, 255, 0, 255}
)

func TestRotateAndFlip(t *testing.T) {
	src := encode(t, "png", quadrants())
	for _, tc := range []struct {
		name string
		act  Action
		size image.Point
		want [4]color.NRGBA // TL, TR, BL, BR
	}{
		{"rotate 90", &Rotate{Angle: 90, AutoOrient: true}, image.Pt(32, 64), [4]color.NRGBA{blue, red, yellow, green}},
		{"rotate -270", &Rotate{Angle: -270, AutoOrient: true}, image.Pt(32, 64), [4]color.NRGBA{blue, red, yellow, green}},
		{"rotate 180", &Rotate{Angle: 180, AutoOrient: true}, image.Pt(64, 32), [4]color.NRGBA{yellow, blue, green, red}},
		{"rotate 270", &Rotate{Angle: 270, AutoOrient: true}, image.Pt(32, 64), [4]color.NRGBA{green, yellow, red, blue}},
		{"flip horizontal", &Flip{Direction: "horizontal"}, image.Pt(64, 32), [4]color.NRGBA{green, red, yellow, blue}},
		{"flip vertical", &Flip{Direction: "vertical"}, image.Pt(64, 32), [4]color.NRGBA{blue, yellow, red, green}},
		{"flip both", &Flip{Direction: "both"}, image.Pt(64, 32), [4]color.NRGBA{yellow, blue, green, red}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, got := run(t, object(src, ""), tc.act)
			if size(got) != tc.size {
				t.Fatalf("size %v, want %v", size(got), tc.size)
			}
			if c := corners(got.Frames[0]); !sameCorners(c, tc.want, 0) {
				t.Fatalf("corners %v, want %v", c, tc.want)
			}
		})
	}
}

func TestRotateArbitraryAngle(t *testing.T) {
	src := encode(t, "png", solid(100, 50, red))
	bg := Color{NRGBA: color.NRGBA{0, 0, 255, 255}, Set: true}
	_, got := run(t, object(src, ""), &Rotate{Angle: 45, Background: bg, AutoOrient: true})
	w, h := rotatedSize(100, 50, 45) // the estimate the limit check uses
	if s := size(got); s.X < w-1 || s.X > w || s.Y < h-1 || s.Y > h {
		t.Fatalf("size %v, want about %dx%d", s, w, h)
	}
	w, h = size(got).X, size(got).Y
	m := got.Frames[0]
	if c := nrgbaAt(m, 1, 1); !near(c, blue, 0) {
		t.Fatalf("corner is %v, want the background", c)
	}
	if c := nrgbaAt(m, w/2, h/2); !near(c, red, 0) {
		t.Fatalf("centre is %v, want the picture", c)
	}
}

// inverse[o] is the orientation whose transform undoes o's.
var inverse = [9]int{0, 1, 2, 3, 4, 5, 8, 7, 6}

// exifJPEG stores upright as a JPEG whose pixels need EXIF orientation o
// to show upright.
func exifJPEG(t *testing.T, upright image.Image, o int) []byte {
	stored := imageio.Orient(upright, inverse[o])
	return encodeWith(t, &Image{Frames: []Frame{{Image: stored}}, Format: "jpeg"}, imageio.EncodeOptions{
		Format: "jpeg", Quality: 95, Metadata: imageio.Metadata{EXIF: imageio.MinimalEXIF(nil, o, false)},
	})
}

func TestAutoOrientAllEight(t *testing.T) {
	want := corners(quadrants())
	for o := 1; o <= 8; o++ {
		src := exifJPEG(t, quadrants(), o)
		cfg, err := imageio.DecodeConfig(src)
		if err != nil || cfg.Orientation != o {
			t.Fatalf("orientation %d: header says %d (%v)", o, cfg.Orientation, err)
		}
		// Any image action decodes upright; flip twice is a pixel no-op.
		out, got := run(t, object(src, ""), &Flip{Direction: "both"}, &Flip{Direction: "both"})
		if size(got) != image.Pt(64, 32) {
			t.Fatalf("orientation %d: size %v, want 64x32", o, size(got))
		}
		if c := corners(got.Frames[0]); !sameCorners(c, want, 12) {
			t.Fatalf("orientation %d: corners %v, want %v", o, c, want)
		}
		// The output is upright: it must not carry the orientation again.
		if oc, _ := imageio.DecodeConfig(out); oc.Orientation != 1 {
			t.Fatalf("orientation %d: output still says orientation %d", o, oc.Orientation)
		}
	}
}

func TestAutoOrientOff(t *testing.T) {
	src := exifJPEG(t, quadrants(), 6)
	out, got := run(t, object(src, ""), &Rotate{AutoOrient: false}, &Resize{Width: 16, Mode: "fit", Filter: "lanczos"})
	// Stored pixels are 32×64 (they need a quarter turn to show upright).
	if size(got) != image.Pt(16, 32) {
		t.Fatalf("size %v, want the stored shape 16x32", size(got))
	}
	if cfg, _ := imageio.DecodeConfig(out); cfg.Orientation != 6 {
		t.Fatalf("output orientation %d, want 6 kept so viewers still turn it", cfg.Orientation)
	}
	// After another image action has decoded upright, it is too late.
	err := applyErr(object(src, ""), &Flip{Direction: "both"}, &Rotate{AutoOrient: false})
	if e, ok := AsError(err); !ok || e.Code != CodeInvalidArgument {
		t.Fatalf("late auto_orient: false: %v", err)
	}
}
