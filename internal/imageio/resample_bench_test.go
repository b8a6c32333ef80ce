package imageio

import (
	"image"
	"testing"

	"github.com/disintegration/imaging"
)

// BenchmarkResample800 resizes what a 1/2 shrink-on-load decode of the
// bench's 4000×3000 photo holds (2000×1500, 4:4:4 with sharp chroma, 4:2:0
// without) to 800×600, against imaging.Resize on the same picture.
func BenchmarkResample800(b *testing.B) {
	src := photoLike(2000, 1500)
	for _, ratio := range []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio420} {
		m := ycbcrOf(src, ratio)
		ext := Rect{0, 0, 2000, 1500}
		for _, f := range []struct {
			name string
			f    imaging.ResampleFilter
		}{{"lanczos", imaging.Lanczos}, {"linear", imaging.Linear}} {
			b.Run(ratio.String()+"/"+f.name+"/ours", func(b *testing.B) {
				for b.Loop() {
					ResampleOpaque(m, ext, 800, 600, f.f)
				}
			})
			b.Run(ratio.String()+"/"+f.name+"/imaging", func(b *testing.B) {
				for b.Loop() {
					imaging.Resize(m, 800, 600, f.f)
				}
			})
		}
	}
}
