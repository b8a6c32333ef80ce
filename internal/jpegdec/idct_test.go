package jpegdec

import (
	"math"
	"math/rand/v2"
	"testing"
)

// refIDCT is the textbook 2-D IDCT in float64, box-averaged to n×n.
func refIDCT(blk *[64]int32, n int) []float64 {
	var cs [8][8]float64 // cs[x][u] = C(u) cos((2x+1)uπ/16)
	for x := 0; x < 8; x++ {
		for u := 0; u < 8; u++ {
			cs[x][u] = math.Cos(float64((2*x+1)*u) * math.Pi / 16)
			if u == 0 {
				cs[x][u] /= math.Sqrt2
			}
		}
	}
	var full [64]float64
	for y := 0; y < 8; y++ {
		for x := 0; x < 8; x++ {
			sum := 0.0
			for v := 0; v < 8; v++ {
				for u := 0; u < 8; u++ {
					sum += float64(blk[v*8+u]) * cs[x][u] * cs[y][v]
				}
			}
			full[y*8+x] = sum / 4
		}
	}
	g := 8 / n
	out := make([]float64, n*n)
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			s := 0.0
			for yy := y * g; yy < y*g+g; yy++ {
				for xx := x * g; xx < x*g+g; xx++ {
					s += full[yy*8+xx]
				}
			}
			out[y*n+x] = math.Max(0, math.Min(255, s/float64(g*g)+128))
		}
	}
	return out
}

// The fixed-point transforms must stay within ±1 of the exact box-filtered
// IDCT, for realistic blocks and for extreme ones.
func TestIDCTAccuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var worst [4]float64
	for iter := 0; iter < 1200; iter++ {
		var blk [64]int32
		amp := []float64{30, 300, 1000}[iter%3]
		for i := range blk {
			// Amplitude falling with frequency, like real coefficients.
			f := float64(i/8 + i%8)
			if rng.IntN(3) == 0 || i == 0 {
				blk[i] = int32((rng.Float64()*2 - 1) * amp / (1 + f))
			}
		}
		if iter%100 == 0 {
			// Sparse blocks exercise the all-zero column/row shortcuts.
			for i := 1; i < 64; i++ {
				if i != 8 && i != 1 {
					blk[i] = 0
				}
			}
		}
		for si, n := range []int{8, 4, 2, 1} {
			want := refIDCT(&blk, n)
			got := make([]byte, 64)
			switch n {
			case 8:
				idct8(&blk, got, 8)
			case 4:
				idct4(&blk, got, 8)
			case 2:
				idct2(&blk, got, 8)
			case 1:
				got[0] = idct1(blk[0])
			}
			for y := 0; y < n; y++ {
				for x := 0; x < n; x++ {
					d := math.Abs(float64(got[y*8+x]) - want[y*n+x])
					worst[si] = max(worst[si], d)
					if d > 1 {
						t.Fatalf("n=%d block %d (%d,%d): got %d, want %.2f", n, iter, x, y, got[y*8+x], want[y*n+x])
					}
				}
			}
		}
	}
	t.Logf("worst error vs float, 8/4/2/1: %.2f %.2f %.2f %.2f", worst[0], worst[1], worst[2], worst[3])
}

// TestDCOnlyMatchesIDCT: for every DC a block can carry (11-bit values
// times a quantiser up to 255), dcOnly is what the full transforms write.
func TestDCOnlyMatchesIDCT(t *testing.T) {
	var blk [64]int32
	dst := make([]byte, 8*8)
	for f0 := int32(-1024 * 255); f0 <= 1023*255; f0 += 7 {
		want := dcOnly(f0)
		for _, tc := range []struct {
			n    int
			idct func(*[64]int32, []byte, int)
		}{{8, idct8}, {8, idct8x}, {4, idct4}, {4, idct4x}, {2, idct2}} {
			blk = [64]int32{}
			blk[0] = f0
			clear(dst)
			tc.idct(&blk, dst, 8)
			for y := range tc.n {
				for x := range tc.n {
					if dst[y*8+x] != want {
						t.Fatalf("F0=%d, %d×%d transform: sample (%d,%d) = %d, dcOnly = %d", f0, tc.n, tc.n, x, y, dst[y*8+x], want)
					}
				}
			}
		}
	}
}
