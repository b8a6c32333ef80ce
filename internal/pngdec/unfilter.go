package pngdec

import (
	"encoding/binary"
	"fmt"
)

// unfilter reverses the per-row filters (PNG specification 9.2) of the
// h rows that start at buf[off:], each a filter byte and w pixels of in
// bytes, writing row y's pixels of out bytes (out == in, or 4 for RGB,
// whose alpha it sets to 255) to buf[y*w*out:].
//
// Each row is written in front of the bytes it is read from, so the
// forward pass never overwrites data it has yet to read:
//   - out == in: off is 0 and row y's data starts y+1 bytes after the
//     place its pixels go (the filter bytes of the rows so far);
//   - RGB: off is h*(w-1), and pixel x of row y is written no further than
//     the end of the three bytes it is read from, because
//     y*(w-1)+x <= h*(w-1) (the slack shrinks to nothing at the last
//     pixel: a pixel's three bytes are read before its four are written).
//
// The row above, which three of the filters predict from, is the row of
// pixels already written.
func unfilter(buf []byte, off, w, h, in, out int) error {
	rowRaw := 1 + w*in
	stride := w * out
	zero := make([]byte, stride)
	scratch := make([]byte, rowRaw-1)
	for y := range h {
		r := off + y*rowRaw
		ft := buf[r]
		src := buf[r+1 : r+rowRaw : r+rowRaw]
		dst := buf[y*stride : (y+1)*stride : (y+1)*stride]
		prev := zero
		if y > 0 {
			prev = buf[(y-1)*stride : y*stride : y*stride]
		}
		if ft > filterPaeth {
			return FormatError(fmt.Sprintf("bad filter type %d in row %d", ft, y))
		}
		if ft == filterPaeth && (y+1)*stride > r+1 {
			// Paeth goes one channel at a time, so the row's pixels
			// must not land on its own data.
			src = scratch[:copy(scratch, src)]
		}
		unfilterAny(ft, dst, src, prev, in)
	}
	return nil
}

// unfilterAny unfilters one row of in bytes a pixel (RGB rows come out as
// RGBA) with the loop for its layout and filter.
func unfilterAny(ft byte, dst, src, prev []byte, in int) {
	switch {
	case in == 3:
		unfilterRGB(ft, dst, src, prev)
	case in == 4 && ft >= filterSub && ft != filterUp:
		unfilterRGBA(ft, dst, src, prev)
	default:
		unfilterRow(ft, dst, src, prev, in)
	}
}

// adam7 are the passes of an interlaced picture (PNG specification 8.2):
// first column and row, then the steps between them.
var adam7 = [7][4]int{{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}}

// passSize is the width and height of pass p of a w×h picture; a pass
// with either zero has no rows, not even filter bytes.
func passSize(p [4]int, w, h int) (int, int) {
	if w <= p[0] || h <= p[1] {
		return 0, 0
	}
	return (w - p[0] + p[2] - 1) / p[2], (h - p[1] + p[3] - 1) / p[3]
}

// deinterlace unfilters the seven passes in raw, each a run of rows of its
// own (a filter byte and pw pixels of in bytes, filtered against the
// pass's previous row), and places their pixels of out bytes in pix, a
// w-pixel-wide picture.
func deinterlace(pix, raw []byte, w, h, in, out int) error {
	cur, prev := make([]byte, w*out), make([]byte, w*out)
	stride := w * out
	for pi, p := range adam7 {
		pw, ph := passSize(p, w, h)
		if pw == 0 {
			continue
		}
		rowRaw := 1 + pw*in
		clear(prev[:pw*out])
		for j := range ph {
			ft := raw[0]
			if ft > filterPaeth {
				return FormatError(fmt.Sprintf("bad filter type %d in row %d of pass %d", ft, j, pi+1))
			}
			unfilterAny(ft, cur[:pw*out], raw[1:rowRaw], prev[:pw*out], in)
			raw = raw[rowRaw:]
			y := p[1] + j*p[3]
			row := pix[y*stride : (y+1)*stride]
			for i := range pw {
				x := (p[0] + i*p[2]) * out
				copy(row[x:x+out], cur[i*out:(i+1)*out])
			}
			cur, prev = prev, cur
		}
	}
	return nil
}

// unfilterRow unfilters a row whose pixels keep their layout (bpp bytes).
// dst may start before src in the same array (see unfilter): every loop
// reads a byte of src before it writes the byte of dst that may hold it.
func unfilterRow(ft byte, dst, src, prev []byte, bpp int) {
	n := len(dst)
	src = src[:n]
	prev = prev[:n]
	switch ft {
	case filterNone:
		copy(dst, src)
	case filterSub:
		copy(dst[:bpp], src[:bpp])
		for i := bpp; i < n; i++ {
			dst[i] = src[i] + dst[i-bpp]
		}
	case filterUp:
		i := 0
		for ; i+8 <= n; i += 8 {
			binary.LittleEndian.PutUint64(dst[i:], addBytes(binary.LittleEndian.Uint64(src[i:]), binary.LittleEndian.Uint64(prev[i:])))
		}
		for ; i < n; i++ {
			dst[i] = src[i] + prev[i]
		}
	case filterAvg:
		for i := range bpp {
			dst[i] = src[i] + prev[i]>>1
		}
		for i := bpp; i < n; i++ {
			dst[i] = src[i] + uint8((uint(dst[i-bpp])+uint(prev[i]))>>1)
		}
	case filterPaeth:
		paethRow(dst, src, prev, bpp, bpp)
	}
}

