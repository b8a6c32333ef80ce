package actions

import (
	"image"
	"math"
	"testing"
)

func TestSlice(t *testing.T) {
	src := encode(t, "bmp", photo(250, 120))
	for _, tc := range []struct {
		slice Slice
		want  image.Rectangle
	}{
		{Slice{Width: 100}, image.Rect(0, 0, 100, 120)},
		{Slice{Width: 100, Index: 1}, image.Rect(100, 0, 200, 120)},
		{Slice{Width: 100, Index: 2}, image.Rect(200, 0, 250, 120)},
		{Slice{Width: 100, Index: 3}, image.Rect(0, 0, 250, 120)}, // past the end: unchanged
		{Slice{Height: 50, Index: 2}, image.Rect(0, 100, 250, 120)},
		{Slice{Width: 10, Height: 50, Index: 1}, image.Rect(0, 50, 250, 100)}, // height wins
		{Slice{Width: 100, Index: math.MaxInt}, image.Rect(0, 0, 250, 120)},
	} {
		_, got := run(t, object(src, ""), &tc.slice)
		if size(got) != tc.want.Size() {
			t.Fatalf("%+v: size %v, want %v", tc.slice, size(got), tc.want.Size())
		}
		if p := psnr(got.Frames[0], photo(250, 120).SubImage(tc.want)); p < 60 {
			t.Fatalf("%+v: not the strip %v (%.1f dB)", tc.slice, tc.want, p)
		}
	}
	if err := (&Slice{}).Validate(); err == nil {
		t.Fatal("a slice without a size validated")
	}
}
