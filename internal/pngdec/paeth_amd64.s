#include "textflag.h"

// func paethSSE2(dst, src, prev []byte, in int)
//
// Reverses the Paeth filter for len(dst)/4 pixels of four bytes in dst
// and prev, of in (3 or 4) bytes in src; with in == 3 the fourth byte of
// each pixel written is 255. One pixel per iteration, its four channels
// as 16-bit lanes of one register: the chain from one pixel's result to
// the next (the left neighbour a) is the whole cost, and this makes it one
// chain per pixel instead of one per byte. The arithmetic is paeth's:
// p-a = b-c, p-b = a-c, p-c = their sum, absolute values as max(v, -v);
// b replaces a where |p-b| < |p-a|, then c where |p-c| is below the
// smaller of the two, which keeps the specification's order for ties.
TEXT ·paethSSE2(SB), NOSPLIT, $0-80
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), CX
	MOVQ src_base+24(FP), SI
	MOVQ prev_base+48(FP), DX
	MOVQ in+72(FP), R8
	SHRQ $2, CX

	PXOR X0, X0 // zero
	PXOR X1, X1 // a: the pixel to the left, as words
	PXOR X2, X2 // c: the pixel above left, as words
	MOVL $0x00ff00ff, AX
	MOVQ AX, X12
	PSHUFD $0, X12, X12 // 0x00ff in every word
	MOVL $0xff000000, AX
	MOVQ AX, X9 // alpha for RGB pixels
	TESTQ CX, CX
	JZ    done

loop:
	// b, and the filtered pixel x
	MOVL      (DX), AX
	MOVQ      AX, X3
	PUNPCKLBW X0, X3
	CMPQ      R8, $3
	JEQ       load3
	MOVL      (SI), AX
	JMP       loaded

load3:
	MOVWLZX (SI), AX
	MOVBLZX 2(SI), BX
	SHLL    $16, BX
	ORL     BX, AX

loaded:
	MOVQ      AX, X4
	PUNPCKLBW X0, X4

	// X5 = |p-a| = |b-c|, X6 = |p-b| = |a-c|, X7 = |p-c|
	MOVO   X3, X5
	PSUBW  X2, X5
	MOVO   X1, X6
	PSUBW  X2, X6
	MOVO   X5, X7
	PADDW  X6, X7
	PXOR   X8, X8
	PSUBW  X5, X8
	PMAXSW X8, X5
	PXOR   X8, X8
	PSUBW  X6, X8
	PMAXSW X8, X6
	PXOR   X8, X8
	PSUBW  X7, X8
	PMAXSW X8, X7

	// X8 = where |p-a| > |p-b|: b there, a elsewhere; X5 = the smaller
	MOVO    X5, X8
	PCMPGTW X6, X8
	PMINSW  X6, X5
	MOVO    X8, X10
	PAND    X3, X10
	PANDN   X1, X8
	POR     X10, X8

	// X10 = where the smaller > |p-c|: c there
	MOVO    X5, X10
	PCMPGTW X7, X10
	MOVO    X10, X11
	PAND    X2, X11
	PANDN   X8, X10
	POR     X11, X10

	// a = (prediction + x) mod 256; c = b
	PADDW X4, X10
	PAND  X12, X10
	MOVO  X10, X1
	MOVO  X3, X2

	PACKUSWB X10, X10
	CMPQ     R8, $3
	JNE      store
	POR      X9, X10
	ADDQ     $-1, SI

store:
	MOVQ X10, AX
	MOVL AX, (DI)
	ADDQ $4, DI
	ADDQ $4, SI
	ADDQ $4, DX
	DECQ CX
	JNZ  loop

done:
	RET
