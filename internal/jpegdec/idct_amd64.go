package jpegdec

import "golang.org/x/sys/cpu"

// The 4×4 reduced IDCT, the transform of every 1/2-scale decode (and so of
// most thumbnails), runs on AVX2 where the CPU has it: both passes eight
// (then two times four) lanes at a time, with the same integer operations
// in the same order as idct4, so the pixels are identical
// (TestIDCT4MatchesScalar).

var haveIDCT4Vector = cpu.X86.HasAVX2

// The full-size IDCT, the transform of every decode that does not shrink
// on load (pictures under 4× their thumbnail, progressive files' final
// pass at full size), likewise; TestIDCT8MatchesScalar.
var haveIDCT8Vector = cpu.X86.HasAVX2

//go:noescape
func idct4AVX2(blk *[64]int32, dst *byte, stride int, k *idct4Consts)

//go:noescape
func idct8AVX2(blk *[64]int32, dst *byte, stride int, k *idct8Consts)
