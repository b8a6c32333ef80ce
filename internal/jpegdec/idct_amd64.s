#include "textflag.h"

// func idct4AVX2(blk *[64]int32, dst *byte, stride int, k *idct4Consts)
//
// idct4 in AVX2. Column pass: the coefficient rows F0..F7 (F4 unused) are
// vectors over the eight columns u, so the four output rows T0..T3 come
// out as vectors too. Transposed (two 4×4 transposes, one per 128-bit
// lane), they become X_u, vectors over the four rows y, and the row pass
// sums X_u·w(m, u) for output columns 0 and 1 side by side; columns 3 and
// 2 are the even sum minus the odd sum. Shift, saturate to bytes (which is
// clamp8) and reorder into rows.
//
// k layout (idct4Consts): col at 0 (16 × 4 bytes), row at 64 (7 × 32),
// bias at 288, shuf at 320.
TEXT ·idct4AVX2(SB), NOSPLIT, $0-32
	MOVQ blk+0(FP), SI
	MOVQ dst+8(FP), DI
	MOVQ stride+16(FP), DX
	MOVQ k+24(FP), R8

	VMOVDQU 0(SI), Y0
	VMOVDQU 32(SI), Y1
	VMOVDQU 64(SI), Y2
	VMOVDQU 96(SI), Y3
	VMOVDQU 160(SI), Y5
	VMOVDQU 192(SI), Y6
	VMOVDQU 224(SI), Y7

	// dc = F0·kDC + rounding
	VPBROADCASTD 0(R8), Y8
	VPMULLD Y8, Y0, Y0
	VPBROADCASTD 4(R8), Y8
	VPADDD Y8, Y0, Y0
	// e0 = dc + F2·k4e2[0] + F6·k4e6[0]
	VPBROADCASTD 8(R8), Y8
	VPMULLD Y8, Y2, Y9
	VPBROADCASTD 12(R8), Y8
	VPMULLD Y8, Y6, Y10
	VPADDD Y10, Y9, Y9
	VPADDD Y0, Y9, Y9
	// e1 = dc + F2·k4e2[1] + F6·k4e6[1]
	VPBROADCASTD 16(R8), Y8
	VPMULLD Y8, Y2, Y10
	VPBROADCASTD 20(R8), Y8
	VPMULLD Y8, Y6, Y11
	VPADDD Y11, Y10, Y10
	VPADDD Y0, Y10, Y10
	// o0 = F1·kOdd4[0][0] + F3·kOdd4[0][1] + F5·kOdd4[0][2] + F7·kOdd4[0][3]
	VPBROADCASTD 24(R8), Y8
	VPMULLD Y8, Y1, Y11
	VPBROADCASTD 28(R8), Y8
	VPMULLD Y8, Y3, Y12
	VPADDD Y12, Y11, Y11
	VPBROADCASTD 32(R8), Y8
	VPMULLD Y8, Y5, Y12
	VPADDD Y12, Y11, Y11
	VPBROADCASTD 36(R8), Y8
	VPMULLD Y8, Y7, Y12
	VPADDD Y12, Y11, Y11
	// o1, with kOdd4[1]
	VPBROADCASTD 40(R8), Y8
	VPMULLD Y8, Y1, Y12
	VPBROADCASTD 44(R8), Y8
	VPMULLD Y8, Y3, Y13
	VPADDD Y13, Y12, Y12
	VPBROADCASTD 48(R8), Y8
	VPMULLD Y8, Y5, Y13
	VPADDD Y13, Y12, Y12
	VPBROADCASTD 52(R8), Y8
	VPMULLD Y8, Y7, Y13
	VPADDD Y13, Y12, Y12
	// T0 = e0+o0, T3 = e0-o0, T1 = e1+o1, T2 = e1-o1, each >> pass1Shift
	VPADDD Y11, Y9, Y0
	VPSUBD Y11, Y9, Y3
	VPADDD Y12, Y10, Y1
	VPSUBD Y12, Y10, Y2
	VPSRAD $11, Y0, Y0
	VPSRAD $11, Y1, Y1
	VPSRAD $11, Y2, Y2
	VPSRAD $11, Y3, Y3

	// Transpose: Z0 = [X0|X4], Z1 = [X1|X5], Z2 = [X2|X6], Z3 = [X3|X7]
	VPUNPCKLDQ Y1, Y0, Y4
	VPUNPCKHDQ Y1, Y0, Y5
	VPUNPCKLDQ Y3, Y2, Y6
	VPUNPCKHDQ Y3, Y2, Y7
	VPUNPCKLQDQ Y6, Y4, Y0
	VPUNPCKHQDQ Y6, Y4, Y1
	VPUNPCKLQDQ Y7, Y5, Y2
	VPUNPCKHQDQ Y7, Y5, Y3

	// Even part: bias + X0·w0 + X2·w2 + X6·w6
	VMOVDQU 288(R8), Y8
	VPERMQ $0x44, Y0, Y4
	VPMULLD 64(R8), Y4, Y4
	VPADDD Y4, Y8, Y8
	VPERMQ $0x44, Y2, Y4
	VPMULLD 128(R8), Y4, Y4
	VPADDD Y4, Y8, Y8
	VPERMQ $0xEE, Y2, Y4
	VPMULLD 224(R8), Y4, Y4
	VPADDD Y4, Y8, Y8
	// Odd part: X1·w1 + X3·w3 + X5·w5 + X7·w7
	VPERMQ $0x44, Y1, Y9
	VPMULLD 96(R8), Y9, Y9
	VPERMQ $0x44, Y3, Y4
	VPMULLD 160(R8), Y4, Y4
	VPADDD Y4, Y9, Y9
	VPERMQ $0xEE, Y1, Y4
	VPMULLD 192(R8), Y4, Y4
	VPADDD Y4, Y9, Y9
	VPERMQ $0xEE, Y3, Y4
	VPMULLD 256(R8), Y4, Y4
	VPADDD Y4, Y9, Y9

	// [col0 | col1] = E + O, [col3 | col2] = E - O, >> pass2Shift, to bytes
	VPADDD Y9, Y8, Y10
	VPSUBD Y9, Y8, Y11
	VPSRAD $15, Y10, Y10
	VPSRAD $15, Y11, Y11
	VPACKSSDW Y11, Y10, Y10
	VPACKUSWB Y10, Y10, Y10
	VPERMQ $0x08, Y10, Y10
	VMOVDQU 320(R8), X11
	VPSHUFB X11, X10, X10

	VMOVD X10, AX
	MOVL AX, (DI)
	VPEXTRD $1, X10, AX
	MOVL AX, (DI)(DX*1)
	LEAQ (DI)(DX*2), DI
	VPEXTRD $2, X10, AX
	MOVL AX, (DI)
	VPEXTRD $3, X10, AX
	MOVL AX, (DI)(DX*1)
	VZEROUPPER
	RET

