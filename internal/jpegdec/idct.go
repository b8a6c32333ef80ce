package jpegdec

import "math"

// Inverse DCTs producing 8×8, 4×4, 2×2 and 1×1 output per block.
//
// The 1-D JPEG IDCT is f(x) = ½ Σ_u C(u) F(u) cos((2x+1)uπ/16), C(0) = 1/√2.
// The reduced transforms output the mean of f over groups of 8/N adjacent x,
// which is again linear in F: g(m) = Σ_u W_N[m][u] F(u). So a reduced decode
// equals a full decode box-filtered by the scale, up to rounding and clamping.
// Summing the cosines over a group makes many weights vanish, which is what
// makes the small transforms cheap:
//   - N=4: u=4 contributes nothing; even u are symmetric and odd u
//     antisymmetric about the block centre, so two outputs give four.
//   - N=2: only u=0 and the odd u contribute, antisymmetrically.
//   - N=1: only the DC term survives: g = F(0)/8.
//
// All weights are fixed point with constBits fractional bits. The vertical
// pass keeps passBits extra bits of precision for the horizontal pass.

const (
	constBits  = 13
	passBits   = 2
	pass1Shift = constBits - passBits
	pass2Shift = constBits + passBits
)

// Weights, filled by init from the formula above.
var (
	// N=8: kDC = W[x][0] (= ±W[x][4]); k2a/k2b the F2/F6 rotation; kOdd[x][j]
	// the weight of F(2j+1) at output x (x < 4).
	kDC      int32
	k2a, k2b int32
	kOdd8    [4][4]int32
	// N=4: even weights of F2 and F6 at outputs 0 and 1; odd weights.
	k4e2, k4e6 [2]int32
	kOdd4      [2][4]int32
	// N=2: odd weights at output 0.
	kOdd2 [4]int32
)

func weight(n, m, u int) float64 {
	g := 8 / n
	sum := 0.0
	for x := g * m; x < g*(m+1); x++ {
		sum += math.Cos(float64((2*x+1)*u) * math.Pi / 16)
	}
	c := 1.0
	if u == 0 {
		c = 1 / math.Sqrt2
	}
	return 0.5 * c * sum / float64(g)
}

func fix(w float64) int32 { return int32(math.Round(w * (1 << constBits))) }

func init() {
	kDC = fix(weight(8, 0, 0))
	k2a, k2b = fix(weight(8, 0, 2)), fix(weight(8, 0, 6))
	for x := 0; x < 4; x++ {
		for j := 0; j < 4; j++ {
			kOdd8[x][j] = fix(weight(8, x, 2*j+1))
		}
	}
	for m := 0; m < 2; m++ {
		k4e2[m], k4e6[m] = fix(weight(4, m, 2)), fix(weight(4, m, 6))
		for j := 0; j < 4; j++ {
			kOdd4[m][j] = fix(weight(4, m, 2*j+1))
		}
	}
	for j := 0; j < 4; j++ {
		kOdd2[j] = fix(weight(2, 0, 2*j+1))
	}
	idct4K = newIDCT4Consts()
	idct8K = newIDCT8Consts()
}

// clamp8 saturates to 0..255.
func clamp8(v int32) uint8 {
	if uint32(v) <= 255 {
		return uint8(v)
	}
	return uint8(^(v >> 31))
}

// bias rounds the final descale and adds the +128 level shift.
const bias = 1<<(pass2Shift-1) + 128<<pass2Shift

