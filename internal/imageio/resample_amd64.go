package imageio

import "golang.org/x/sys/cpu"

var haveVsum = cpu.X86.HasAVX2

// vsumRows is the AVX2 kernel of vsum for n a multiple of 16: dst[x] for
// x < n from the 2·pairs rows at src, stride bytes apart.
//
//go:noescape
func vsumRows(dst, src *uint8, stride, n int, w *uint32, pairs int)

// transpose8x8SSE2 is transpose8x8 for a block whose rows and columns the
// caller has checked (every amd64 CPU has SSE2).
//
//go:noescape
func transpose8x8SSE2(dst *uint8, ds int, src *uint8, ss int)

const haveTransposeVector = true
