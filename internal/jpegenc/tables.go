package jpegenc

import "github.com/opaprules/opaprules/internal/jpegspec"

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
		for k, b := range jpegspec.AnnexK[i] {
			v := (int(b)*s + 50) / 100
			t[i][k] = uint16(min(max(v, 1), 255))
		}
	}
	return t
}
