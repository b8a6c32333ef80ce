package jpegenc

import (
	"image"
	"image/color"
)

// component is one colour component's coefficient store.
type component struct {
	id   byte
	h, v int // sampling factors
	tab  int // quantisation and Huffman table: 0 luma, 1 chroma
	// bw×bh blocks cover whole MCUs (what an interleaved scan visits);
	// nbw×nbh cover the component's own samples (a non-interleaved scan).
	bw, bh   int
	nbw, nbh int
	coef     [][64]int16 // zigzag order, bw×bh row-major
	mask     []uint64    // bit k set where coef[i][k] != 0
}

type frame struct {
	w, h       int
	hmax, vmax int
	mcuX, mcuY int
	comps      []component
	quant      [2][64]uint16
}

func isGray(m image.Image) bool {
	switch m.(type) {
	case *image.Gray, *image.Gray16:
		return true
	case *image.YCbCr, *image.RGBA, *image.NRGBA, *image.RGBA64, *image.NRGBA64, *image.CMYK, *image.Paletted:
		return false
	}
	return m.ColorModel() == color.GrayModel || m.ColorModel() == color.Gray16Model
}

func newFrame(m image.Image, chroma444 bool) *frame {
	r := m.Bounds()
	f := &frame{w: r.Dx(), h: r.Dy(), hmax: 1, vmax: 1}
	if isGray(m) {
		f.comps = []component{{id: 1, h: 1, v: 1}}
	} else {
		s := 2
		if chroma444 {
			s = 1
		}
		f.hmax, f.vmax = s, s
		f.comps = []component{{id: 1, h: s, v: s}, {id: 2, h: 1, v: 1, tab: 1}, {id: 3, h: 1, v: 1, tab: 1}}
	}
	f.mcuX = (f.w + 8*f.hmax - 1) / (8 * f.hmax)
	f.mcuY = (f.h + 8*f.vmax - 1) / (8 * f.vmax)
	for i := range f.comps {
		c := &f.comps[i]
		c.bw, c.bh = f.mcuX*c.h, f.mcuY*c.v
		cw := (f.w*c.h + f.hmax - 1) / f.hmax
		ch := (f.h*c.v + f.vmax - 1) / f.vmax
		c.nbw, c.nbh = (cw+7)/8, (ch+7)/8
		c.coef = make([][64]int16, c.bw*c.bh)
		c.mask = make([]uint64, c.bw*c.bh)
	}
	return f
}

// transform samples m one MCU row at a time into the components' block
// layout (edges replicated up to whole MCUs, as libjpeg pads), and stores
// the quantised DCT of every block.
func (f *frame) transform(m image.Image) {
	padW := f.mcuX * 8 * f.hmax
	stripH := 8 * f.vmax
	var qz [2]*quantizer
	for i := range qz {
		qz[i] = newQuantizer(&f.quant[i])
	}
	gray := len(f.comps) == 1
	ys := make([]uint8, stripH*padW)
	var cbs, crs, cbd, crd []uint8
	if !gray {
		cbs, crs = make([]uint8, stripH*padW), make([]uint8, stripH*padW)
		if f.hmax == 2 {
			cbd, crd = make([]uint8, 8*padW/2), make([]uint8, 8*padW/2)
		} else {
			cbd, crd = cbs, crs
		}
	}
	rd := newRowReader(m)
	for my := range f.mcuY {
		for j := range stripH {
			y := my*stripH + j
			o := j * padW
			if y >= f.h {
				// Below the picture: repeat its last row.
				copy(ys[o:o+padW], ys[o-padW:o])
				if !gray {
					copy(cbs[o:o+padW], cbs[o-padW:o])
					copy(crs[o:o+padW], crs[o-padW:o])
				}
				continue
			}
			if gray {
				rd.gray(y, ys[o:o+f.w])
			} else {
				rd.ycc(y, ys[o:o+f.w], cbs[o:o+f.w], crs[o:o+f.w])
			}
			for x := f.w; x < padW; x++ {
				ys[o+x] = ys[o+f.w-1]
				if !gray {
					cbs[o+x] = cbs[o+f.w-1]
					crs[o+x] = crs[o+f.w-1]
				}
			}
		}
		if !gray && f.hmax == 2 {
			downsample2(cbd, cbs, padW)
			downsample2(crd, crs, padW)
		}
		for ci := range f.comps {
			c := &f.comps[ci]
			plane, stride := ys, padW
			switch ci {
			case 1:
				plane, stride = cbd, padW*c.h/f.hmax
			case 2:
				plane, stride = crd, padW*c.h/f.hmax
			}
			for by := range c.v {
				row := (my*c.v + by) * c.bw
				for bx := range c.bw {
					i := row + bx
					c.mask[i] = fdctQuant(plane[by*8*stride+bx*8:], stride, qz[c.tab], &c.coef[i])
				}
			}
		}
	}
}