// idct8 in AVX2: the column pass on the coefficient rows F0..F7 (vectors
// over the eight columns), a transpose, the same pass over the rows, a
// transpose back, and saturation to bytes (clamp8). The operations are
// idct8's, in its order, on int32 lanes (VPMULLD wraps as Go's int32
// multiplication does), so the bytes are identical (TestIDCT8MatchesScalar);
// idct8's shortcut for rows with only a DC computes the same values.
//
// k layout (idct8Consts): kDC 0, pass-1 rounding 4, k2a 8, k2b 12,
// kOdd8[x][j] at 16+16x+4j, bias 80, the byte-row permutation at 96.

// IDCT8PASS: in Y0..Y7 = F0..F7 (vectors over the other axis); out
// T0..T7 in Y11 Y12 Y13 Y14 Y9 Y10 Y6 Y2, each (e ± o + rnd) >> sh.
#define IDCT8ODD(o0, o1, o2, o3) \
	VPBROADCASTD o0(R8), Y8; \
	VPMULLD Y8, Y1, Y0; \
	VPBROADCASTD o1(R8), Y8; \
	VPMULLD Y8, Y3, Y4; \
	VPADDD Y4, Y0, Y0; \
	VPBROADCASTD o2(R8), Y8; \
	VPMULLD Y8, Y5, Y4; \
	VPADDD Y4, Y0, Y0; \
	VPBROADCASTD o3(R8), Y8; \
	VPMULLD Y8, Y7, Y4; \
	VPADDD Y4, Y0, Y0

#define IDCT8PASS(rnd, sh) \
	VPBROADCASTD 0(R8), Y8; \
	VPADDD Y4, Y0, Y9; \
	VPSUBD Y4, Y0, Y10; \
	VPMULLD Y8, Y9, Y9; \
	VPMULLD Y8, Y10, Y10; \
	VPBROADCASTD rnd(R8), Y8; \
	VPADDD Y8, Y9, Y9; \
	VPADDD Y8, Y10, Y10; \
	VPBROADCASTD 8(R8), Y8; \
	VPMULLD Y8, Y2, Y0; \
	VPMULLD Y8, Y6, Y4; \
	VPBROADCASTD 12(R8), Y8; \
	VPMULLD Y8, Y6, Y11; \
	VPADDD Y11, Y0, Y0; \
	VPMULLD Y8, Y2, Y11; \
	VPSUBD Y4, Y11, Y11; \
	VPADDD Y0, Y9, Y2; \
	VPSUBD Y0, Y9, Y9; \
	VPADDD Y11, Y10, Y6; \
	VPSUBD Y11, Y10, Y10; \
	IDCT8ODD(16, 20, 24, 28); \
	VPADDD Y0, Y2, Y11; \
	VPSUBD Y0, Y2, Y2; \
	VPSRAD $sh, Y11, Y11; \
	VPSRAD $sh, Y2, Y2; \
	IDCT8ODD(32, 36, 40, 44); \
	VPADDD Y0, Y6, Y12; \
	VPSUBD Y0, Y6, Y6; \
	VPSRAD $sh, Y12, Y12; \
	VPSRAD $sh, Y6, Y6; \
	IDCT8ODD(48, 52, 56, 60); \
	VPADDD Y0, Y10, Y13; \
	VPSUBD Y0, Y10, Y10; \
	VPSRAD $sh, Y13, Y13; \
	VPSRAD $sh, Y10, Y10; \
	IDCT8ODD(64, 68, 72, 76); \
	VPADDD Y0, Y9, Y14; \
	VPSUBD Y0, Y9, Y9; \
	VPSRAD $sh, Y14, Y14; \
	VPSRAD $sh, Y9, Y9

