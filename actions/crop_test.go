package actions

import (
	"image"
	"image/color"
	"net/http"
	"testing"
)

func TestCropGeometry(t *testing.T) {
	src := encode(t, "bmp", photo(400, 300)) // lossless and quick
	for _, tc := range []struct {
		name string
		crop Crop
		want image.Rectangle // in source coordinates
	}{
		{"box", Crop{X: 10, Y: 20, Width: 100, Height: 50}, image.Rect(10, 20, 110, 70)},
		{"box to the edges", Crop{X: 300, Y: 250}, image.Rect(300, 250, 400, 300)},
		{"box clamped", Crop{X: 350, Y: 280, Width: 100, Height: 100}, image.Rect(350, 280, 400, 300)},
		{"center", Crop{Width: 100, Height: 100, Gravity: "center"}, image.Rect(150, 100, 250, 200)},
		{"north", Crop{Width: 100, Height: 100, Gravity: "north"}, image.Rect(150, 0, 250, 100)},
		{"south", Crop{Width: 100, Height: 100, Gravity: "south"}, image.Rect(150, 200, 250, 300)},
		{"east", Crop{Width: 100, Height: 100, Gravity: "east"}, image.Rect(300, 100, 400, 200)},
		{"west", Crop{Width: 100, Height: 100, Gravity: "west"}, image.Rect(0, 100, 100, 200)},
		{"north_east", Crop{Width: 100, Height: 100, Gravity: "north_east"}, image.Rect(300, 0, 400, 100)},
		{"north_west", Crop{Width: 100, Height: 100, Gravity: "north_west"}, image.Rect(0, 0, 100, 100)},
		{"south_east", Crop{Width: 100, Height: 100, Gravity: "south_east"}, image.Rect(300, 200, 400, 300)},
		{"south_west", Crop{Width: 100, Height: 100, Gravity: "south_west"}, image.Rect(0, 200, 100, 300)},
		{"window larger than the image", Crop{Width: 1000, Height: 100, Gravity: "center"}, image.Rect(0, 100, 400, 200)},
		{"width only", Crop{Width: 100, Gravity: "east"}, image.Rect(300, 0, 400, 300)},
		// With gravity, x and y move the window and the overflow is cut
		// off, as OSS IMG's crop with g does.
		{"south_east moved", Crop{Width: 100, Height: 100, Gravity: "south_east", X: 50, Y: 20}, image.Rect(350, 220, 400, 300)},
		{"north_west moved", Crop{Width: 100, Height: 100, Gravity: "north_west", X: 50, Y: 20}, image.Rect(50, 20, 150, 120)},
		{"center moved, no size", Crop{Gravity: "center", X: 100}, image.Rect(100, 0, 400, 300)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.crop.Validate(); err != nil {
				t.Fatal(err)
			}
			_, got := run(t, object(src, ""), &tc.crop)
			if size(got) != tc.want.Size() {
				t.Fatalf("size %v, want %v", size(got), tc.want.Size())
			}
			// BMP is lossless: the pixels are the source's at the window.
			ref := photo(400, 300).SubImage(tc.want)
			if p := psnr(got.Frames[0], ref); p < 60 {
				t.Fatalf("cropped pixels differ from the source window (PSNR %.1f dB)", p)
			}
		})
	}
}

func TestCropOutsideIs400(t *testing.T) {
	for _, c := range []Crop{
		{X: 200, Y: 0, Width: 10, Height: 10},
		{X: 100, Width: 10},
		{Gravity: "south_east", Width: 10, Height: 10, X: 10},
	} {
		err := applyErr(object(encode(t, "png", photo(100, 100)), ""), &c)
		wantCode(t, err, http.StatusBadRequest, CodeInvalidArgument)
	}
}

func TestCropValidate(t *testing.T) {
	for _, c := range []Crop{{}, {Gravity: "center"}} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v validated", c)
		}
	}
}

// Smart crop keeps the detailed part: a flat grey picture with a patch of
// fine detail near its right edge.
func TestCropSmartFindsDetail(t *testing.T) {
	m := solid(600, 200, color.NRGBA{120, 120, 120, 255})
	for y := 50; y < 150; y++ {
		for x := 450; x < 550; x++ {
			if (x/3+y/3)%2 == 0 {
				m.SetNRGBA(x, y, color.NRGBA{250, 250, 250, 255})
			}
		}
	}
	_, got := run(t, object(encode(t, "png", m), ""), &Crop{Width: 200, Height: 200, Gravity: "smart"})
	at := smartAnchor(m, 200, 200)
	if at.X < 350 || at.X > 450 {
		t.Fatalf("smart window starts at x=%d, want it over the detail (350..450)", at.X)
	}
	if size(got) != image.Pt(200, 200) {
		t.Fatalf("size %v", size(got))
	}
	// A flat picture crops like center.
	if at := smartAnchor(solid(600, 200, color.NRGBA{9, 9, 9, 255}), 200, 200); at != image.Pt(200, 0) {
		t.Fatalf("flat picture: smart window at %v, want the centre (200,0)", at)
	}
}
