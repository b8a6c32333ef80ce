package imageio

import "golang.org/x/sys/cpu"

var haveYCCVector = cpu.X86.HasAVX2

// yccToRGBAAVX2 is yccToRGBA for n a multiple of 8 (ycc_amd64.s).
//
//go:noescape
func yccToRGBAAVX2(dst, y, cb, cr *uint8, n int)
