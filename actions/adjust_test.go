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
		{"blur with a radius keeps a flat colour", Adjust{Blur: 2, BlurRadius: 3, Gamma: 1}, func(c color.NRGBA) bool { return near(c, mid, 1) }},
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

// A blur with a radius reaches exactly radius pixels: a single white
// column in black spreads to radius columns on each side and no further,
// symmetric, with the weights of a Gaussian of the given sigma.
func TestAdjustBlurRadius(t *testing.T) {
	m := solid(41, 9, color.NRGBA{0, 0, 0, 255})
	for y := range 9 {
		m.SetNRGBA(20, y, color.NRGBA{255, 255, 255, 255})
	}
	_, got := run(t, object(encode(t, "png", m), ""), &Adjust{Blur: 2, BlurRadius: 3, Gamma: 1})
	f := got.Frames[0]
	row := make([]int, 41)
	for x := range row {
		row[x] = int(nrgbaAt(f, x, 4).R)
	}
	for d := 1; d <= 3; d++ {
		if row[20-d] != row[20+d] || row[20-d] == 0 || row[20-d] >= row[20-d+1] {
			t.Fatalf("not a symmetric falloff at ±%d: %v", d, row[15:26])
		}
	}
	if row[16] != 0 || row[24] != 0 {
		t.Fatalf("the blur reaches past its radius: %v", row[15:26])
	}
	// Gaussian σ=2 truncated at 3: the centre weighs 1/4.627 of the total.
	if c := row[20]; c < 54 || c > 56 {
		t.Fatalf("centre %d, want ≈55", c)
	}
}
