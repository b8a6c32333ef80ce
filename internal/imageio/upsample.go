package imageio

import (
	"image"

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
// A sub-image (what a crop takes) is converted alone. Ratios other than
// 4:4:4, 4:2:2, 4:2:0 and 4:4:0 are converted pixel by pixel.
func YCbCrToNRGBA(m *image.YCbCr) *image.NRGBA {
	hs, vs, ok := chromaFactors(m.SubsampleRatio)
	r := m.Rect
	w, h := r.Dx(), r.Dy()
	if !ok || hs > 2 || vs > 2 {
		return imaging.Clone(m)
	}
	out := image.NewNRGBA(image.Rect(0, 0, w, h))
	if w <= 0 || h <= 0 {
		return out
	}
	// Chroma samples are indexed from the one covering r.Min, as
	// image.YCbCr.COffset does; a sub-image (a crop) has no samples
	// outside it, so its edges repeat theirs as the picture's edges do.
	cx0, cy0 := r.Min.X/hs, r.Min.Y/vs
	cw, ch := (r.Max.X-1)/hs-cx0+1, (r.Max.Y-1)/vs-cy0+1
	// One output row at a time: the vertical interpolation into column
	// values (3·nearer + farther when vertically subsampled, else the
	// sample itself), then the horizontal one, rounding as libjpeg's
	// jdsample.c does (h2v2, h2v1 and h1v2 fancy upsampling; its biases
	// alternate so that errors do not pile up).
	colCb, colCr := make([]int32, cw), make([]int32, cw)
	rowCb, rowCr := make([]uint8, w), make([]uint8, w)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		cy := y/vs - cy0
		cb, cr := m.Cb[cy*m.CStride:cy*m.CStride+cw], m.Cr[cy*m.CStride:cy*m.CStride+cw]
		var shift uint
		var bias [2]int32 // for even and odd output positions
		switch {
		case vs == 2:
			// Output row y lies a quarter of a chroma row from cy, toward
			// the row above for even y and the row below for odd y.
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
			shift, bias = 4, [2]int32{8, 7} // h2v2
			if hs == 1 {
				shift, bias = 2, [2]int32{1 + int32(y&1), 1 + int32(y&1)} // h1v2
			}
		case hs == 2:
			for x := range cw {
				colCb[x], colCr[x] = int32(cb[x]), int32(cr[x])
			}
			shift, bias = 2, [2]int32{1, 2} // h2v1
		}
		switch {
		case hs == 2:
			// Output column x lies a quarter of a chroma column from cx,
			// toward the left for even x and the right for odd x.
			for i, x := 0, r.Min.X; x < r.Max.X; i, x = i+1, x+1 {
				cx := x/2 - cx0
				nx := cx - 1 + 2*(x&1)
				nx = min(max(nx, 0), cw-1)
				b := bias[x&1]
				rowCb[i] = uint8((3*colCb[cx] + colCb[nx] + b) >> shift)
				rowCr[i] = uint8((3*colCr[cx] + colCr[nx] + b) >> shift)
			}
		case vs == 2:
			for i := range w {
				rowCb[i] = uint8((colCb[i] + bias[0]) >> shift)
				rowCr[i] = uint8((colCr[i] + bias[0]) >> shift)
			}
		default: // 4:4:4
			copy(rowCb, cb)
			copy(rowCr, cr)
		}
		yRow := m.Y[(y-r.Min.Y)*m.YStride : (y-r.Min.Y)*m.YStride+w]
		o := out.Pix[(y-r.Min.Y)*out.Stride : (y-r.Min.Y)*out.Stride+4*w]
		yccToRGBA(o, yRow, rowCb, rowCr)
	}
	return out
}
