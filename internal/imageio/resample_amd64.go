package imageio

import "golang.org/x/sys/cpu"

var haveVsum = cpu.X86.HasAVX2

// vsumRows is the AVX2 kernel of vsum for n a multiple of 16: dst[x] for
// x < n from the 2·pairs rows at src, stride bytes apart.
//
//go:noescape
func vsumRows(dst, src *uint8, stride, n int, w *uint32, pairs int)
