package actions

import (
	"image"
	"math"

	"github.com/disintegration/imaging"
)

// smartAnalysisSize is the longest side of the copy that smart crop scores:
// enough to find the detailed part of a picture, small enough to cost
// about a millisecond.
const smartAnalysisSize = 256

// smartAnchor picks the w×h window of m with the most edge energy (the sum
// of absolute luminance differences to the neighbouring pixels), scored on
// a small copy through an integral image. Ties go to the window nearest the
// centre, so a flat picture crops like gravity center.
func smartAnchor(m image.Image, w, h int) image.Point {
	b := m.Bounds()
	W, H := b.Dx(), b.Dy()
	if w >= W && h >= H {
		return image.Point{}
	}
	s := math.Min(1, float64(smartAnalysisSize)/float64(max(W, H)))
	sw, sh := max(1, int(math.Round(float64(W)*s))), max(1, int(math.Round(float64(H)*s)))
	small := imaging.Resize(m, sw, sh, imaging.Box)
	integral := edgeIntegral(small)
	ww, wh := clampInt(int(math.Round(float64(w)*s)), 1, sw), clampInt(int(math.Round(float64(h)*s)), 1, sh)
	stride := sw + 1
	best, bestScore := image.Pt((sw-ww)/2, (sh-wh)/2), math.Inf(-1)
	cx, cy := float64(sw-ww)/2, float64(sh-wh)/2
	for y := 0; y+wh <= sh; y++ {
		for x := 0; x+ww <= sw; x++ {
			sum := integral[(y+wh)*stride+x+ww] - integral[y*stride+x+ww] - integral[(y+wh)*stride+x] + integral[y*stride+x]
			// A tiny pull towards the centre breaks ties between equal windows.
			score := float64(sum) - 1e-3*(math.Abs(float64(x)-cx)+math.Abs(float64(y)-cy))
			if score > bestScore {
				best, bestScore = image.Pt(x, y), score
			}
		}
	}
	centre := anchor(gravityCenter, W, H, w, h)
	if best == image.Pt((sw-ww)/2, (sh-wh)/2) {
		// Exactly centred, not off by the analysis copy's rounding.
		return centre
	}
	x := clampInt(int(math.Round(float64(best.X)/s)), 0, W-w)
	y := clampInt(int(math.Round(float64(best.Y)/s)), 0, H-h)
	// An axis with no room to move keeps the centre's coordinate.
	if w >= W {
		x = centre.X
	}
	if h >= H {
		y = centre.Y
	}
	return image.Pt(x, y)
}

// edgeIntegral returns the summed-area table, (W+1)×(H+1), of the edge
// energy of m.
func edgeIntegral(m *image.NRGBA) []int64 {
	W, H := m.Rect.Dx(), m.Rect.Dy()
	lum := make([]int32, W*H)
	for y := range H {
		row := m.Pix[y*m.Stride:]
		for x := range W {
			p := row[4*x:]
			// Rec. 601 luma, weighted by alpha so transparent areas are flat.
			l := (299*int32(p[0]) + 587*int32(p[1]) + 114*int32(p[2])) / 1000
			lum[y*W+x] = l * int32(p[3]) / 255
		}
	}
	at := func(x, y int) int32 { return lum[clampInt(y, 0, H-1)*W+clampInt(x, 0, W-1)] }
	stride := W + 1
	integral := make([]int64, stride*(H+1))
	for y := range H {
		var rowSum int64
		for x := range W {
			e := abs32(at(x+1, y)-at(x-1, y)) + abs32(at(x, y+1)-at(x, y-1))
			rowSum += int64(e)
			integral[(y+1)*stride+x+1] = integral[y*stride+x+1] + rowSum
		}
	}
	return integral
}

func abs32(v int32) int32 {
	if v < 0 {
		return -v
	}
	return v
}
