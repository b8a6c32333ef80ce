package jpegdec

// idct4Consts lays out idct4's weights for the vector kernel (offsets are
// fixed in idct_amd64.s).
type idct4Consts struct {
	// col: scalars broadcast in the column pass: kDC, the pass-1 rounding,
	// k4e2[0], k4e6[0], k4e2[1], k4e6[1], kOdd4[0][0..3], kOdd4[1][0..3].
	col [16]int32
	// row[i], for coefficient u = 0,1,2,3,5,6,7: its weight at output
	// column 0 in lanes 0-3 and at column 1 in lanes 4-7 (columns 3 and 2
	// are the even part minus the odd part of the same sums).
	row  [7][8]int32
	bias [8]int32
	// shuf gathers output rows from the columns the row pass computes.
	shuf [16]byte
}

// idct4K is set by idct.go's init, once the weights exist.
var idct4K *idct4Consts

func newIDCT4Consts() *idct4Consts {
	k := new(idct4Consts)
	k.col = [16]int32{kDC, 1 << (pass1Shift - 1), k4e2[0], k4e6[0], k4e2[1], k4e6[1],
		kOdd4[0][0], kOdd4[0][1], kOdd4[0][2], kOdd4[0][3],
		kOdd4[1][0], kOdd4[1][1], kOdd4[1][2], kOdd4[1][3]}
	w := func(m, u int) int32 {
		switch u {
		case 0:
			return kDC
		case 2:
			return k4e2[m]
		case 6:
			return k4e6[m]
		}
		return kOdd4[m][u/2]
	}
	for i, u := range [7]int{0, 1, 2, 3, 5, 6, 7} {
		for l := range 4 {
			k.row[i][l], k.row[i][4+l] = w(0, u), w(1, u)
		}
	}
	for l := range k.bias {
		k.bias[l] = bias
	}
	k.shuf = [16]byte{0, 8, 12, 4, 1, 9, 13, 5, 2, 10, 14, 6, 3, 11, 15, 7}
	return k
}

// idct4x is idct4 on the vector kernel when there is one.
func idct4x(blk *[64]int32, dst []byte, stride int) {
	if haveIDCT4Vector {
		_ = dst[3*stride+3]
		idct4AVX2(blk, &dst[0], stride, idct4K)
		return
	}
	idct4(blk, dst, stride)
}

// idct8Consts lays out idct8's weights for the vector kernel (offsets are
// fixed in idct_amd64.s).
type idct8Consts struct {
	kDC, round, k2a, k2b int32
	odd                  [4][4]int32 // kOdd8
	bias                 int32
	_                    [3]int32
	// perm gathers each output row's two 4-byte halves into one qword.
	perm [8]int32
}

// idct8K is set by idct.go's init, once the weights exist.
var idct8K *idct8Consts

func newIDCT8Consts() *idct8Consts {
	return &idct8Consts{
		kDC: kDC, round: 1 << (pass1Shift - 1), k2a: k2a, k2b: k2b,
		odd: kOdd8, bias: bias,
		perm: [8]int32{0, 4, 1, 5, 2, 6, 3, 7},
	}
}

// idct8x is idct8 on the vector kernel when there is one.
func idct8x(blk *[64]int32, dst []byte, stride int) {
	if haveIDCT8Vector {
		_ = dst[7*stride+7]
		idct8AVX2(blk, &dst[0], stride, idct8K)
		return
	}
	idct8(blk, dst, stride)
}
