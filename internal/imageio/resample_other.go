//go:build !amd64

package imageio

const haveVsum = false

func vsumRows(dst, src *uint8, stride, n int, w *uint32, pairs int) {
	panic("vsumRows: no vector kernel on this architecture")
}

const haveTransposeVector = false

func transpose8x8SSE2(dst *uint8, ds int, src *uint8, ss int) {
	panic("transpose8x8SSE2: no vector kernel on this architecture")
}
