package imageio

import "github.com/opaprules/opaprules/internal/jpegspec"

// JPEG quality is not stored in the file; what is stored are the
// quantisation tables the encoder derived from it. Encoders built on the
// IJG code (libjpeg, libjpeg-turbo, mozjpeg's defaults, Go's image/jpeg,
// and most cameras' firmware for the common settings) scale the two
// example tables of ITU-T T.81 Annex K (K.1 luminance, K.2 chrominance)
// by one factor: 5000/q for q < 50, 200-2q from 50 on, in percent. The
// estimate below finds the q whose scaled tables are closest to the
// file's, which gives back the exact setting for those encoders and the
// nearest equivalent for others; OSS IMG's relative quality (quality,q_)
// multiplies this.

// ijgTable is the Annex K table t scaled for quality q as the IJG code
// does it: values clamped to 1..255 for baseline files, to 1..32767 for
// the 16-bit tables low qualities need otherwise (cjpeg without
// -baseline).
func ijgTable(t int, q int, baseline bool) [64]int {
	scale := 200 - 2*q
	if q < 50 {
		scale = 5000 / q
	}
	limit := 32767
	if baseline {
		limit = 255
	}
	var out [64]int
	for i, v := range jpegspec.AnnexK[t] {
		out[i] = max(1, min(limit, (int(v)*scale+50)/100))
	}
	return out
}

// JPEGQuality estimates the quality setting a JPEG was encoded with, 1 to
// 100, from its quantisation tables. ok is false when data is not a JPEG
// or holds no luminance table before its first scan.
func JPEGQuality(data []byte) (q int, ok bool) {
	tables := jpegQuantTables(data)
	luma, hasLuma := tables[0]
	if !hasLuma {
		return 0, false
	}
	chroma, hasChroma := tables[1]
	best, bestErr := 0, int64(-1)
	for cand := 1; cand <= 100; cand++ {
		for _, baseline := range []bool{true, false} {
			err := tableDistance(luma, ijgTable(0, cand, baseline))
			if hasChroma {
				err += tableDistance(chroma, ijgTable(1, cand, baseline))
			}
			if bestErr < 0 || err < bestErr {
				best, bestErr = cand, err
			}
		}
	}
	return best, true
}

func tableDistance(a, b [64]int) int64 {
	var d int64
	for i := range a {
		x := int64(a[i] - b[i])
		d += x * x
	}
	return d
}

// jpegQuantTables reads the DQT segments before the first scan, keyed by
// table id, values in natural order.
func jpegQuantTables(data []byte) map[int][64]int {
	tables := map[int][64]int{}
	if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
		return tables
	}
	jpegSegments(data, func(marker byte, seg []byte) bool {
		if marker != 0xDB {
			return true
		}
		for len(seg) > 0 {
			prec, id := seg[0]>>4, int(seg[0]&0x0F)
			size := 64
			if prec == 1 {
				size = 128
			}
			if prec > 1 || id > 3 || len(seg) < 1+size {
				break
			}
			var t [64]int
			for i := range 64 {
				v := int(seg[1+i])
				if prec == 1 {
					v = int(seg[1+2*i])<<8 | int(seg[2+2*i])
				}
				t[jpegspec.Unzig[i]] = v
			}
			tables[id] = t
			seg = seg[1+size:]
		}
		return true
	})
	return tables
}
