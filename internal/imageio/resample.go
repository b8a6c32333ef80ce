package imageio

import (
	"image"
	"math"

	"github.com/disintegration/imaging"
)

// The resize after a shrink-on-load decode needs a resampler that maps a
// fractional source rectangle: a 1031-pixel-wide JPEG decoded at 1/8 is
// 129 pixels wide, but only 128.875 of them are picture (the last column
// stands for 7 source pixels, not 8). Resizing all 129 pixels stretches
// the picture by up to half an output pixel: a 389×197 photo-like picture
// shrunk to 48×24 at 1/4 lands 39.7 dB from the original resized that
// way, 48.8 dB with the extent respected (the full decode path: 49.7).
// imaging.Resize maps whole images only, so this is a small separable
// resampler of its own, with imaging's kernels and conventions (pixel
// centres at +0.5, the kernel widened by the scale when shrinking, weights
// renormalised where the support leaves the picture), for the opaque
// images a JPEG decodes to. It works on the decoder's planes as they are
// and converts to RGB only at the output size (imaging converts the whole
// decode to NRGBA rows first); subsampled chroma is weighted as if
// replicated onto the luma grid, which is what imaging's YCbCr reader
// does, so both paths treat chroma alike. It runs on one core: a second
// core serves a second request better than it splits one resize.

// Rect is a rectangle in fractional pixels.
type Rect struct{ X0, Y0, X1, Y1 float64 }

// Dx and Dy are its width and height.
func (r Rect) Dx() float64 { return r.X1 - r.X0 }
func (r Rect) Dy() float64 { return r.Y1 - r.Y0 }

// ShrinkExtent returns where the picture lies in what Decode returns after
// shrinking by f: the decoder's output is ceil(w/f) pixels wide, and its
// last column covers only the w mod f source pixels left over (likewise
// for rows). Auto-orientation can turn that partial column or row to any
// side; with OrientAfterShrink the extent is in stored axes, like the
// pixels.
func ShrinkExtent(cfg Config, opts DecodeOptions, f int) Rect {
	w, h := cfg.Width, cfg.Height
	ex, ey := float64(w)/float64(f), float64(h)/float64(f)
	n := ShrunkSize(w, h, f)
	padX, padY := float64(n.X)-ex, float64(n.Y)-ey
	// In stored orientation the partial column is on the right and the
	// partial row at the bottom.
	r := Rect{0, 0, ex, ey}
	o := cfg.Orientation
	if !opts.AutoOrient || o < 1 || o > 8 || orientsLater(cfg, opts) {
		return r
	}
	if o >= 5 {
		r = Rect{0, 0, ey, ex}
		padX, padY = padY, padX
	}
	// Where Orient (imaging's flips and turns) moves the stored right and
	// bottom edges: padLeft and padTop per orientation.
	padLeft := [9]bool{5: false, 1: false, 2: true, 3: true, 4: false, 6: true, 7: true, 8: false}[o]
	padTop := [9]bool{1: false, 2: false, 3: true, 4: true, 5: false, 6: false, 7: true, 8: true}[o]
	if padLeft {
		r.X0, r.X1 = r.X0+padX, r.X1+padX
	}
	if padTop {
		r.Y0, r.Y1 = r.Y0+padY, r.Y1+padY
	}
	return r
}

// ResampleOpaque resizes the part src of m to w×h with filter, treating
// src as the whole picture: output pixel centres are spread over src, and
// pixels of m whose centre lies outside src are not read. m must be
// opaque (any alpha is ignored); the result is opaque.
func ResampleOpaque(m image.Image, src Rect, w, h int, filter imaging.ResampleFilter) *image.NRGBA {
	b := m.Bounds()
	out := image.NewNRGBA(image.Rect(0, 0, w, h))
	if b.Empty() || w <= 0 || h <= 0 {
		return out
	}
	if src.Dx() <= 0 || src.Dy() <= 0 {
		src = Rect{0, 0, float64(b.Dx()), float64(b.Dy())}
	}
	switch p := m.(type) {
	case *image.YCbCr:
		if p.Rect.Min != (image.Point{}) {
			break
		}
		hs, vs, ok := chromaFactors(p.SubsampleRatio)
		if !ok {
			break
		}
		var sc scratch
		y := sc.resamplePlane(p.Y, p.YStride, b.Dx(), b.Dy(), 1, 1, 1, src, w, h, filter)
		cb := sc.resamplePlane(p.Cb, p.CStride, b.Dx(), b.Dy(), 1, hs, vs, src, w, h, filter)
		cr := sc.resamplePlane(p.Cr, p.CStride, b.Dx(), b.Dy(), 1, hs, vs, src, w, h, filter)
		yccToRGBA(out.Pix, y[:w*h], cb, cr)
		return out
	case *image.Gray:
		if p.Rect.Min != (image.Point{}) {
			break
		}
		var sc scratch
		g := sc.resamplePlane(p.Pix, p.Stride, b.Dx(), b.Dy(), 1, 1, 1, src, w, h, filter)
		for i, v := range g {
			d := out.Pix[4*i : 4*i+4 : 4*i+4]
			d[0], d[1], d[2], d[3] = v, v, v, 255
		}
		return out
	case *image.NRGBA:
		if p.Rect.Min == (image.Point{}) {
			return resampleRGBInto(out, p.Pix, p.Stride, b.Dx(), b.Dy(), src, filter)
		}
	case *image.RGBA:
		if p.Rect.Min == (image.Point{}) {
			return resampleRGBInto(out, p.Pix, p.Stride, b.Dx(), b.Dy(), src, filter)
		}
	}
	n := imaging.Clone(m)
	return resampleRGBInto(out, n.Pix, n.Stride, b.Dx(), b.Dy(), src, filter)
}

