//go:build !amd64

package jpegdec

const haveIDCT4Vector = false

func idct4AVX2(blk *[64]int32, dst *byte, stride int, k *idct4Consts) {
	panic("idct4AVX2: no vector kernel on this architecture")
}

const haveIDCT8Vector = false

func idct8AVX2(blk *[64]int32, dst *byte, stride int, k *idct8Consts) {
	panic("idct8AVX2: no vector kernel on this architecture")
}