// IDCT8TRANSPOSE: rows R0..R7 in Y11 Y12 Y13 Y14 Y9 Y10 Y6 Y2 (lanes
// 0..7) become columns: column u in Yu.
#define IDCT8TRANSPOSE \
	VPUNPCKLDQ Y12, Y11, Y0; \
	VPUNPCKHDQ Y12, Y11, Y1; \
	VPUNPCKLDQ Y14, Y13, Y3; \
	VPUNPCKHDQ Y14, Y13, Y4; \
	VPUNPCKLDQ Y10, Y9, Y5; \
	VPUNPCKHDQ Y10, Y9, Y7; \
	VPUNPCKLDQ Y2, Y6, Y8; \
	VPUNPCKHDQ Y2, Y6, Y15; \
	VPUNPCKLQDQ Y3, Y0, Y2; \
	VPUNPCKHQDQ Y3, Y0, Y6; \
	VPUNPCKLQDQ Y4, Y1, Y9; \
	VPUNPCKHQDQ Y4, Y1, Y10; \
	VPUNPCKLQDQ Y8, Y5, Y11; \
	VPUNPCKHQDQ Y8, Y5, Y12; \
	VPUNPCKLQDQ Y15, Y7, Y13; \
	VPUNPCKHQDQ Y15, Y7, Y14; \
	VPERM2I128 $0x20, Y11, Y2, Y0; \
	VPERM2I128 $0x31, Y11, Y2, Y4; \
	VPERM2I128 $0x20, Y12, Y6, Y1; \
	VPERM2I128 $0x31, Y12, Y6, Y5; \
	VPERM2I128 $0x20, Y13, Y9, Y2; \
	VPERM2I128 $0x31, Y13, Y9, Y6; \
	VPERM2I128 $0x20, Y14, Y10, Y3; \
	VPERM2I128 $0x31, Y14, Y10, Y7

// func idct8AVX2(blk *[64]int32, dst *byte, stride int, k *idct8Consts)
TEXT ·idct8AVX2(SB), NOSPLIT, $0-32
	MOVQ blk+0(FP), SI
	MOVQ dst+8(FP), DI
	MOVQ stride+16(FP), DX
	MOVQ k+24(FP), R8

	VMOVDQU 0(SI), Y0
	VMOVDQU 32(SI), Y1
	VMOVDQU 64(SI), Y2
	VMOVDQU 96(SI), Y3
	VMOVDQU 128(SI), Y4
	VMOVDQU 160(SI), Y5
	VMOVDQU 192(SI), Y6
	VMOVDQU 224(SI), Y7

	IDCT8PASS(4, 11)
	IDCT8TRANSPOSE
	IDCT8PASS(80, 15)
	IDCT8TRANSPOSE

	// Rows 0..3, then 4..7: to words, to bytes (saturating: clamp8),
	// then the dwords reordered so that each qword is one row.
	VMOVDQU 96(R8), Y15
	VPACKSSDW Y1, Y0, Y8
	VPACKSSDW Y3, Y2, Y9
	VPACKUSWB Y9, Y8, Y8
	VPERMD Y8, Y15, Y8
	VPACKSSDW Y5, Y4, Y10
	VPACKSSDW Y7, Y6, Y11
	VPACKUSWB Y11, Y10, Y10
	VPERMD Y10, Y15, Y10

	LEAQ (DI)(DX*2), R9
	LEAQ (DI)(DX*4), R10
	LEAQ (R10)(DX*2), R11
	VMOVQ X8, (DI)
	VPEXTRQ $1, X8, (DI)(DX*1)
	VEXTRACTI128 $1, Y8, X9
	VMOVQ X9, (R9)
	VPEXTRQ $1, X9, (R9)(DX*1)
	VMOVQ X10, (R10)
	VPEXTRQ $1, X10, (R10)(DX*1)
	VEXTRACTI128 $1, Y10, X11
	VMOVQ X11, (R11)
	VPEXTRQ $1, X11, (R11)(DX*1)
	VZEROUPPER
	RET
