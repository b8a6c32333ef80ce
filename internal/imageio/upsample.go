package imageio

import (
	"image"
	"image/color"

	"github.com/disintegration/imaging"
)

// YCbCrToNRGBA converts a decoded JPEG to NRGBA for the encoders that
// want RGB (PNG, WebP, AVIF, GIF, BMP, TIFF) when nothing resampled it.
// Subsampled chroma is interpolated as libjpeg does by default ("fancy"
// upsampling: each output sample 3/4 of the nearer chroma sample and 1/4
// of the next, in each subsampled direction), not replicated as
// image.YCbCr.At does. Replication leaves 2-pixel steps along colour
// edges: 24-28 dB from djpeg on TestFullSizeConversionMatchesDjpeg's
// picture and 37.6 dB on a real 4:2:0 wallpaper (bench/corpus.sh's
// safelanding.jpg), where this gives 52.5 and 53.1 dB, as much as with no
// subsampling at all (what remains is YCbCr→RGB rounding). It is also
// the fast way in for deepteams/webp, which reads an *image.YCbCr pixel by
// pixel: a 2560×1600 JPEG to WebP at full size takes 0.62× the time.
// Ratios other than 4:4:4, 4:2:2, 4:2:0 and 4:4:0, and sub-images, are
// converted pixel by pixel.
func YCbCrToNRGBA(m *image.YCbCr) *image.NRGBA {
	hs, vs, ok := chromaFactors(m.SubsampleRatio)
	if !ok || hs > 2 || vs > 2 || m.Rect.Min != (image.Point{}) {
		return imaging.Clone(m)
	}
	w, h := m.Rect.Dx(), m.Rect.Dy()
	out := image.NewNRGBA(image.Rect(0, 0, w, h))
	if w == 0 || h == 0 {
		return out
	}
	cw, ch := (w+hs-1)/hs, (h+vs-1)/vs
	// One chroma row at a time: the vertical interpolation into column
	// sums (3·nearer + farther when vertically subsampled, else the
	// sample itself), then the horizontal one, rounding as libjpeg's
	// jdsample.c does (its biases alternate so that errors do not pile
	// up): h2v2, h2v1 and h1v2 fancy upsampling.
	colCb, colCr := make([]int32, cw), make([]int32, cw)
	rowCb, rowCr := make([]uint8, w), make([]uint8, w)
	for y := range h {
		cy := y / vs
		cb, cr := m.Cb[cy*m.CStride:cy*m.CStride+cw], m.Cr[cy*m.CStride:cy*m.CStride+cw]
		shift, even, odd := uint(0), int32(0), int32(0)
		if vs == 2 {
			// Output row y lies a quarter of a chroma row from cy, toward
			// cy-1 for even y and cy+1 for odd y.
			ny := cy - 1
			if y&1 == 1 {
				ny = cy + 1
			}
			ny = min(max(ny, 0), ch-1)
			nb, nr := m.Cb[ny*m.CStride:ny*m.CStride+cw], m.Cr[ny*m.CStride:ny*m.CStride+cw]
			for x := range cw {
				colCb[x] = 3*int32(cb[x]) + int32(nb[x])
				colCr[x] = 3*int32(cr[x]) + int32(nr[x])
			}
			shift, even, odd = 4, 8, 7 // h2v2
			if hs == 1 {
				shift, even, odd = 2, 1+int32(y&1), 0 // h1v2
			}
		} else if hs == 2 {
			for x := range cw {
				colCb[x], colCr[x] = int32(cb[x]), int32(cr[x])
			}
			shift, even, odd = 2, 1, 2 // h2v1
		}
		switch {
		case hs == 2:
			upsampleRow(rowCb, colCb, shift, even, odd)
			upsampleRow(rowCr, colCr, shift, even, odd)
		case vs == 2:
			for x := range w {
				rowCb[x] = uint8((colCb[x] + even) >> shift)
				rowCr[x] = uint8((colCr[x] + even) >> shift)
			}
		default: // 4:4:4
			copy(rowCb, cb)
			copy(rowCr, cr)
		}
		yRow := m.Y[y*m.YStride : y*m.YStride+w]
		o := out.Pix[y*out.Stride : y*out.Stride+4*w]
		for x, yy := range yRow {
			r, g, b := color.YCbCrToRGB(yy, rowCb[x], rowCr[x])
			p := o[4*x : 4*x+4 : 4*x+4]
			p[0], p[1], p[2], p[3] = r, g, b, 255
		}
	}
	return out
}

// upsampleRow doubles a row of chroma (col, scaled so that >> shift-2
// gives samples) horizontally: out[2i] = ¾·col[i] + ¼·col[i-1] and
// out[2i+1] = ¾·col[i] + ¼·col[i+1], with the ends repeating their sample,
// rounded with the biases even and odd. out may be one shorter than
// 2·len(col) (an odd width).
func upsampleRow(out []uint8, col []int32, shift uint, even, odd int32) {
	n := len(col)
	for i := range n {
		l, r := col[max(i-1, 0)], col[min(i+1, n-1)]
		out[2*i] = uint8((3*col[i] + l + even) >> shift)
		if 2*i+1 < len(out) {
			out[2*i+1] = uint8((3*col[i] + r + odd) >> shift)
		}
	}
}
