package actions

import (
	"fmt"
	"image/color"
	"testing"
)

// The mean of a half-red, half-blue picture is their average; JPEG decodes
// at 1/8 for it and lands within JPEG's own error.
func TestAverageHue(t *testing.T) {
	m := solid(256, 128, color.NRGBA{200, 0, 0, 255})
	for y := range 128 {
		for x := 128; x < 256; x++ {
			m.SetNRGBA(x, y, color.NRGBA{0, 0, 200, 255})
		}
	}
	for _, format := range []string{"png", "jpeg"} {
		obj := object(encode(t, format, m), "")
		doc, ct := runJSON(t, obj, &AverageHue{})
		if ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
		rgb, _ := doc["RGB"].(string)
		var r, g, b int
		if _, err := sscanHex(rgb, &r, &g, &b); err != nil {
			t.Fatalf("%s: RGB %q: %v", format, rgb, err)
		}
		tol := 0
		if format == "jpeg" {
			tol = 4
		}
		if abs(r-100) > tol || abs(g) > tol || abs(b-100) > tol {
			t.Errorf("%s: %s, want 0x640064", format, rgb)
		}
	}
	// Transparent pixels lend no colour.
	half := solid(10, 10, color.NRGBA{0, 255, 0, 0})
	for x := range 5 {
		for y := range 10 {
			half.SetNRGBA(x, y, color.NRGBA{10, 20, 30, 255})
		}
	}
	doc, _ := runJSON(t, object(encode(t, "png", half), ""), &AverageHue{})
	if doc["RGB"] != "0x0a141e" {
		t.Errorf("alpha-weighted mean %v, want 0x0a141e", doc["RGB"])
	}
}

func sscanHex(s string, r, g, b *int) (int, error) {
	var v int
	n, err := fmt.Sscanf(s, "0x%06x", &v)
	*r, *g, *b = v>>16, v>>8&0xff, v&0xff
	return n, err
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
