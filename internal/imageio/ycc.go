package imageio

// yccToRGBA converts len(y) pixels of full-range YCbCr (JFIF) to RGBA with
// alpha 255, writing 4*len(y) bytes of dst: exactly what
// image/color.YCbCrToRGB gives, pixel for pixel (TestYCCToRGBAExact tries
// every input), without a call and two branches per channel per pixel.
// Every resize of a JPEG and every JPEG drawn on ends here, once per output
// pixel.
func yccToRGBA(dst, y, cb, cr []byte) {
	n := len(y)
	dst = dst[:4*n]
	cb = cb[:n]
	cr = cr[:n]
	i := 0
	if haveYCCVector && n >= 8 {
		i = n &^ 7
		yccToRGBAAVX2(&dst[0], &y[0], &cb[0], &cr[0], i)
	}
	yccScalar(dst[4*i:], y[i:], cb[i:], cr[i:])
}

// yccScalar is yccToRGBA one pixel at a time: the tail the vector kernel
// leaves, and every pixel where it does not run.
func yccScalar(dst, y, cb, cr []byte) {
	n := len(y)
	dst = dst[:4*n]
	cb = cb[:n]
	cr = cr[:n]
	for i := range n {
		yy := int32(y[i]) * 0x10101
		b1 := int32(cb[i]) - 128
		r1 := int32(cr[i]) - 128
		d := dst[4*i : 4*i+4 : 4*i+4]
		d[0] = clamp16(yy + 91881*r1)
		d[1] = clamp16(yy - 22554*b1 - 46802*r1)
		d[2] = clamp16(yy + 116130*b1)
		d[3] = 255
	}
}

// clamp16 is v>>16 clamped to 0..255, which is color.YCbCrToRGB's
// rounding and clamping: its bit test keeps v>>16 for v in [0, 1<<24)
// and saturates outside.
func clamp16(v int32) uint8 {
	return uint8(min(max(v>>16, 0), 255))
}
