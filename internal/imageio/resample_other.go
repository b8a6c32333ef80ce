//go:build !amd64

package imageio

const haveVsum = false

func vsumRows(dst, src *uint8, stride, n int, w *uint32, pairs int) {
	panic("vsumRows: no vector kernel on this architecture")
}
