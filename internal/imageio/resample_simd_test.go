package imageio

import (
	"bytes"
	"math/rand/v2"
	"testing"
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
