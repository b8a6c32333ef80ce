package imageio

import (
	"bytes"
	"fmt"
	"image"
	"math/rand/v2"
	"testing"

	"github.com/disintegration/imaging"
)

// withScalar runs f with the vector kernel switched off.
func withScalar(f func()) {
	saved := haveVsum
	haveVsum = false
	defer func() { haveVsum = saved }()
	f()
}

// TestVsumMatchesScalar: the AVX2 kernel and the scalar loop give the
// same bytes for any weights the taps can hold, including sums that
// saturate below 0 and above 255, and widths that leave a tail.
func TestVsumMatchesScalar(t *testing.T) {
	if !haveVsum {
		t.Skip("no AVX2 on this machine")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{16, 17, 31, 32, 100, 803} {
		for _, pairs := range []int{1, 2, 7, 12} {
			stride := n + rng.IntN(9)
			src := make([]uint8, 2*pairs*stride+n)
			for i := range src {
				src[i] = uint8(rng.IntN(256))
			}
			w := make([]uint32, pairs)
			for k := range w {
				a, b := int16(rng.IntN(1<<15)-1<<14), int16(rng.IntN(1<<15)-1<<14)
				w[k] = uint32(uint16(a)) | uint32(uint16(b))<<16
			}
			got, want := make([]uint8, n), make([]uint8, n)
			vsum(got, src, stride, w)
			vsumScalar(want, src, stride, w)
			if !bytes.Equal(got, want) {
				t.Fatalf("n=%d pairs=%d: kernel and scalar loop differ", n, pairs)
			}
		}
	}
}

// TestResampleSIMDMatchesScalar: ResampleOpaque gives the same pixels
// through the vector passes as through resamplePlane's own loops, for the
// planes a JPEG decodes to and for RGBA, shrinking and enlarging, with
// fractional extents and every filter.
func TestResampleSIMDMatchesScalar(t *testing.T) {
	if !haveVsum {
		t.Skip("no AVX2 on this machine")
	}
	src := photoLike(211, 147)
	var ins []image.Image
	for _, r := range []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio411} {
		m := image.NewYCbCr(src.Rect, r)
		for i := range m.Y {
			m.Y[i] = src.Pix[4*i%len(src.Pix)]
		}
		for i := range m.Cb {
			m.Cb[i], m.Cr[i] = src.Pix[(4*i+1)%len(src.Pix)], src.Pix[(4*i+2)%len(src.Pix)]
		}
		ins = append(ins, m)
	}
	g := image.NewGray(src.Rect)
	for i := range g.Pix {
		g.Pix[i] = src.Pix[4*i]
	}
	ins = append(ins, g, src)
	for _, m := range ins {
		for _, sz := range []struct {
			w, h int
			ext  Rect
		}{
			{50, 33, Rect{0, 0, 211, 147}},
			{37, 100, Rect{0.4, 0, 210.6, 146.25}},
			{211, 147, Rect{0, 0, 211, 147}},
			{300, 250, Rect{0, 0, 211, 147}},
			{3, 1, Rect{0, 0, 211, 147}},
		} {
			for _, f := range []imaging.ResampleFilter{imaging.Lanczos, imaging.Linear, imaging.NearestNeighbor} {
				name := fmt.Sprintf("%T %v %dx%d", m, m.ColorModel(), sz.w, sz.h)
				got := ResampleOpaque(m, sz.ext, sz.w, sz.h, f)
				var want *image.NRGBA
				withScalar(func() { want = ResampleOpaque(m, sz.ext, sz.w, sz.h, f) })
				if !bytes.Equal(got.Pix, want.Pix) {
					t.Fatalf("%s: vector and scalar passes differ", name)
				}
			}
		}
	}
}
