package imageio

import (
	"bytes"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"testing"

	"github.com/disintegration/imaging"

	"github.com/opaprules/opaprules/internal/reftest"
)

func writePPM(t *testing.T, path string, m *image.NRGBA) {
	t.Helper()
	var b bytes.Buffer
	w, h := m.Rect.Dx(), m.Rect.Dy()
	fmt.Fprintf(&b, "P6\n%d %d\n255\n", w, h)
	for y := range h {
		for x := range w {
			i := m.PixOffset(x, y)
			b.Write(m.Pix[i : i+3])
		}
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A JPEG converted at full size to a format that wants RGB (PNG, WebP,
// AVIF, GIF, BMP, TIFF) comes out as libjpeg-turbo's djpeg decodes it,
// with its default ("fancy") chroma interpolation, for each subsampling
// cjpeg writes, odd sizes included: 52.4-52.6 dB, as for 4:4:4 (the rest
// is YCbCr→RGB rounding). Replicating the chroma, as image.YCbCr.At does
// and these conversions did before, gives 24-28 dB (logged).
func TestFullSizeConversionMatchesDjpeg(t *testing.T) {
	reftest.Tool(t, "cjpeg")
	reftest.Tool(t, "djpeg")
	dir := t.TempDir()
	ppm := filepath.Join(dir, "src.ppm")
	writePPM(t, ppm, reftest.ColourEdges(237, 151))
	for _, sampling := range []string{"2x2", "2x1", "1x2", "1x1"} {
		t.Run(sampling, func(t *testing.T) {
			data := reftest.Run(t, "cjpeg", "-quality", "90", "-sample", sampling, ppm)
			jpg := filepath.Join(dir, sampling+".jpg")
			if err := os.WriteFile(jpg, data, 0o644); err != nil {
				t.Fatal(err)
			}
			want, err := reftest.DecodePNM(reftest.Run(t, "djpeg", "-pnm", jpg))
			if err != nil {
				t.Fatal(err)
			}
			img := &Image{Frames: []Frame{{Image: decodeFrames(t, data)[0]}}}
			y, ok := img.Frames[0].Image.(*image.YCbCr)
			if !ok {
				t.Fatalf("decoded as %T", img.Frames[0].Image)
			}
			out, err := Encode(img, EncodeOptions{Format: PNG})
			if err != nil {
				t.Fatal(err)
			}
			back := decodeFrames(t, out)[0]
			got := reftest.PSNR(back, want)
			replicated := reftest.PSNR(imaging.Clone(y), want)
			t.Logf("%s: %.2f dB against djpeg, replicated chroma %.2f dB", sampling, got, replicated)
			if got < 50 {
				t.Errorf("%s: %.2f dB against djpeg, want at least 50 (replicated chroma: %.2f)", sampling, got, replicated)
			}
		})
	}
}
