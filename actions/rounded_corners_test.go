package actions

import (
	"image"
	"image/color"
	"testing"
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