func chromaFactors(r image.YCbCrSubsampleRatio) (h, v int, ok bool) {
	switch r {
	case image.YCbCrSubsampleRatio444:
		return 1, 1, true
	case image.YCbCrSubsampleRatio422:
		return 2, 1, true
	case image.YCbCrSubsampleRatio420:
		return 2, 2, true
	case image.YCbCrSubsampleRatio440:
		return 1, 2, true
	case image.YCbCrSubsampleRatio411:
		return 4, 1, true
	case image.YCbCrSubsampleRatio410:
		return 4, 2, true
	}
	return 0, 0, false
}

// resampleRGBInto resamples the first three of four interleaved channels.
func resampleRGBInto(out *image.NRGBA, pix []uint8, stride, sw, sh int, src Rect, filter imaging.ResampleFilter) *image.NRGBA {
	w, h := out.Rect.Dx(), out.Rect.Dy()
	var sc scratch
	res := sc.resamplePlane(pix, stride, sw, sh, 4, 1, 1, src, w, h, filter)
	for i := range w * h {
		d := out.Pix[4*i : 4*i+4 : 4*i+4]
		s := res[4*i : 4*i+4 : 4*i+4]
		d[0], d[1], d[2], d[3] = s[0], s[1], s[2], 255
	}
	return out
}

// Weights are fixed point with this many fractional bits: sums of up to
// a few hundred taps of 8-bit samples stay far inside int32.
const weightBits = 14

// taps are one axis' weights: output i reads count[i] source positions
// from start[i], weighted by w[off[i]:off[i]+count[i]].
type taps struct {
	start, count, off []int
	w                 []int32
}

// makeTaps maps dst output positions over the interval [x0, x1) of an
// axis n pixels long. With sub > 1 the samples read are those of a plane
// subsampled by sub (chroma), each standing for sub pixels of the axis:
// the weights are computed on the full-resolution axis and summed per
// sample, which is exactly upsampling by replication and then filtering,
// what imaging does to a decoded JPEG's chroma, so both resize paths treat
// chroma alike. (Filtering the subsampled plane at its own scale would
// leave chroma shrunk on load without the margin ScaleFor keeps for luma:
// its box-filtered samples would alias.)
func makeTaps(dst, n int, x0, x1 float64, filter imaging.ResampleFilter, sub int) taps {
	scale := (x1 - x0) / float64(dst)
	// Pixels whose centre lies inside [x0, x1) are picture; the rest is
	// the decoder's padding.
	lo := max(0, int(math.Ceil(x0-0.5)))
	hi := min(n-1, int(math.Ceil(x1-0.5))-1)
	if hi < lo {
		lo, hi = min(lo, n-1), min(lo, n-1)
	}
	t := taps{start: make([]int, dst), count: make([]int, dst), off: make([]int, dst)}
	support := filter.Support
	nearest := support <= 0 || filter.Kernel == nil
	fs := max(scale, 1)
	radius := support * fs
	var fw []float64
	for i := range dst {
		c := x0 + (float64(i)+0.5)*scale - 0.5
		t.off[i] = len(t.w)
		a := max(lo, int(math.Ceil(c-radius)))
		z := min(hi, int(math.Floor(c+radius)))
		if nearest || a > z {
			// No filter, or no tap: the nearest picture pixel.
			u := min(hi, max(lo, int(math.Round(c))))
			t.start[i], t.count[i] = u/sub, 1
			t.w = append(t.w, 1<<weightBits)
			continue
		}
		fw = fw[:0]
		sum := 0.0
		for u := a; u <= z; u++ {
			k := filter.Kernel((float64(u) - c) / fs)
			if j := u/sub - a/sub; j == len(fw) {
				fw = append(fw, k)
			} else {
				fw[j] += k
			}
			sum += k
		}
		if sum == 0 {
			u := min(hi, max(lo, int(math.Round(c))))
			t.start[i], t.count[i] = u/sub, 1
			t.w = append(t.w, 1<<weightBits)
			continue
		}
		// Quantise so the weights sum to exactly one: flat areas stay
		// flat. The rounding error goes to the largest weight.
		total, big := int32(0), 0
		for j, k := range fw {
			q := int32(math.Round(k / sum * (1 << weightBits)))
			t.w = append(t.w, q)
			total += q
			if k > fw[big] {
				big = j
			}
		}
		t.w[t.off[i]+big] += 1<<weightBits - total
		t.start[i], t.count[i] = a/sub, len(fw)
	}
	return t
}

