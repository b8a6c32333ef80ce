package imageio

import (
	"image"
	"image/color"
	"math"
)

// Kernels that change part of a picture in place, for redaction: fill,
// pixelate and blur a rectangle without reading or writing anything
// outside it.

// MaxBlurSigma is the strongest blur BlurRect gives; stronger ones are
// clamped to it, which also keeps its sums from overflowing.
const MaxBlurSigma = 500

// FillRect replaces the pixels of box, alpha included: a translucent
// colour makes the box translucent, it never lets the original show
// through.
func FillRect(m *image.NRGBA, box image.Rectangle, c color.NRGBA) {
	px := [4]uint8{c.R, c.G, c.B, c.A}
	for y := box.Min.Y; y < box.Max.Y; y++ {
		row := m.Pix[m.PixOffset(box.Min.X, y):m.PixOffset(box.Max.X, y)]
		for i := 0; i+4 <= len(row); i += 4 {
			copy(row[i:i+4], px[:])
		}
	}
}

// PixelateRect replaces each size×size block of the box, aligned to the box's
// corner, with its mean colour (weighted by alpha, so transparent pixels
// do not darken their block).
func PixelateRect(m *image.NRGBA, box image.Rectangle, size int) {
	for by := box.Min.Y; by < box.Max.Y; by += size {
		for bx := box.Min.X; bx < box.Max.X; bx += size {
			cell := image.Rect(bx, by, bx+size, by+size).Intersect(box)
			var r, g, b, a, n uint64
			for y := cell.Min.Y; y < cell.Max.Y; y++ {
				row := m.Pix[m.PixOffset(cell.Min.X, y):m.PixOffset(cell.Max.X, y)]
				for i := 0; i+4 <= len(row); i += 4 {
					pa := uint64(row[i+3])
					r += uint64(row[i]) * pa
					g += uint64(row[i+1]) * pa
					b += uint64(row[i+2]) * pa
					a += pa
					n++
				}
			}
			var c color.NRGBA
			if a > 0 {
				c = color.NRGBA{uint8((r + a/2) / a), uint8((g + a/2) / a), uint8((b + a/2) / a), uint8((a + n/2) / n)}
			}
			FillRect(m, cell, c)
		}
	}
}

// BlurRect approximates a Gaussian of the given sigma by three box blurs in
// each direction, whose cost does not grow with sigma. Only pixels of the
// box are read, so nothing outside it changes and nothing outside it
// shapes the result. It works on alpha-premultiplied values.
func BlurRect(m *image.NRGBA, box image.Rectangle, sigma float64) {
	// Three boxes of width 2r+1 have the variance 3·((2r+1)²−1)/12 = σ².
	radius := max(1, int(math.Round((math.Sqrt(4*sigma*sigma+1)-1)/2)))
	radius = min(radius, MaxBlurSigma)
	w, h := box.Dx(), box.Dy()
	premultiply(m, box, true)
	tmp := make([]int32, 4*blurLanes*max(w, h))
	for range 3 {
		for y := box.Min.Y; y < box.Max.Y; y++ {
			boxLine(m.Pix, m.PixOffset(box.Min.X, y), 4, w, radius, 1, tmp)
		}
		// Columns go blurLanes at a time, so each row is visited once per
		// strip of a cache line rather than once per column: walking a
		// single column down a big picture is a cache and TLB miss per row.
		for x := box.Min.X; x < box.Max.X; x += blurLanes {
			boxLine(m.Pix, m.PixOffset(x, box.Min.Y), m.Stride, h, radius, min(blurLanes, box.Max.X-x), tmp)
		}
	}
	premultiply(m, box, false)
}

// blurLanes is how many columns a vertical blur pass walks together: 16
// NRGBA pixels are one 64-byte cache line.
const blurLanes = 16

// boxLine blurs a line of n samples, sample i being the lanes pixels (4
// bytes each) at p[off+i*step:]: each becomes the mean of the 2r+1 samples
// around it, the line's end samples standing in for those beyond it. The
// running sums make it cost the same for any r.
func boxLine(p []uint8, off, step, n, r, lanes int, tmp []int32) {
	k := 4 * lanes
	tmp = tmp[:k*n]
	for i := range n {
		src := p[off+i*step : off+i*step+k]
		dst := tmp[i*k : i*k+k]
		for j, v := range src {
			dst[j] = int32(v)
		}
	}
	// The window of sample 0: r+1 copies of the first sample, the next
	// samples up to r, and copies of the last where the line is shorter.
	inside := min(r, n-1)
	var sums [4 * blurLanes]int32
	sum := sums[:k]
	first, last := tmp[:k], tmp[k*(n-1):k*n]
	for j := range sum {
		sum[j] = int32(r+1)*first[j] + int32(r-inside)*last[j]
	}
	for i := 1; i <= inside; i++ {
		for j, v := range tmp[i*k : i*k+k] {
			sum[j] += v
		}
	}
	// Dividing by the width is a multiplication and a shift: exact, as
	// sum·width stays below 2³² for every radius allowed (≤ MaxBlurSigma).
	width := int32(2*r + 1)
	mul := (uint64(1)<<32 + uint64(width) - 1) / uint64(width)
	for i := range n {
		dst := p[off+i*step : off+i*step+k]
		for j := range dst {
			dst[j] = uint8(uint64(sum[j]+width/2) * mul >> 32)
		}
		add, sub := tmp[k*min(i+r+1, n-1):][:k], tmp[k*max(i-r, 0):][:k]
		for j := range sum {
			sum[j] += add[j] - sub[j]
		}
	}
}

// premultiply converts the box's pixels to alpha-premultiplied values
// (to) or back (!to).
func premultiply(m *image.NRGBA, box image.Rectangle, to bool) {
	for y := box.Min.Y; y < box.Max.Y; y++ {
		row := m.Pix[m.PixOffset(box.Min.X, y):m.PixOffset(box.Max.X, y)]
		for i := 0; i+4 <= len(row); i += 4 {
			a := uint32(row[i+3])
			switch {
			case a == 255:
			case to:
				for c := range 3 {
					row[i+c] = uint8((uint32(row[i+c])*a + 127) / 255)
				}
			case a == 0:
				row[i], row[i+1], row[i+2] = 0, 0, 0
			default:
				for c := range 3 {
					row[i+c] = uint8(min(255, (uint32(row[i+c])*255+a/2)/a))
				}
			}
		}
	}
}