// idct8 transforms a dequantized block (natural order) into 8×8 samples.
func idct8(blk *[64]int32, dst []byte, stride int) {
	var t [64]int32
	for u := 0; u < 8; u++ {
		f0, f1, f2, f3 := blk[u], blk[8+u], blk[16+u], blk[24+u]
		f4, f5, f6, f7 := blk[32+u], blk[40+u], blk[48+u], blk[56+u]
		if f1|f2|f3|f4|f5|f6|f7 == 0 {
			v := (f0*kDC + 1<<(pass1Shift-1)) >> pass1Shift
			t[u], t[8+u], t[16+u], t[24+u] = v, v, v, v
			t[32+u], t[40+u], t[48+u], t[56+u] = v, v, v, v
			continue
		}
		p, q := (f0+f4)*kDC, (f0-f4)*kDC
		a := f2*k2a + f6*k2b
		b := f2*k2b - f6*k2a
		e0, e3, e1, e2 := p+a, p-a, q+b, q-b
		o0 := f1*kOdd8[0][0] + f3*kOdd8[0][1] + f5*kOdd8[0][2] + f7*kOdd8[0][3]
		o1 := f1*kOdd8[1][0] + f3*kOdd8[1][1] + f5*kOdd8[1][2] + f7*kOdd8[1][3]
		o2 := f1*kOdd8[2][0] + f3*kOdd8[2][1] + f5*kOdd8[2][2] + f7*kOdd8[2][3]
		o3 := f1*kOdd8[3][0] + f3*kOdd8[3][1] + f5*kOdd8[3][2] + f7*kOdd8[3][3]
		const r = 1 << (pass1Shift - 1)
		t[u] = (e0 + o0 + r) >> pass1Shift
		t[56+u] = (e0 - o0 + r) >> pass1Shift
		t[8+u] = (e1 + o1 + r) >> pass1Shift
		t[48+u] = (e1 - o1 + r) >> pass1Shift
		t[16+u] = (e2 + o2 + r) >> pass1Shift
		t[40+u] = (e2 - o2 + r) >> pass1Shift
		t[24+u] = (e3 + o3 + r) >> pass1Shift
		t[32+u] = (e3 - o3 + r) >> pass1Shift
	}
	for y := 0; y < 8; y++ {
		row := t[y*8 : y*8+8 : y*8+8]
		out := dst[y*stride : y*stride+8 : y*stride+8]
		f0, f1, f2, f3 := row[0], row[1], row[2], row[3]
		f4, f5, f6, f7 := row[4], row[5], row[6], row[7]
		if f1|f2|f3|f4|f5|f6|f7 == 0 {
			v := clamp8((f0*kDC + bias) >> pass2Shift)
			out[0], out[1], out[2], out[3] = v, v, v, v
			out[4], out[5], out[6], out[7] = v, v, v, v
			continue
		}
		p, q := (f0+f4)*kDC+bias, (f0-f4)*kDC+bias
		a := f2*k2a + f6*k2b
		b := f2*k2b - f6*k2a
		e0, e3, e1, e2 := p+a, p-a, q+b, q-b
		o0 := f1*kOdd8[0][0] + f3*kOdd8[0][1] + f5*kOdd8[0][2] + f7*kOdd8[0][3]
		o1 := f1*kOdd8[1][0] + f3*kOdd8[1][1] + f5*kOdd8[1][2] + f7*kOdd8[1][3]
		o2 := f1*kOdd8[2][0] + f3*kOdd8[2][1] + f5*kOdd8[2][2] + f7*kOdd8[2][3]
		o3 := f1*kOdd8[3][0] + f3*kOdd8[3][1] + f5*kOdd8[3][2] + f7*kOdd8[3][3]
		out[0] = clamp8((e0 + o0) >> pass2Shift)
		out[7] = clamp8((e0 - o0) >> pass2Shift)
		out[1] = clamp8((e1 + o1) >> pass2Shift)
		out[6] = clamp8((e1 - o1) >> pass2Shift)
		out[2] = clamp8((e2 + o2) >> pass2Shift)
		out[5] = clamp8((e2 - o2) >> pass2Shift)
		out[3] = clamp8((e3 + o3) >> pass2Shift)
		out[4] = clamp8((e3 - o3) >> pass2Shift)
	}
}

