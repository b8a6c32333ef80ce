package imageio

import (
	"encoding/binary"

	"github.com/disintegration/imaging"
)

// The resampler's passes are sums of weighted rows: the vertical pass
// adds up source rows, and the horizontal pass is the same sum over the
// columns once the intermediate is transposed. With a vector kernel for
// that one operation (vsumRows, amd64 AVX2: 16 samples at a time, two
// taps per multiply-add) both passes run on it; elsewhere the scalar
// loops of resamplePlane run instead. Both round and clamp alike, so the
// pixels do not depend on the machine (TestVsumMatchesScalar,
// TestResampleSIMDMatchesScalar).

// packedTaps holds one axis' taps as pairs of int16 weights (the
// multiply-add's operands), padded to an even count with a zero weight on
// a row that exists: the row before the taps when there is one, else the
// row after.
type packedTaps struct {
	start []int    // first row of output i's pairs
	off   []int    // output i's pairs are w[off[i]:off[i+1]]
	w     []uint32 // low 16 bits: weight of the even row, high: the odd row
}

// packTaps pairs t's weights for a plane of n rows; ok is false when a
// weight does not fit int16 or an odd count cannot be padded.
func packTaps(t taps, n int) (p packedTaps, ok bool) {
	dst := len(t.start)
	p.start = make([]int, dst)
	p.off = make([]int, dst+1)
	p.w = make([]uint32, 0, len(t.w)/2+dst)
	for i := range dst {
		ws := t.w[t.off[i] : t.off[i]+t.count[i]]
		start := t.start[i]
		// pad: where the zero weight goes, if the count is odd.
		pad := 0
		if len(ws)%2 == 1 {
			switch {
			case start > 0:
				start--
				pad = -1
			case start+len(ws) < n:
				pad = 1
			default:
				return p, false
			}
		}
		p.start[i] = start
		p.off[i] = len(p.w)
		at := func(k int) int32 { // weight of row start+k
			if pad < 0 {
				k--
			}
			if k < 0 || k >= len(ws) {
				return 0
			}
			return ws[k]
		}
		for k := 0; k < len(ws)+abs(pad); k += 2 {
			a, b := at(k), at(k+1)
			if a != int32(int16(a)) || b != int32(int16(b)) {
				return p, false
			}
			p.w = append(p.w, uint32(uint16(a))|uint32(uint16(b))<<16)
		}
	}
	p.off[dst] = len(p.w)
	return p, true
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// vsumScalar is vsumRows in Go: dst[x] = clamp(round(Σ_k w_k·row_k[x]))
// with row_k = src[k*stride:], the weights as packTaps pairs them.
func vsumScalar(dst, src []uint8, stride int, w []uint32) {
	for x := range dst {
		var acc int32
		for k, pr := range w {
			r := src[2*k*stride+x:]
			acc += int32(int16(pr))*int32(r[0]) + int32(int16(pr>>16))*int32(r[stride])
		}
		dst[x] = clampShift(acc)
	}
}

// vsum computes vsumRows with the vector kernel where it is available
// and the scalar loop for the tail it leaves.
func vsum(dst, src []uint8, stride int, w []uint32) {
	n := len(dst)
	if len(w) == 0 {
		clear(dst)
		return
	}
	// Every row the kernel reads must lie inside src.
	_ = src[(2*len(w)-1)*stride+n-1]
	done := 0
	if haveVsum && n >= 16 {
		done = n &^ 15
		vsumRows(&dst[0], &src[0], stride, done, &w[0], len(w))
	}
	if done < n {
		vsumScalar(dst[done:], src[done:], stride, w)
	}
}

// transpose writes the transpose of the rows×cols matrix of px-byte
// elements at src (row stride ss bytes) into dst (row stride ds bytes).
// Bytes go 8×8 at a time through registers; other sizes element by
// element in tiles, so that both sides stay in cache.
func transpose(dst []uint8, ds int, src []uint8, ss, rows, cols, px int) {
	r8, c8 := 0, 0
	if px == 1 {
		r8, c8 = rows&^7, cols&^7
		if haveTransposeVector && r8 > 0 && c8 > 0 {
			// The kernel does not check bounds: the furthest bytes it
			// touches are checked here.
			_ = dst[(c8-1)*ds+r8-1]
			_ = src[(r8-1)*ss+c8-1]
			for r := 0; r < r8; r += 8 {
				for c := 0; c < c8; c += 8 {
					transpose8x8SSE2(&dst[c*ds+r], ds, &src[r*ss+c], ss)
				}
			}
		} else {
			for r := 0; r < r8; r += 8 {
				for c := 0; c < c8; c += 8 {
					transpose8x8(dst[c*ds+r:], ds, src[r*ss+c:], ss)
				}
			}
		}
	}
	// What the 8×8 blocks left: the right columns of every row, and all
	// columns of the bottom rows.
	const tile = 32
	for r0 := 0; r0 < rows; r0 += tile {
		r1 := min(r0+tile, rows)
		for c0 := 0; c0 < cols; c0 += tile {
			c1 := min(c0+tile, cols)
			for r := r0; r < r1; r++ {
				cs := c0
				if r < r8 {
					cs = max(c0, c8)
				}
				for c := cs; c < c1; c++ {
					d := dst[c*ds+r*px : c*ds+r*px+px]
					copy(d, src[r*ss+c*px:r*ss+c*px+px])
				}
			}
		}
	}
}

// transpose8x8 transposes one 8×8 block of bytes: three rounds of
// swapping the off-diagonal halves of 2×2, 4×4 and 8×8 sub-blocks.
func transpose8x8(dst []uint8, ds int, src []uint8, ss int) {
	var r [8]uint64
	for i := range r {
		r[i] = binary.LittleEndian.Uint64(src[i*ss:])
	}
	for i := 0; i < 8; i += 2 {
		t := (r[i]>>8 ^ r[i+1]) & 0x00FF00FF00FF00FF
		r[i+1] ^= t
		r[i] ^= t << 8
	}
	for _, i := range [4]int{0, 1, 4, 5} {
		t := (r[i]>>16 ^ r[i+2]) & 0x0000FFFF0000FFFF
		r[i+2] ^= t
		r[i] ^= t << 16
	}
	for i := range 4 {
		t := (r[i]>>32 ^ r[i+4]) & 0x00000000FFFFFFFF
		r[i+4] ^= t
		r[i] ^= t << 32
	}
	for i := range r {
		binary.LittleEndian.PutUint64(dst[i*ds:], r[i])
	}
}

// resamplePlaneSIMD is resamplePlane on the vector kernel: the vertical
// pass over the columns the horizontal taps read, a transpose, the
// horizontal taps as a vertical pass, a transpose back. ok is false when
// the taps do not fit the kernel (resamplePlane then runs its own loops).
func (sc *scratch) resamplePlaneSIMD(pix []uint8, stride, sw, sh, ch, hs, vs int, src Rect, w, h int, filter imaging.ResampleFilter) ([]uint8, bool) {
	pw := (sw + hs - 1) / hs // plane width in pixels
	ph := (sh + vs - 1) / vs
	px, okx := packedAxis(w, sw, src.X0, src.X1, filter, hs, pw)
	py, oky := packedAxis(h, sh, src.Y0, src.Y1, filter, vs, ph)
	if !okx || !oky {
		return nil, false
	}
	clo, chi := pw, 0
	for i := range w {
		clo = min(clo, px.start[i])
		chi = max(chi, px.start[i]+2*(px.off[i+1]-px.off[i]))
	}
	ncol := chi - clo
	// Vertical: h rows of ncol pixels, made 8 rows at a time and
	// transposed into midT (ncol rows of h pixels), so that only a band
	// of the intermediate exists untransposed.
	midT := sc.bytes2(ncol * h * ch)
	band := sc.bytes(8 * max(ncol, h) * ch)
	for i0 := 0; i0 < h; i0 += 8 {
		n := min(8, h-i0)
		for i := i0; i < i0+n; i++ {
			base := py.start[i]*stride + clo*ch
			vsum(band[(i-i0)*ncol*ch:(i-i0+1)*ncol*ch], pix[base:], stride, py.w[py.off[i]:py.off[i+1]])
		}
		transpose(midT[i0*ch:], h*ch, band, ncol*ch, n, ncol, ch)
	}
	// Horizontal: the same on midT, 8 output columns at a time,
	// transposed back into place.
	out := make([]uint8, w*h*ch)
	for i0 := 0; i0 < w; i0 += 8 {
		n := min(8, w-i0)
		for i := i0; i < i0+n; i++ {
			base := (px.start[i] - clo) * h * ch
			vsum(band[(i-i0)*h*ch:(i-i0+1)*h*ch], midT[base:], h*ch, px.w[px.off[i]:px.off[i+1]])
		}
		transpose(out[i0*ch:], w*ch, band, h*ch, n, h, ch)
	}
	return out, true
}
