package jpegdec

import (
	"image"
	"image/color"
)

// assemble wraps the decoded planes in the image type image/jpeg would
// return. Planes cover the MCU-padded area; the rectangle trims them.
func (d *decoder) assemble() (image.Image, error) {
	if !d.allocated {
		return nil, FormatError("missing SOS marker")
	}
	w := ceilDiv(d.width, 1<<d.shift)
	h := ceilDiv(d.height, 1<<d.shift)
	r := image.Rect(0, 0, w, h)
	switch {
	case d.ncomp == 1:
		c := &d.comp[0]
		return &image.Gray{Pix: c.pix, Stride: c.stride, Rect: r}, nil
	case d.ncomp == 3 && !d.isRGB():
		if ratio, ok := d.subsampleRatio(); ok {
			return &image.YCbCr{
				Y: d.comp[0].pix, Cb: d.comp[1].pix, Cr: d.comp[2].pix,
				YStride: d.comp[0].stride, CStride: d.comp[1].stride,
				SubsampleRatio: ratio, Rect: r,
			}, nil
		}
		img := image.NewYCbCr(r, image.YCbCrSubsampleRatio444)
		d.upsample(&d.comp[0], img.Y, 1, 0, w, h)
		d.upsample(&d.comp[1], img.Cb, 1, 0, w, h)
		d.upsample(&d.comp[2], img.Cr, 1, 0, w, h)
		return img, nil
	case d.ncomp == 3:
		img := image.NewRGBA(r)
		for i := 0; i < 3; i++ {
			d.upsample(&d.comp[i], img.Pix, 4, i, w, h)
		}
		for i := 3; i < len(img.Pix); i += 4 {
			img.Pix[i] = 255
		}
		return img, nil
	default:
		img := image.NewCMYK(r)
		for i := 0; i < 4; i++ {
			d.upsample(&d.comp[i], img.Pix, 4, i, w, h)
		}
		d.convertCMYK(img.Pix)
		return img, nil
	}
}

// subsampleRatio maps the sampling factors onto image.YCbCr's layouts,
// which require full-resolution luma and identical chroma planes.
func (d *decoder) subsampleRatio() (image.YCbCrSubsampleRatio, bool) {
	y, cb, cr := &d.comp[0], &d.comp[1], &d.comp[2]
	yh, yv := d.effH(y), d.effV(y)
	cbh, cbv := d.effH(cb), d.effV(cb)
	if cbh != d.effH(cr) || cbv != d.effV(cr) || yh != d.hmax || yv != d.vmax ||
		yh%cbh != 0 || yv%cbv != 0 {
		return 0, false
	}
	switch [2]int{yh / cbh, yv / cbv} {
	case [2]int{1, 1}:
		return image.YCbCrSubsampleRatio444, true
	case [2]int{2, 1}:
		return image.YCbCrSubsampleRatio422, true
	case [2]int{2, 2}:
		return image.YCbCrSubsampleRatio420, true
	case [2]int{1, 2}:
		return image.YCbCrSubsampleRatio440, true
	case [2]int{4, 1}:
		return image.YCbCrSubsampleRatio411, true
	case [2]int{4, 2}:
		return image.YCbCrSubsampleRatio410, true
	}
	return 0, false
}

// upsample copies component c into dst (w×h samples, pixel stride step,
// starting at byte off) with nearest-neighbour replication, the way
// image/jpeg expands subsampled channels.
func (d *decoder) upsample(c *component, dst []byte, step, off, w, h int) {
	ch, cv := d.effH(c), d.effV(c)
	xs := make([]int, w)
	for x := range xs {
		xs[x] = x * ch / d.hmax
	}
	rowStride := w * step
	for y := 0; y < h; y++ {
		src := c.pix[(y*cv/d.vmax)*c.stride:]
		out := dst[y*rowStride+off:]
		for x, sx := range xs {
			out[x*step] = src[sx]
		}
	}
}

// convertCMYK applies the Adobe conventions exactly as image/jpeg does:
// Adobe CMYK is stored inverted, and YCCK is YCbCr-encoded inverted CMY
// plus inverted K, so after the colour transform only K needs flipping.
// Without an Adobe marker (which image/jpeg refuses) the samples are
// taken as plain CMYK.
func (d *decoder) convertCMYK(pix []byte) {
	if !d.adobe {
		return
	}
	if d.adobeTransform == 0 {
		for i := range pix {
			pix[i] = 255 - pix[i]
		}
		return
	}
	for i := 0; i+3 < len(pix); i += 4 {
		r, g, b := color.YCbCrToRGB(pix[i], pix[i+1], pix[i+2])
		pix[i], pix[i+1], pix[i+2], pix[i+3] = r, g, b, 255-pix[i+3]
	}
}
