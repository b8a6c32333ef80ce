package jpegdec

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// testBlocks returns n dequantised blocks of the kinds that try an IDCT
// kernel: dense with typical magnitudes, sparse, DC-only far out of range
// (so that clamping shows), the largest an 8-bit JPEG can hold, and one
// row or column of coefficients (the scalar code's shortcuts).
func testBlocks(seed uint64, n int) [][64]int32 {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	blocks := make([][64]int32, n)
	for i := range blocks {
		blk := &blocks[i]
		switch i % 5 {
		case 0:
			for k := range blk {
				blk[k] = rng.Int32N(401) - 200
			}
		case 1:
			for range 1 + rng.IntN(6) {
				blk[rng.IntN(64)] = rng.Int32N(2001) - 1000
			}
		case 2:
			blk[0] = rng.Int32N(32001) - 16000
		case 3:
			for k := range blk {
				blk[k] = rng.Int32N(2*2047*255+1) - 2047*255
			}
		case 4:
			r := rng.IntN(8)
			for k := range 8 {
				if i%2 == 0 {
					blk[r*8+k] = rng.Int32N(801) - 400
				} else {
					blk[k*8+r] = rng.Int32N(801) - 400
				}
			}
		}
	}
	return blocks
}

// TestIDCT4MatchesScalar: the vector kernel writes the bytes idct4 writes.
func TestIDCT4MatchesScalar(t *testing.T) {
	if !haveIDCT4Vector {
		t.Skip("no vector kernel on this machine")
	}
	const stride = 13
	for i, blk := range testBlocks(7, 20000) {
		want, got := make([]byte, 4*stride), make([]byte, 4*stride)
		idct4(&blk, want, stride)
		idct4AVX2(&blk, &got[0], stride, idct4K)
		if !bytes.Equal(want, got) {
			t.Fatalf("block %d (%v):\nkernel %v\nidct4  %v", i, blk, got, want)
		}
	}
}

// TestIDCT8MatchesScalar: the vector kernel writes the bytes idct8 writes.
func TestIDCT8MatchesScalar(t *testing.T) {
	if !haveIDCT8Vector {
		t.Skip("no vector kernel on this machine")
	}
	const stride = 13
	for i, blk := range testBlocks(9, 20000) {
		want, got := make([]byte, 8*stride), make([]byte, 8*stride)
		idct8(&blk, want, stride)
		idct8AVX2(&blk, &got[0], stride, idct8K)
		if !bytes.Equal(want, got) {
			t.Fatalf("block %d (%v):\nkernel %v\nidct8  %v", i, blk, got, want)
		}
	}
}
