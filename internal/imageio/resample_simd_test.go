package imageio

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/disintegration/imaging"
)

func TestTranspose(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, px := range []int{1, 4} {
		for _, sz := range [][2]int{{1, 1}, {8, 8}, {16, 24}, {13, 29}, {64, 7}, {100, 131}} {
			rows, cols := sz[0], sz[1]
			ss, ds := cols*px+3, rows*px+5
			src := make([]uint8, rows*ss)
			for i := range src {
				src[i] = uint8(rng.IntN(256))
			}
			dst := make([]uint8, cols*ds)
			transpose(dst, ds, src, ss, rows, cols, px)
			for r := range rows {
				for c := range cols {
					if !bytes.Equal(dst[c*ds+r*px:c*ds+r*px+px], src[r*ss+c*px:r*ss+c*px+px]) {
						t.Fatalf("px=%d %dx%d: element (%d,%d) misplaced", px, rows, cols, r, c)
					}
				}
			}
		}
	}
}

// TestTranspose8x8Kernels: the SSE2 block transpose and the portable one
// agree (TestTranspose checks whichever transpose uses against the
// definition).
func TestTranspose8x8Kernels(t *testing.T) {
	if !haveTransposeVector {
		t.Skip("no vector kernel on this architecture")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	const ss, ds = 11, 13
	src := make([]uint8, 8*ss)
	for i := range src {
		src[i] = uint8(rng.IntN(256))
	}
	want, got := make([]uint8, 8*ds), make([]uint8, 8*ds)
	transpose8x8(want, ds, src, ss)
	transpose8x8SSE2(&got[0], ds, &src[0], ss)
	if !bytes.Equal(got, want) {
		t.Fatalf("SSE2 transpose:\n got %v\nwant %v", got, want)
	}
}

// TestPackedAxisCache: cached weights are the ones made afresh, and
// filters that differ only in a closure's parameter do not share them.
func TestPackedAxisCache(t *testing.T) {
	scaled := func(a float64) imaging.ResampleFilter {
		return imaging.ResampleFilter{Support: 2, Kernel: func(x float64) float64 { return max(0, 1-math.Abs(x)/a) }}
	}
	for _, f := range []imaging.ResampleFilter{imaging.Lanczos, imaging.Linear, scaled(1), scaled(2)} {
		for range 2 { // the second time from the cache
			got, ok := packedAxis(300, 1200, 0, 1200, f, 2, 600)
			want, wok := packTaps(makeTaps(300, 1200, 0, 1200, f, 2), 600)
			if ok != wok || !slices.Equal(got.w, want.w) || !slices.Equal(got.start, want.start) || !slices.Equal(got.off, want.off) {
				t.Fatalf("filter %v: cached taps differ from fresh ones", f.Support)
			}
		}
	}
}
