package jpegenc

import (
	"bytes"
	"image"
	"image/jpeg"
	"testing"
)

// BenchmarkEncode800x600 encodes what a thumbnail request encodes (the
// resampler's opaque NRGBA output at 800×600, q80) with this package and,
// as the reference in the same run, with image/jpeg (standard tables).
//
//	go test -run '^$' -bench Encode -count 10 ./internal/jpegenc/ | benchstat -col /enc -
func BenchmarkEncode800x600(b *testing.B) {
	src := photo(800, 600, 1)
	m := &image.NRGBA{Pix: src.Pix, Stride: src.Stride, Rect: src.Rect}
	var dst []byte
	b.Run("enc=ours", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			dst, _ = Append(dst[:0], m, Options{Quality: 80})
		}
		b.ReportMetric(float64(len(dst)), "bytes")
	})
	b.Run("enc=ours-progressive", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			dst, _ = Append(dst[:0], m, Options{Quality: 80, Progressive: true})
		}
		b.ReportMetric(float64(len(dst)), "bytes")
	})
	b.Run("enc=image-jpeg", func(b *testing.B) {
		b.ReportAllocs()
		// image/jpeg's fast path is *image.RGBA; give it that.
		var buf bytes.Buffer
		for b.Loop() {
			buf.Reset()
			_ = jpeg.Encode(&buf, src, &jpeg.Options{Quality: 80})
		}
		b.ReportMetric(float64(buf.Len()), "bytes")
	})
}
