//go:build !amd64

package imageio

const haveYCCVector = false

func yccToRGBAAVX2(dst, y, cb, cr *uint8, n int) {
	panic("yccToRGBAAVX2: no vector kernel on this architecture")
}
