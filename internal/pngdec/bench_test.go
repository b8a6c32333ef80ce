package pngdec

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/opaprules/opaprules/internal/reftest"
)

// BenchmarkDecode times Decode against image/png on the same files, in one
// run: compare the two with benchstat or by ratio, never alone.
//
// With OPAPRULES_CORPUS pointing at bench/corpus.sh's pictures directory,
// its PNGs are added.
func BenchmarkDecode(b *testing.B) {
	files := map[string][]byte{}
	photo := reftest.Photo(1920, 1080, false)
	rgb := image.NewRGBA(photo.Rect)
	draw.Draw(rgb, rgb.Rect, photo, image.Point{}, draw.Src)
	files["photo-rgb-1920x1080"] = encodePNG(b, rgb)
	files["photo-rgba-1920x1080"] = encodePNG(b, reftest.Photo(1920, 1080, true))
	// A palette file as pngquant makes them: the photo's colours reduced
	// to 256 (here by keeping the top bits of each channel).
	pal := image.NewPaletted(photo.Rect, nil)
	for i := range 256 {
		pal.Palette = append(pal.Palette, color.RGBA{uint8(i>>5) * 36, uint8(i>>2&7) * 36, uint8(i&3) * 85, 255})
	}
	for i := 0; i < len(photo.Pix); i += 4 {
		pal.Pix[i/4] = photo.Pix[i]>>5<<5 | photo.Pix[i+1]>>5<<2 | photo.Pix[i+2]>>6
	}
	files["palette-1920x1080"] = encodePNG(b, pal)
	// image/png writes no interlaced files: the tests' own writer does.
	files["photo-rgb-adam7-1920x1080"] = testPNG{w: 1920, h: 1080, colour: colourRGB, depth: 8, interlace: true,
		filter: cycle, level: 6, chunk: 8192, samples: func(x, y int) []byte {
			i := 4 * (y*1920 + x)
			return photo.Pix[i : i+3]
		}}.encode()
	if dir := os.Getenv("OPAPRULES_CORPUS"); dir != "" {
		paths, _ := filepath.Glob(filepath.Join(dir, "*.png"))
		for _, p := range paths {
			data, err := os.ReadFile(p)
			if err != nil {
				b.Fatal(err)
			}
			files[filepath.Base(p)] = data
		}
	}
	for name, data := range files {
		b.Run(name+"/pngdec", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := Decode(data); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/image-png", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := png.Decode(bytes.NewReader(data)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func encodePNG(b *testing.B, m image.Image) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkUnfilter times unfilter alone on 256 rows of 1920 pixels, all
// rows of one filter type.
func BenchmarkUnfilter(b *testing.B) {
	const w, h = 1920, 256
	for _, l := range []struct {
		name    string
		in, out int
	}{{"grey", 1, 1}, {"rgb", 3, 4}, {"rgba", 4, 4}} {
		for ft := byte(0); ft <= filterPaeth; ft++ {
			rowRaw := 1 + w*l.in
			raw := make([]byte, h*rowRaw)
			for i := range raw {
				raw[i] = sample(i%rowRaw, i/rowRaw, 0)
			}
			for y := range h {
				raw[y*rowRaw] = ft
			}
			buf := make([]byte, max(len(raw), h*w*l.out))
			off := len(buf) - len(raw)
			b.Run(fmt.Sprintf("%s/%d", l.name, ft), func(b *testing.B) {
				b.SetBytes(int64(len(raw)))
				for b.Loop() {
					copy(buf[off:], raw)
					if err := unfilter(buf, off, w, h, l.in, l.out); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
