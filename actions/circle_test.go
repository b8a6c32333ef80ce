package actions

import (
	"image"
	"image/color"
	"testing"
)

// OSS IMG's circle: the (2r+1)² square around the centre, transparent
// outside the circle; a radius too large for the image becomes
// (shorter side − 1)/2.
func TestCircle(t *testing.T) {
	red := color.NRGBA{255, 0, 0, 255}
	src := encode(t, "png", solid(200, 100, red))
	for _, tc := range []struct {
		radius int
		want   int
	}{{10, 21}, {49, 99}, {50, 99}, {100, 99}, {4096, 99}} {
		_, got := run(t, object(src, ""), &Circle{Radius: tc.radius})
		if size(got) != image.Pt(tc.want, tc.want) {
			t.Fatalf("radius %d: size %v, want %d²", tc.radius, size(got), tc.want)
		}
		m := got.Frames[0].Image
		c := tc.want / 2
		if p := nrgbaAt(m, c, c); p != red {
			t.Errorf("radius %d: centre %v", tc.radius, p)
		}
		if p := nrgbaAt(m, 0, 0); p.A != 0 {
			t.Errorf("radius %d: corner %v, want transparent", tc.radius, p)
		}
		if p := nrgbaAt(m, 0, c); p.A < 100 || p.A > 155 {
			t.Errorf("radius %d: the edge pixel (0,%d) has alpha %d, want about half", tc.radius, c, p.A)
		}
	}
}

// JPEG has no transparency: the corners show convert's background, white.
func TestCircleJPEGCornersWhite(t *testing.T) {
	_, got := run(t, object(encode(t, "jpeg", solid(64, 64, color.NRGBA{0, 0, 200, 255})), ""), &Circle{Radius: 30})
	if got.Format != "jpeg" || size(got) != image.Pt(61, 61) {
		t.Fatalf("%s %v", got.Format, size(got))
	}
	if c := nrgbaAt(got.Frames[0], 1, 1); !near(c, color.NRGBA{255, 255, 255, 255}, 6) {
		t.Fatalf("corner %v, want white", c)
	}
	if c := nrgbaAt(got.Frames[0], 30, 30); !near(c, color.NRGBA{0, 0, 200, 255}, 6) {
		t.Fatalf("centre %v", c)
	}
}
