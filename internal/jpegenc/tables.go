package jpegenc

// zigzag[k] is the natural (row-major) index of the k-th coefficient in
// the standard's zigzag order (ITU T.81 figure A.6).
var zigzag = [64]uint8{
	0, 1, 8, 16, 9, 2, 3, 10,
	17, 24, 32, 25, 18, 11, 4, 5,
	12, 19, 26, 33, 40, 48, 41, 34,
	27, 20, 13, 6, 7, 14, 21, 28,
	35, 42, 49, 56, 57, 50, 43, 36,
	29, 22, 15, 23, 30, 37, 44, 51,
	58, 59, 52, 45, 38, 31, 39, 46,
	53, 60, 61, 54, 47, 55, 62, 63,
}

// The standard's example quantisation tables (T.81 Annex K.1), in natural
// order: luminance, then chrominance.
var baseQuant = [2][64]uint16{
	{
		16, 11, 10, 16, 24, 40, 51, 61,
		12, 12, 14, 19, 26, 58, 60, 55,
		14, 13, 16, 24, 40, 57, 69, 56,
		14, 17, 22, 29, 51, 87, 80, 62,
		18, 22, 37, 56, 68, 109, 103, 77,
		24, 35, 55, 64, 81, 104, 113, 92,
		49, 64, 78, 87, 103, 121, 120, 101,
		72, 92, 95, 98, 112, 100, 103, 99,
	},
	{
		17, 18, 24, 47, 99, 99, 99, 99,
		18, 21, 26, 66, 99, 99, 99, 99,
		24, 26, 56, 99, 99, 99, 99, 99,
		47, 66, 99, 99, 99, 99, 99, 99,
		99, 99, 99, 99, 99, 99, 99, 99,
		99, 99, 99, 99, 99, 99, 99, 99,
		99, 99, 99, 99, 99, 99, 99, 99,
		99, 99, 99, 99, 99, 99, 99, 99,
	},
}

// scaledTables scales the base tables to quality q (1..100) the way
// libjpeg's jpeg_quality_scaling and image/jpeg do, limited to 8-bit
// entries so the file stays baseline.
func scaledTables(q int) [2][64]uint16 {
	s := 200 - 2*q
	if q < 50 {
		s = 5000 / q
	}
	var t [2][64]uint16
	for i := range t {
		for k, b := range baseQuant[i] {
			v := (int(b)*s + 50) / 100
			t[i][k] = uint16(min(max(v, 1), 255))
		}
	}
	return t
}
