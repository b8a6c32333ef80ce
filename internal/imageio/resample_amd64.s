#include "textflag.h"

// func vsumRows(dst, src *uint8, stride, n int, w *uint32, pairs int)
//
// For each 16 columns: 16 samples of two rows widened to 16 bits and
// interleaved, multiplied by the pair of weights and summed in 32 bits
// (VPMADDWD), accumulated over the pairs; then rounded, shifted by
// weightBits (14) and saturated to 0..255 by the two packs, which is
// exactly clampShift.
TEXT ·vsumRows(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ stride+16(FP), DX
	MOVQ n+24(FP), CX
	MOVQ w+32(FP), R8
	MOVQ pairs+40(FP), R9
	MOVL $8192, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15
	XORQ R10, R10

columns:
	VMOVDQU Y15, Y0
	VMOVDQU Y15, Y1
	LEAQ (SI)(R10*1), R11
	MOVQ R8, R12
	MOVQ R9, R13

pairs:
	VPMOVZXBW (R11), Y2
	VPMOVZXBW (R11)(DX*1), Y3
	VPBROADCASTD (R12), Y4
	VPUNPCKLWD Y3, Y2, Y5
	VPUNPCKHWD Y3, Y2, Y6
	VPMADDWD Y4, Y5, Y5
	VPMADDWD Y4, Y6, Y6
	VPADDD Y5, Y0, Y0
	VPADDD Y6, Y1, Y1
	LEAQ (R11)(DX*2), R11
	ADDQ $4, R12
	DECQ R13
	JNZ pairs

	VPSRAD $14, Y0, Y0
	VPSRAD $14, Y1, Y1
	VPACKSSDW Y1, Y0, Y0
	VPACKUSWB Y0, Y0, Y0
	VPERMQ $0x08, Y0, Y0
	VMOVDQU X0, (DI)(R10*1)
	ADDQ $16, R10
	CMPQ R10, CX
	JLT columns
	VZEROUPPER
	RET

// func transpose8x8SSE2(dst *uint8, ds int, src *uint8, ss int)
//
// transpose8x8 in SSE2: rows a..h interleaved bytewise in pairs, then
// wordwise, then dwordwise, which leaves two columns in each register.
TEXT ·transpose8x8SSE2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ ds+8(FP), DX
	MOVQ src+16(FP), SI
	MOVQ ss+24(FP), CX

	MOVQ (SI), X0
	MOVQ (SI)(CX*1), X1
	LEAQ (SI)(CX*2), SI
	MOVQ (SI), X2
	MOVQ (SI)(CX*1), X3
	LEAQ (SI)(CX*2), SI
	MOVQ (SI), X4
	MOVQ (SI)(CX*1), X5
	LEAQ (SI)(CX*2), SI
	MOVQ (SI), X6
	MOVQ (SI)(CX*1), X7

	PUNPCKLBW X1, X0 // a0 b0 a1 b1 …
	PUNPCKLBW X3, X2 // c0 d0 …
	PUNPCKLBW X5, X4 // e0 f0 …
	PUNPCKLBW X7, X6 // g0 h0 …
	MOVO      X0, X1
	PUNPCKLWL X2, X0 // a0 b0 c0 d0 … a3 b3 c3 d3
	PUNPCKHWL X2, X1 // a4 b4 c4 d4 … a7 b7 c7 d7
	MOVO      X4, X5
	PUNPCKLWL X6, X4 // e0 f0 g0 h0 … e3 f3 g3 h3
	PUNPCKHWL X6, X5
	MOVO      X0, X2
	PUNPCKLLQ X4, X0 // columns 0 and 1
	PUNPCKHLQ X4, X2 // columns 2 and 3
	MOVO      X1, X3
	PUNPCKLLQ X5, X1 // columns 4 and 5
	PUNPCKHLQ X5, X3 // columns 6 and 7

	MOVQ   X0, (DI)
	MOVHPS X0, (DI)(DX*1)
	LEAQ   (DI)(DX*2), DI
	MOVQ   X2, (DI)
	MOVHPS X2, (DI)(DX*1)
	LEAQ   (DI)(DX*2), DI
	MOVQ   X1, (DI)
	MOVHPS X1, (DI)(DX*1)
	LEAQ   (DI)(DX*2), DI
	MOVQ   X3, (DI)
	MOVHPS X3, (DI)(DX*1)
	RET
