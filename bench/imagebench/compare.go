package main

import (
	"encoding/json"
	"fmt"
	"image"
	"math"
	"os"

	"github.com/disintegration/imaging"

	"github.com/opaprules/opaprules/internal/imageio"
)

// compare judges thumbnails against a full-resolution reference: the
// source decoded at full size (no shrink-on-load) and resized to each
// output's size with Lanczos in floating point order (imaging), the
// best picture either pipeline could make. It prints one JSON line per
// output: bytes, PSNR over RGB and SSIM over luma (8×8 windows every 4
// pixels, the constants of Wang et al. 2004, as ffmpeg's ssim filter).
func compare(source string, outputs []string) error {
	data, err := os.ReadFile(source)
	if err != nil {
		return err
	}
	src, err := decodeAll(data)
	if err != nil {
		return err
	}
	full := src.Frames[0].Image
	refs := map[image.Point]*image.NRGBA{}
	for _, o := range outputs {
		b, err := os.ReadFile(o)
		if err != nil {
			return err
		}
		img, err := decodeAll(b)
		if err != nil {
			return fmt.Errorf("%s: %w", o, err)
		}
		out := imaging.Clone(img.Frames[0].Image)
		size := out.Rect.Size()
		ref, ok := refs[size]
		if !ok {
			ref = imaging.Resize(full, size.X, size.Y, imaging.Lanczos)
			refs[size] = ref
		}
		line, _ := json.Marshal(map[string]any{
			"file":  o,
			"bytes": len(b),
			"size":  fmt.Sprintf("%dx%d", size.X, size.Y),
			"psnr":  math.Round(psnrRGB(ref, out)*100) / 100,
			"ssim":  math.Round(ssimLuma(ref, out)*10000) / 10000,
		})
		fmt.Println(string(line))
	}
	return nil
}

func psnrRGB(a, b *image.NRGBA) float64 {
	var se float64
	for i := range a.Pix {
		if i%4 == 3 {
			continue
		}
		d := float64(a.Pix[i]) - float64(b.Pix[i])
		se += d * d
	}
	mse := se / float64(len(a.Pix)/4*3)
	if mse == 0 {
		return 99
	}
	return 10 * math.Log10(255*255/mse)
}

func luma(m *image.NRGBA) []float64 {
	y := make([]float64, len(m.Pix)/4)
	for i := range y {
		p := m.Pix[4*i:]
		y[i] = 0.299*float64(p[0]) + 0.587*float64(p[1]) + 0.114*float64(p[2])
	}
	return y
}

func ssimLuma(a, b *image.NRGBA) float64 {
	w, h := a.Rect.Dx(), a.Rect.Dy()
	ya, yb := luma(a), luma(b)
	const c1, c2 = (0.01 * 255) * (0.01 * 255), (0.03 * 255) * (0.03 * 255)
	var sum float64
	n := 0
	for y0 := 0; y0+8 <= h; y0 += 4 {
		for x0 := 0; x0+8 <= w; x0 += 4 {
			var sa, sb, saa, sbb, sab float64
			for y := y0; y < y0+8; y++ {
				for x := x0; x < x0+8; x++ {
					p, q := ya[y*w+x], yb[y*w+x]
					sa += p
					sb += q
					saa += p * p
					sbb += q * q
					sab += p * q
				}
			}
			const k = 64.0
			ma, mb := sa/k, sb/k
			va, vb := saa/k-ma*ma, sbb/k-mb*mb
			cov := sab/k - ma*mb
			sum += (2*ma*mb + c1) * (2*cov + c2) / ((ma*ma + mb*mb + c1) * (va + vb + c2))
			n++
		}
	}
	if n == 0 {
		return 1
	}
	return sum / float64(n)
}

func decodeAll(data []byte) (*imageio.Image, error) {
	cfg, err := imageio.DecodeConfig(data)
	if err != nil {
		return nil, err
	}
	return imageio.Decode(data, cfg, imageio.DecodeOptions{AutoOrient: true})
}
