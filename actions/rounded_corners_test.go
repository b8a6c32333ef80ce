package actions

import (
	"image"
	"image/color"
	"image/draw"
	"os"
	"path/filepath"
	"testing"

	"github.com/disintegration/imaging"
	"github.com/opaprules/opaprules/internal/reftest"
)

func TestRoundedCorners(t *testing.T) {
	green := color.NRGBA{0, 200, 0, 255}
	src := encode(t, "png", solid(100, 60, green))
	for _, r := range []int{10, 30, 500} {
		_, got := run(t, object(src, ""), &RoundedCorners{Radius: r})
		m := got.Frames[0].Image
		if size(got) != image.Pt(100, 60) {
			t.Fatalf("size %v", size(got))
		}
		for _, p := range []image.Point{{0, 0}, {99, 0}, {0, 59}, {99, 59}} {
			if c := nrgbaAt(m, p.X, p.Y); c.A != 0 {
				t.Errorf("r %d: corner %v is %v, want transparent", r, p, c)
			}
		}
		for _, p := range []image.Point{{50, 30}, {50, 0}, {0, 30}} {
			// The edge is antialiased: (0,30) is 99.6% inside at r 30.
			if c := nrgbaAt(m, p.X, p.Y); !near(c, green, 2) {
				t.Errorf("r %d: %v is %v, want opaque green", r, p, c)
			}
		}
	}
	// With the radius capped at 30 (half of 60), the top and bottom edges
	// touch only in the middle.
	_, got := run(t, object(src, ""), &RoundedCorners{Radius: 500})
	if c := nrgbaAt(got.Frames[0].Image, 30, 0); c.A != 255 {
		t.Errorf("(30,0) = %v: the radius was not capped at 30", c)
	}
	if c := nrgbaAt(got.Frames[0].Image, 10, 2); c.A != 0 {
		t.Errorf("(10,2) = %v: want outside the corner circle", c)
	}
}

// An action that draws on a JPEG, or transforms all of it, starts from
// the picture djpeg would show: its chroma interpolated as libjpeg does
// (copyNRGBA, asRGB), not replicated in 2×2 blocks. Away from the rounded corners the PNG that comes out of a
// 4:2:0 JPEG matches djpeg's decode of it; replicated chroma measured
// 27.0 dB here.
func TestDrawingActionsStartFromLibjpegsPicture(t *testing.T) {
	reftest.Tool(t, "djpeg")
	m := photo(240, 160)
	red := image.NewUniform(color.NRGBA{230, 20, 30, 255})
	for x := 9; x < 240; x += 21 {
		draw.Draw(m, image.Rect(x, 0, x+5, 160), red, image.Point{}, draw.Src)
	}
	src := encode(t, "jpeg", m)
	if y, ok := decode(t, src).Frames[0].Image.(*image.YCbCr); !ok || y.SubsampleRatio != image.YCbCrSubsampleRatio420 {
		t.Fatalf("the test needs a 4:2:0 JPEG")
	}
	path := filepath.Join(t.TempDir(), "src.jpg")
	if err := os.WriteFile(path, src, 0o644); err != nil {
		t.Fatal(err)
	}
	want, err := reftest.DecodePNM(reftest.Run(t, "djpeg", "-pnm", path))
	if err != nil {
		t.Fatal(err)
	}
	rc := newAction("rounded_corners").(*RoundedCorners)
	rc.Radius = 8
	_, got := run(t, object(src, ""), rc, newConvert("png"))
	inner := image.Rect(8, 8, 232, 152)
	if p := psnr(imaging.Crop(got.Frames[0].Image, inner), imaging.Crop(want, inner)); p < 50 {
		t.Errorf("rounded_corners: %.2f dB against djpeg away from the corners, want at least 50", p)
	}
	// The whole-picture transforms (asRGB): flip, here.
	fl := newAction("flip").(*Flip)
	fl.Direction = "horizontal"
	_, got = run(t, object(src, ""), fl, newConvert("png"))
	if p := psnr(got.Frames[0].Image, imaging.FlipH(want)); p < 50 {
		t.Errorf("flip: %.2f dB against djpeg's picture flipped, want at least 50", p)
	}
}