// downsample2 averages 2×2 samples of the 16 rows of src (width padW)
// into the 8 rows of dst, with libjpeg's alternating rounding bias so that
// halves do not all round the same way.
func downsample2(dst, src []uint8, padW int) {
	dw := padW / 2
	for y := range 8 {
		a, b := src[2*y*padW:(2*y+1)*padW], src[(2*y+1)*padW:(2*y+2)*padW]
		d := dst[y*dw : (y+1)*dw]
		for x := range d {
			s := uint32(a[2*x]) + uint32(a[2*x+1]) + uint32(b[2*x]) + uint32(b[2*x+1])
			d[x] = uint8((s + 1 + uint32(x&1)) >> 2)
		}
	}
}

// rowReader reads rows of a picture as Y, Cb, Cr samples.
type rowReader struct {
	m   image.Image
	min image.Point
}

func newRowReader(m image.Image) *rowReader { return &rowReader{m: m, min: m.Bounds().Min} }

// JFIF's RGB → YCbCr (BT.601, full range) in 16-bit fixed point, rounded
// as libjpeg's jccolor.c rounds.
func rgbToYCC(r, g, b int32) (uint8, uint8, uint8) {
	y := (19595*r + 38470*g + 7471*b + 1<<15) >> 16
	cb := (-11059*r - 21709*g + 32768*b + 128<<16 + 1<<15 - 1) >> 16
	cr := (32768*r - 27439*g - 5329*b + 128<<16 + 1<<15 - 1) >> 16
	return uint8(y), uint8(cb), uint8(cr)
}

func (rd *rowReader) ycc(y int, yr, cbr, crr []uint8) {
	n := len(yr)
	sy := rd.min.Y + y
	switch m := rd.m.(type) {
	case *image.RGBA:
		p := m.Pix[m.PixOffset(rd.min.X, sy):]
		p = p[: 4*n : 4*n]
		for x := range n {
			yr[x], cbr[x], crr[x] = rgbToYCC(int32(p[4*x]), int32(p[4*x+1]), int32(p[4*x+2]))
		}
	case *image.NRGBA:
		// Taken as opaque: the caller flattens transparency first.
		p := m.Pix[m.PixOffset(rd.min.X, sy):]
		p = p[: 4*n : 4*n]
		for x := range n {
			yr[x], cbr[x], crr[x] = rgbToYCC(int32(p[4*x]), int32(p[4*x+1]), int32(p[4*x+2]))
		}
	case *image.YCbCr:
		copy(yr, m.Y[m.YOffset(rd.min.X, sy):])
		if m.SubsampleRatio == image.YCbCrSubsampleRatio444 {
			o := m.COffset(rd.min.X, sy)
			copy(cbr, m.Cb[o:])
			copy(crr, m.Cr[o:])
			return
		}
		for x := range n {
			o := m.COffset(rd.min.X+x, sy)
			cbr[x], crr[x] = m.Cb[o], m.Cr[o]
		}
	default:
		for x := range n {
			r, g, b, _ := m.At(rd.min.X+x, sy).RGBA()
			yr[x], cbr[x], crr[x] = rgbToYCC(int32(r>>8), int32(g>>8), int32(b>>8))
		}
	}
}

func (rd *rowReader) gray(y int, yr []uint8) {
	sy := rd.min.Y + y
	if m, ok := rd.m.(*image.Gray); ok {
		copy(yr, m.Pix[m.PixOffset(rd.min.X, sy):])
		return
	}
	for x := range yr {
		yr[x] = color.GrayModel.Convert(rd.m.At(rd.min.X+x, sy)).(color.Gray).Y
	}
}