func clampShift(acc int32) uint8 {
	v := (acc + 1<<(weightBits-1)) >> weightBits
	if uint32(v) > 255 {
		if v < 0 {
			return 0
		}
		return 255
	}
	return uint8(v)
}

// scratch holds the intermediate buffers of one resize, reused from one
// plane to the next: the planes are done one after the other, and the
// garbage of three would raise the peak the collector lets the heap reach.
type scratch struct {
	mid, mid2 []uint8
	acc       []int32
}

func (sc *scratch) bytes2(n int) []uint8 {
	if cap(sc.mid2) < n {
		sc.mid2 = make([]uint8, n)
	}
	return sc.mid2[:n]
}

func (sc *scratch) bytes(n int) []uint8 {
	if cap(sc.mid) < n {
		sc.mid = make([]uint8, n)
	}
	return sc.mid[:n]
}

func (sc *scratch) ints(n int) []int32 {
	if cap(sc.acc) < n {
		sc.acc = make([]int32, n)
	}
	return sc.acc[:n]
}

// resamplePlane resizes the part src of a picture of sw×sh pixels to
// w×h, from a plane of ch interleaved channels (1, or 4 of which the first
// 3 are used) subsampled by hs×vs. The vertical pass goes first, a row at
// a time (weighted rows summed into a row of accumulators, a loop the
// compiler keeps tight), into an intermediate of (plane width)×h; the
// horizontal pass then has only h rows to do. The result has the plane's
// channel layout, packed.
func (sc *scratch) resamplePlane(pix []uint8, stride, sw, sh, ch, hs, vs int, src Rect, w, h int, filter imaging.ResampleFilter) []uint8 {
	if haveVsum {
		if out, ok := sc.resamplePlaneSIMD(pix, stride, sw, sh, ch, hs, vs, src, w, h, filter); ok {
			return out
		}
	}
	tx := makeTaps(w, sw, src.X0, src.X1, filter, hs)
	ty := makeTaps(h, sh, src.Y0, src.Y1, filter, vs)
	pw := (sw + hs - 1) / hs * ch
	// Only the columns the horizontal taps read need the vertical pass.
	clo, chi := pw, 0
	for i := range w {
		clo = min(clo, tx.start[i]*ch)
		chi = max(chi, (tx.start[i]+tx.count[i])*ch)
	}
	mid := sc.bytes(pw * h)
	acc := sc.ints(chi - clo)
	n := chi - clo
	rowAt := func(y int) []uint8 { return pix[y*stride+clo : y*stride+chi] }
	for i := range h {
		clear(acc)
		ws := ty.w[ty.off[i] : ty.off[i]+ty.count[i]]
		y0 := ty.start[i]
		k := 0
		// Four rows per sweep over the accumulators: a quarter of the
		// loads and stores of acc.
		for ; k+4 <= len(ws); k += 4 {
			w0, w1, w2, w3 := ws[k], ws[k+1], ws[k+2], ws[k+3]
			r0, r1, r2, r3 := rowAt(y0 + k)[:n], rowAt(y0 + k + 1)[:n], rowAt(y0 + k + 2)[:n], rowAt(y0 + k + 3)[:n]
			a := acc[:n]
			for x := range a {
				a[x] += w0*int32(r0[x]) + w1*int32(r1[x]) + w2*int32(r2[x]) + w3*int32(r3[x])
			}
		}
		for ; k < len(ws); k++ {
			wt, r := ws[k], rowAt(y0 + k)[:n]
			a := acc[:n]
			for x := range a {
				a[x] += wt * int32(r[x])
			}
		}
		d := mid[i*pw+clo : i*pw+chi]
		for x, v := range acc {
			d[x] = clampShift(v)
		}
	}
	rw := w * ch
	out := make([]uint8, rw*h)
	for y := range h {
		row := mid[y*pw : (y+1)*pw]
		dst := out[y*rw : (y+1)*rw]
		if ch == 1 {
			for i := range w {
				ws := tx.w[tx.off[i] : tx.off[i]+tx.count[i]]
				s := row[tx.start[i] : tx.start[i]+len(ws)]
				var acc int32
				for k, wt := range ws {
					acc += wt * int32(s[k])
				}
				dst[i] = clampShift(acc)
			}
			continue
		}
		for i := range w {
			ws := tx.w[tx.off[i] : tx.off[i]+tx.count[i]]
			s := row[4*tx.start[i] : 4*(tx.start[i]+len(ws))]
			var r, g, b int32
			for k, wt := range ws {
				p := s[4*k : 4*k+3 : 4*k+3]
				r += wt * int32(p[0])
				g += wt * int32(p[1])
				b += wt * int32(p[2])
			}
			d := dst[4*i : 4*i+4 : 4*i+4]
			d[0], d[1], d[2] = clampShift(r), clampShift(g), clampShift(b)
		}
	}
	return out
}
