package jpegdec

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestIDCT4MatchesScalar: the vector kernel writes the bytes idct4 writes,
// for dense, sparse, DC-only and saturating blocks.
func TestIDCT4MatchesScalar(t *testing.T) {
	if !haveIDCT4Vector {
		t.Skip("no vector kernel on this machine")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for i := range 20000 {
		var blk [64]int32
		switch i % 4 {
		case 0: // dense, typical magnitudes after dequantisation
			for k := range blk {
				blk[k] = rng.Int32N(401) - 200
			}
		case 1: // sparse
			for range 1 + rng.IntN(6) {
				blk[rng.IntN(64)] = rng.Int32N(2001) - 1000
			}
		case 2: // DC only, far out of range so that clamping shows
			blk[0] = rng.Int32N(32001) - 16000
		case 3: // the largest a 8-bit JPEG can hold
			for k := range blk {
				blk[k] = rng.Int32N(2*2047*255+1) - 2047*255
			}
		}
		const stride = 13
		want, got := make([]byte, 4*stride), make([]byte, 4*stride)
		idct4(&blk, want, stride)
		idct4AVX2(&blk, &got[0], stride, idct4K)
		if !bytes.Equal(want, got) {
			t.Fatalf("block %d (%v): kernel %v, idct4 %v", i, blk, got, want)
		}
	}
}

// TestIDCT8MatchesScalar: the vector kernel writes the bytes idct8 writes.
func TestIDCT8MatchesScalar(t *testing.T) {
	if !haveIDCT8Vector {
		t.Skip("no vector kernel on this machine")
	}
	rng := rand.New(rand.NewPCG(9, 10))
	for i := range 20000 {
		var blk [64]int32
		switch i % 5 {
		case 0: // dense, typical magnitudes after dequantisation
			for k := range blk {
				blk[k] = rng.Int32N(401) - 200
			}
		case 1: // sparse
			for range 1 + rng.IntN(6) {
				blk[rng.IntN(64)] = rng.Int32N(2001) - 1000
			}
		case 2: // DC only, far out of range so that clamping shows
			blk[0] = rng.Int32N(32001) - 16000
		case 3: // the largest a 8-bit JPEG can hold
			for k := range blk {
				blk[k] = rng.Int32N(2*2047*255+1) - 2047*255
			}
		case 4: // one row or column of coefficients (the scalar shortcuts)
			r := rng.IntN(8)
			for k := range 8 {
				if i%2 == 0 {
					blk[r*8+k] = rng.Int32N(801) - 400
				} else {
					blk[k*8+r] = rng.Int32N(801) - 400
				}
			}
		}
		const stride = 13
		want, got := make([]byte, 8*stride), make([]byte, 8*stride)
		idct8(&blk, want, stride)
		idct8AVX2(&blk, &got[0], stride, idct8K)
		if !bytes.Equal(want, got) {
			t.Fatalf("block %d (%v):\nkernel %v\nidct8  %v", i, blk, got, want)
		}
	}
}