// idct4 produces the 4×4 box-averaged output of a block.
func idct4(blk *[64]int32, dst []byte, stride int) {
	var t [32]int32 // 4 rows × 8 columns; column 4 stays unused
	for _, u := range [7]int{0, 1, 2, 3, 5, 6, 7} {
		f0, f1, f2, f3 := blk[u], blk[8+u], blk[16+u], blk[24+u]
		f5, f6, f7 := blk[40+u], blk[48+u], blk[56+u]
		if f1|f2|f3|f5|f6|f7 == 0 {
			v := (f0*kDC + 1<<(pass1Shift-1)) >> pass1Shift
			t[u], t[8+u], t[16+u], t[24+u] = v, v, v, v
			continue
		}
		dc := f0*kDC + 1<<(pass1Shift-1)
		e0 := dc + f2*k4e2[0] + f6*k4e6[0]
		e1 := dc + f2*k4e2[1] + f6*k4e6[1]
		o0 := f1*kOdd4[0][0] + f3*kOdd4[0][1] + f5*kOdd4[0][2] + f7*kOdd4[0][3]
		o1 := f1*kOdd4[1][0] + f3*kOdd4[1][1] + f5*kOdd4[1][2] + f7*kOdd4[1][3]
		t[u] = (e0 + o0) >> pass1Shift
		t[24+u] = (e0 - o0) >> pass1Shift
		t[8+u] = (e1 + o1) >> pass1Shift
		t[16+u] = (e1 - o1) >> pass1Shift
	}
	for y := 0; y < 4; y++ {
		row := t[y*8 : y*8+8 : y*8+8]
		out := dst[y*stride : y*stride+4 : y*stride+4]
		f0, f1, f2, f3 := row[0], row[1], row[2], row[3]
		f5, f6, f7 := row[5], row[6], row[7]
		if f1|f2|f3|f5|f6|f7 == 0 {
			v := clamp8((f0*kDC + bias) >> pass2Shift)
			out[0], out[1], out[2], out[3] = v, v, v, v
			continue
		}
		dc := f0*kDC + bias
		e0 := dc + f2*k4e2[0] + f6*k4e6[0]
		e1 := dc + f2*k4e2[1] + f6*k4e6[1]
		o0 := f1*kOdd4[0][0] + f3*kOdd4[0][1] + f5*kOdd4[0][2] + f7*kOdd4[0][3]
		o1 := f1*kOdd4[1][0] + f3*kOdd4[1][1] + f5*kOdd4[1][2] + f7*kOdd4[1][3]
		out[0] = clamp8((e0 + o0) >> pass2Shift)
		out[3] = clamp8((e0 - o0) >> pass2Shift)
		out[1] = clamp8((e1 + o1) >> pass2Shift)
		out[2] = clamp8((e1 - o1) >> pass2Shift)
	}
}

// idct2 produces the 2×2 box-averaged output of a block.
func idct2(blk *[64]int32, dst []byte, stride int) {
	var t [16]int32 // 2 rows × 8 columns; only 0,1,3,5,7 used
	for _, u := range [5]int{0, 1, 3, 5, 7} {
		dc := blk[u]*kDC + 1<<(pass1Shift-1)
		o := blk[8+u]*kOdd2[0] + blk[24+u]*kOdd2[1] + blk[40+u]*kOdd2[2] + blk[56+u]*kOdd2[3]
		t[u] = (dc + o) >> pass1Shift
		t[8+u] = (dc - o) >> pass1Shift
	}
	for y := 0; y < 2; y++ {
		row := t[y*8 : y*8+8 : y*8+8]
		dc := row[0]*kDC + bias
		o := row[1]*kOdd2[0] + row[3]*kOdd2[1] + row[5]*kOdd2[2] + row[7]*kOdd2[3]
		dst[y*stride] = clamp8((dc + o) >> pass2Shift)
		dst[y*stride+1] = clamp8((dc - o) >> pass2Shift)
	}
}

// dcOnly is every sample idct8, idct4 and idct2 (and their vector
// kernels) produce for a block whose AC coefficients are all zero, f0 its
// dequantized DC: each pass then reduces to its DC term
// (TestDCOnlyMatchesIDCT).
func dcOnly(f0 int32) uint8 {
	v := (f0*kDC + 1<<(pass1Shift-1)) >> pass1Shift
	return clamp8((v*kDC + bias) >> pass2Shift)
}

// fillBlock sets the n×n samples at dst to v.
func fillBlock(dst []byte, stride, n int, v uint8) {
	for y := range n {
		row := dst[y*stride : y*stride+n]
		for i := range row {
			row[i] = v
		}
	}
}

// idct1 is the 1×1 output: the block mean.
func idct1(dc int32) uint8 {
	return clamp8((dc+4)>>3 + 128)
}
