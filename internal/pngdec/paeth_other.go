//go:build !amd64

package pngdec

const havePaethVector = false

func paethSSE2(dst, src, prev []byte, in int) {
	panic("paethSSE2: no vector kernel on this architecture")
}
