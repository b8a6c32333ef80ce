package pngdec

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestPaethVectorMatchesScalar: the SSE2 kernel and the scalar loop give
// the same bytes for RGB and RGBA rows of every width up to 33 pixels and
// a long one, on random data (every tie and wrap) and on smooth data.
func TestPaethVectorMatchesScalar(t *testing.T) {
	if !havePaethVector {
		t.Skip("no vector kernel on this architecture")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	widths := []int{1921}
	for w := 1; w <= 33; w++ {
		widths = append(widths, w)
	}
	for _, in := range []int{3, 4} {
		for _, w := range widths {
			for _, smooth := range []bool{false, true} {
				src := make([]byte, in*w)
				prev := make([]byte, 4*w)
				for i := range src {
					src[i] = byte(rng.IntN(256))
				}
				for i := range prev {
					prev[i] = byte(rng.IntN(256))
				}
				if smooth {
					for i := range src {
						src[i] = byte(rng.IntN(3)) - 1
					}
					for i := range prev {
						prev[i] = byte(i/4 + i%4*50)
					}
				}
				want := make([]byte, 4*w)
				got := make([]byte, 4*w)
				paethScalar(want, src, prev, in, 4)
				paethSSE2(got, src, prev, in)
				if !bytes.Equal(got, want) {
					t.Fatalf("in=%d w=%d smooth=%v:\n got %v\nwant %v", in, w, smooth, got, want)
				}
			}
		}
	}
}

func BenchmarkPaeth(b *testing.B) {
	const w = 1920
	for _, in := range []int{3, 4} {
		src := make([]byte, in*w)
		prev := make([]byte, 4*w)
		for i := range src {
			src[i] = sample(i, 0, 0)
		}
		for i := range prev {
			prev[i] = sample(i, 1, 0)
		}
		dst := make([]byte, 4*w)
		b.Run(fmt.Sprintf("in=%d/scalar", in), func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				paethScalar(dst, src, prev, in, 4)
			}
		})
		if havePaethVector {
			b.Run(fmt.Sprintf("in=%d/vector", in), func(b *testing.B) {
				b.SetBytes(int64(len(src)))
				for b.Loop() {
					paethSSE2(dst, src, prev, in)
				}
			})
		}
	}
}
