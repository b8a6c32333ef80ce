package jpegdec

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"testing"
)

// photo draws a photo-like test pattern: smooth gradients, a few hard
// edges and mild noise, so both the DC and the high AC bands get exercised.
func photo(w, h int, seed uint64) *image.RGBA {
	rng := rand.New(rand.NewPCG(seed, 42))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	cx, cy := float64(w)*0.6, float64(h)*0.4
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			fx, fy := float64(x)/float64(w), float64(y)/float64(h)
			r := 128 + 100*math.Sin(fx*5+fy*2)
			g := 128 + 90*math.Cos(fy*6-fx)
			b := 60 + 150*fx*fy
			dx, dy := float64(x)-cx, float64(y)-cy
			if dx*dx+dy*dy < float64(w*w)/25 {
				r, g, b = 240-r/3, 200-g/4, 30+b/5
			}
			if (x/(w/7+1)+y/(h/5+1))%4 == 0 {
				r, g, b = r*0.6, g*0.6, b*0.6
			}
			n := rng.Float64()*24 - 12
			img.Pix[img.PixOffset(x, y)+0] = clampF(r + n)
			img.Pix[img.PixOffset(x, y)+1] = clampF(g + n)
			img.Pix[img.PixOffset(x, y)+2] = clampF(b + n)
			img.Pix[img.PixOffset(x, y)+3] = 255
		}
	}
	return img
}

func clampF(v float64) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v + 0.5)
}

func grayOf(src *image.RGBA) *image.Gray {
	g := image.NewGray(src.Rect)
	for y := src.Rect.Min.Y; y < src.Rect.Max.Y; y++ {
		for x := src.Rect.Min.X; x < src.Rect.Max.X; x++ {
			g.Set(x, y, color.GrayModel.Convert(src.At(x, y)))
		}
	}
	return g
}

func encodeStd(t testing.TB, img image.Image, q int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// plane is one channel of an image, for comparisons.
type plane struct {
	w, h, stride int
	pix          []byte
	step         int
}

func (p plane) at(x, y int) int { return int(p.pix[y*p.stride+x*p.step]) }

// planesOf splits an image into its stored channels.
func planesOf(t testing.TB, img image.Image) []plane {
	t.Helper()
	b := img.Bounds()
	if b.Min != (image.Point{}) {
		t.Fatalf("bounds %v do not start at 0", b)
	}
	switch m := img.(type) {
	case *image.Gray:
		return []plane{{b.Dx(), b.Dy(), m.Stride, m.Pix, 1}}
	case *image.YCbCr:
		cw, ch := chromaSize(m.SubsampleRatio, b.Dx(), b.Dy())
		return []plane{
			{b.Dx(), b.Dy(), m.YStride, m.Y, 1},
			{cw, ch, m.CStride, m.Cb, 1},
			{cw, ch, m.CStride, m.Cr, 1},
		}
	case *image.RGBA:
		var ps []plane
		for i := 0; i < 3; i++ {
			ps = append(ps, plane{b.Dx(), b.Dy(), m.Stride, m.Pix[i:], 4})
		}
		return ps
	case *image.CMYK:
		var ps []plane
		for i := 0; i < 4; i++ {
			ps = append(ps, plane{b.Dx(), b.Dy(), m.Stride, m.Pix[i:], 4})
		}
		return ps
	}
	t.Fatalf("unexpected image type %T", img)
	return nil
}

func chromaSize(r image.YCbCrSubsampleRatio, w, h int) (int, int) {
	switch r {
	case image.YCbCrSubsampleRatio422:
		return (w + 1) / 2, h
	case image.YCbCrSubsampleRatio420:
		return (w + 1) / 2, (h + 1) / 2
	case image.YCbCrSubsampleRatio440:
		return w, (h + 1) / 2
	case image.YCbCrSubsampleRatio411:
		return (w + 3) / 4, h
	case image.YCbCrSubsampleRatio410:
		return (w + 3) / 4, (h + 1) / 2
	}
	return w, h
}

// boxDown averages s×s groups (partial groups at the edges average what
// there is), the reference for a 1/s decode.
func boxDown(p plane, s int) plane {
	w, h := (p.w+s-1)/s, (p.h+s-1)/s
	out := plane{w, h, w, make([]byte, w*h), 1}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			sum, n := 0, 0
			for yy := y * s; yy < min(p.h, y*s+s); yy++ {
				for xx := x * s; xx < min(p.w, x*s+s); xx++ {
					sum += p.at(xx, yy)
					n++
				}
			}
			out.pix[y*w+x] = uint8((sum + n/2) / n)
		}
	}
	return out
}

// maxDiff returns the largest absolute sample difference.
func maxDiff(a, b plane) (int, string) {
	if a.w != b.w || a.h != b.h {
		return 1 << 30, fmt.Sprintf("size %dx%d vs %dx%d", a.w, a.h, b.w, b.h)
	}
	m, where := 0, ""
	for y := 0; y < a.h; y++ {
		for x := 0; x < a.w; x++ {
			d := a.at(x, y) - b.at(x, y)
			if d < 0 {
				d = -d
			}
			if d > m {
				m, where = d, fmt.Sprintf("(%d,%d): %d vs %d", x, y, a.at(x, y), b.at(x, y))
			}
		}
	}
	return m, where
}

func psnr(a, b plane) float64 {
	if a.w != b.w || a.h != b.h {
		return 0
	}
	return psnrRegion(a, b, a.w, a.h)
}

// psnrRegion compares the top-left w×h samples.
func psnrRegion(a, b plane, w, h int) float64 {
	var se float64
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			d := float64(a.at(x, y) - b.at(x, y))
			se += d * d
		}
	}
	if se == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255*float64(w*h)/se)
}

// decode reads a JPEG from r and decodes it at 1/opts.Scale of its size:
// DecodeBytes for tests that hold a reader.
func decode(r io.Reader, opts Options) (image.Image, error) {
	if _, err := shiftOf(opts.Scale); err != nil {
		return nil, err
	}
	data, err := readAll(r)
	if err != nil {
		return nil, err
	}
	return DecodeBytes(data, opts)
}

// readAll slurps the input, sized up front when the reader can tell its
// length, so the entropy decoder can work on a flat slice.
func readAll(r io.Reader) ([]byte, error) {
	n := 0
	switch l := r.(type) {
	case interface{ Len() int }: // bytes.Reader, bytes.Buffer, strings.Reader
		n = l.Len()
	case interface{ Stat() (fs.FileInfo, error) }: // os.File
		if fi, err := l.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() < 1<<30 {
			n = int(fi.Size())
		}
	}
	buf := make([]byte, 0, n+1)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		m, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}
