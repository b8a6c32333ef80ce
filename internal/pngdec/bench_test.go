package pngdec

import (
	"bytes"
	"image"
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
