package actions

import (
	"image/color"
	"testing"
)

func TestAdjust(t *testing.T) {
	mid := color.NRGBA{100, 150, 200, 255}
	src := encode(t, "png", solid(40, 40, mid))
	for _, tc := range []struct {
		name  string
		adj   Adjust
		check func(c color.NRGBA) bool
	}{
		{"brightness up", Adjust{Brightness: 30, Gamma: 1}, func(c color.NRGBA) bool { return c.R > mid.R && c.G > mid.G }},
		{"brightness down", Adjust{Brightness: -30, Gamma: 1}, func(c color.NRGBA) bool { return c.R < mid.R && c.B < mid.B }},
		{"contrast down", Adjust{Contrast: -80, Gamma: 1}, func(c color.NRGBA) bool { return c.B < mid.B && c.R > mid.R }},
		{"gamma", Adjust{Gamma: 2}, func(c color.NRGBA) bool { return c.R > mid.R }},
		{"grayscale", Adjust{Grayscale: true, Gamma: 1}, func(c color.NRGBA) bool { return c.R == c.G && c.G == c.B }},
		{"desaturate", Adjust{Saturation: -100, Gamma: 1}, func(c color.NRGBA) bool { return c.R == c.G && c.G == c.B }},
		{"blur keeps a flat colour", Adjust{Blur: 2, Gamma: 1}, func(c color.NRGBA) bool { return near(c, mid, 1) }},
		{"sharpen keeps a flat colour", Adjust{Sharpen: 2, Gamma: 1}, func(c color.NRGBA) bool { return near(c, mid, 1) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.adj.Validate(); err != nil {
				t.Fatal(err)
			}
			_, got := run(t, object(src, ""), &tc.adj)
			if c := nrgbaAt(got.Frames[0], 20, 20); !tc.check(c) {
				t.Fatalf("%v became %v", mid, c)
			}
		})
	}
	if err := (&Adjust{Gamma: 1}).Validate(); err == nil {
		t.Fatal("an adjust that does nothing validated")
	}
}

// Blur softens an edge and sharpen steepens it.
func TestAdjustBlurSharpenEdges(t *testing.T) {
	m := solid(40, 40, color.NRGBA{50, 50, 50, 255})
	for y := range 40 {
		for x := 20; x < 40; x++ {
			m.SetNRGBA(x, y, color.NRGBA{200, 200, 200, 255})
		}
	}
	src := encode(t, "png", m)
	_, blurred := run(t, object(src, ""), &Adjust{Blur: 2, Gamma: 1})
	if c := nrgbaAt(blurred.Frames[0], 19, 20); c.R <= 50 {
		t.Fatalf("blur left the edge at %v", c)
	}
	_, sharp := run(t, object(src, ""), &Adjust{Sharpen: 2, Gamma: 1})
	if c := nrgbaAt(sharp.Frames[0], 19, 20); c.R >= 50 {
		t.Fatalf("sharpen did not deepen the dark side of the edge: %v", c)
	}
}
