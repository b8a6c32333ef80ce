package actions

import (
	"image"
	"os"
	"path/filepath"
	"testing"

	"github.com/disintegration/imaging"

	"github.com/opaprules/opaprules/internal/reftest"
)

// An action that draws on a JPEG, transforms all of it or crops it
// starts from the picture djpeg would show: its chroma interpolated as
// libjpeg does (copyNRGBA, asRGB, cropRGB), not replicated in 2×2 blocks.
// rounded_corners (away from the corners), flip and crop of a 4:2:0 JPEG
// of reftest.ColourEdges match djpeg's decode; replicated chroma measured
// 23.9-24.2 dB here.
func TestDrawingActionsStartFromLibjpegsPicture(t *testing.T) {
	reftest.Tool(t, "djpeg")
	src := encode(t, "jpeg", reftest.ColourEdges(240, 160))
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
	// And a crop (cropRGB), at an odd offset, away from its own edges.
	cr := newAction("crop").(*Crop)
	cr.X, cr.Y, cr.Width, cr.Height = 31, 17, 120, 90
	_, got = run(t, object(src, ""), cr, newConvert("png"))
	box := image.Rect(2, 2, 118, 88)
	if p := psnr(imaging.Crop(got.Frames[0].Image, box), imaging.Crop(want, box.Add(image.Pt(31, 17)))); p < 50 {
		t.Errorf("crop: %.2f dB against djpeg's picture cropped, want at least 50", p)
	}
}