// unfilterRGB unfilters an RGB row into RGBA pixels with alpha 255.
// dst may end where src does (see unfilter): each pixel's three bytes are
// read before its four are written. One loop per filter type keeps the
// type's test out of the per-pixel work.
func unfilterRGB(ft byte, dst, src, prev []byte) {
	// Each loop walks the three slices forward together, so that the loop
	// condition proves every index in bounds.
	var a0, a1, a2 uint8 // the left neighbour, 0 at x == 0
	switch ft {
	case filterNone:
		for len(dst) >= 4 && len(src) >= 3 {
			s0, s1, s2 := src[0], src[1], src[2]
			dst[0], dst[1], dst[2], dst[3] = s0, s1, s2, 255
			dst, src = dst[4:], src[3:]
		}
	case filterSub:
		for len(dst) >= 4 && len(src) >= 3 {
			a0, a1, a2 = src[0]+a0, src[1]+a1, src[2]+a2
			dst[0], dst[1], dst[2], dst[3] = a0, a1, a2, 255
			dst, src = dst[4:], src[3:]
		}
	case filterUp:
		for len(dst) >= 4 && len(src) >= 3 && len(prev) >= 4 {
			s0, s1, s2 := src[0], src[1], src[2]
			dst[0], dst[1], dst[2], dst[3] = s0+prev[0], s1+prev[1], s2+prev[2], 255
			dst, src, prev = dst[4:], src[3:], prev[4:]
		}
	case filterAvg:
		for len(dst) >= 4 && len(src) >= 3 && len(prev) >= 4 {
			s0, s1, s2 := src[0], src[1], src[2]
			a0 = s0 + uint8((uint(a0)+uint(prev[0]))>>1)
			a1 = s1 + uint8((uint(a1)+uint(prev[1]))>>1)
			a2 = s2 + uint8((uint(a2)+uint(prev[2]))>>1)
			dst[0], dst[1], dst[2], dst[3] = a0, a1, a2, 255
			dst, src, prev = dst[4:], src[3:], prev[4:]
		}
	case filterPaeth:
		paethRow(dst, src, prev, 3, 4)
	}
}

// unfilterRGBA is unfilterRow for four bytes per pixel and the filters
// that predict from the left neighbour, a pixel at a time.
func unfilterRGBA(ft byte, dst, src, prev []byte) {
	var a0, a1, a2, a3 uint8 // the left neighbour, 0 at x == 0
	switch ft {
	case filterSub:
		for len(dst) >= 4 && len(src) >= 4 {
			s0, s1, s2, s3 := src[0], src[1], src[2], src[3]
			a0, a1, a2, a3 = s0+a0, s1+a1, s2+a2, s3+a3
			dst[0], dst[1], dst[2], dst[3] = a0, a1, a2, a3
			dst, src = dst[4:], src[4:]
		}
	case filterAvg:
		for len(dst) >= 4 && len(src) >= 4 && len(prev) >= 4 {
			s0, s1, s2, s3 := src[0], src[1], src[2], src[3]
			a0 = s0 + uint8((uint(a0)+uint(prev[0]))>>1)
			a1 = s1 + uint8((uint(a1)+uint(prev[1]))>>1)
			a2 = s2 + uint8((uint(a2)+uint(prev[2]))>>1)
			a3 = s3 + uint8((uint(a3)+uint(prev[3]))>>1)
			dst[0], dst[1], dst[2], dst[3] = a0, a1, a2, a3
			dst, src, prev = dst[4:], src[4:], prev[4:]
		}
	case filterPaeth:
		paethRow(dst, src, prev, 4, 4)
	}
}

// paethRow reverses the Paeth filter (RGB rows come out as RGBA with
// alpha 255). The chain through a row, each
// pixel predicted from the one just computed, is the filter's cost. src
// must not overlap dst.
func paethRow(dst, src, prev []byte, in, out int) {
	if havePaethVector && out == 4 {
		n := len(dst) / 4
		// The kernel reads and writes whole pixels: check the slices here.
		_, _, _ = dst[:4*n], src[:in*n], prev[:4*n]
		paethSSE2(dst[:4*n], src, prev, in)
		return
	}
	paethScalar(dst, src, prev, in, out)
}

// paethScalar is paethRow one channel at a time along the row, as
// image/png does: one channel's chain keeps its few values in registers
// where interleaving the channels spills them.
func paethScalar(dst, src, prev []byte, in, out int) {
	prev = prev[:len(dst)]
	for k := range in {
		a, c := 0, 0 // left and above left, 0 at x == 0
		i := k
		for x := k; x < len(dst); x += out {
			b := int(prev[x])
			a = int(src[i]) + paeth(a, b, c)
			dst[x] = byte(a)
			a &= 0xff
			c = b
			i += in
		}
	}
	if in < out {
		for x := in; x < len(dst); x += out {
			dst[x] = 255
		}
	}
}

// addBytes adds eight bytes to eight bytes, each modulo 256.
func addBytes(x, y uint64) uint64 {
	const high = 0x8080808080808080
	return ((x &^ high) + (y &^ high)) ^ ((x ^ y) & high)
}

// paeth is the Paeth predictor of a (left), b (above) and c (above left),
// PNG specification 9.4.
func paeth(a, b, c int) int {
	// Written for the compiler to inline it and choose with conditional
	// moves. Picking b, then c, only when strictly nearer keeps the
	// specification's order for ties (a, then b, then c).
	pa := b - c   // p - a, where p = a + b - c
	pb := a - c   // p - b
	pc := pa + pb // p - c
	if pa < 0 {
		pa = -pa
	}
	if pb < 0 {
		pb = -pb
	}
	if pc < 0 {
		pc = -pc
	}
	if pb < pa {
		pa, a = pb, b
	}
	if pc < pa {
		a = c
	}
	return a
}
