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
