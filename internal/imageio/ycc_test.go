package imageio

import (
	"image/color"
	"testing"
)

// TestYCCToRGBAExact: every one of the 2^24 inputs converts as
// color.YCbCrToRGB converts it.
func TestYCCToRGBAExact(t *testing.T) {
	y := make([]byte, 256*256)
	cb := make([]byte, len(y))
	cr := make([]byte, len(y))
	dst := make([]byte, 4*len(y))
	for yv := range 256 {
		for i := range y {
			y[i], cb[i], cr[i] = byte(yv), byte(i>>8), byte(i)
		}
		yccToRGBA(dst[4:], y[1:], cb[1:], cr[1:]) // an odd count: the vector kernel and the tail
		yccToRGBA(dst[:4], y[:1], cb[:1], cr[:1])
		for i := range y {
			r, g, b := color.YCbCrToRGB(y[i], cb[i], cr[i])
			if d := dst[4*i : 4*i+4]; d[0] != r || d[1] != g || d[2] != b || d[3] != 255 {
				t.Fatalf("Y=%d Cb=%d Cr=%d: got %v, want %d %d %d 255", y[i], cb[i], cr[i], d, r, g, b)
			}
		}
	}
}

func BenchmarkYCCToRGBA(b *testing.B) {
	const n = 800 * 600
	y, cb, cr := make([]byte, n), make([]byte, n), make([]byte, n)
	for i := range n {
		y[i], cb[i], cr[i] = byte(i*7), byte(i*13), byte(i*29)
	}
	dst := make([]byte, 4*n)
	b.Run("yccToRGBA", func(b *testing.B) {
		for b.Loop() {
			yccToRGBA(dst, y, cb, cr)
		}
	})
	b.Run("scalar", func(b *testing.B) {
		for b.Loop() {
			yccScalar(dst, y, cb, cr)
		}
	})
	b.Run("color.YCbCrToRGB", func(b *testing.B) {
		for b.Loop() {
			for i := range n {
				r, g, bl := color.YCbCrToRGB(y[i], cb[i], cr[i])
				d := dst[4*i : 4*i+4 : 4*i+4]
				d[0], d[1], d[2], d[3] = r, g, bl, 255
			}
		}
	})
}
