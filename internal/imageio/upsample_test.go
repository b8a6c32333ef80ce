package imageio

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
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
			img := decodeWhole(t, data)
			y, ok := img.Frames[0].Image.(*image.YCbCr)
			if !ok {
				t.Fatalf("decoded as %T", img.Frames[0].Image)
			}
			out, err := Encode(img, EncodeOptions{Format: PNG})
			if err != nil {
				t.Fatal(err)
			}
			back := decodeWhole(t, out)
			got := reftest.PSNR(back.Frames[0].Image, want)
			replicated := reftest.PSNR(imaging.Clone(y), want)
			t.Logf("%s: %.2f dB against djpeg, replicated chroma %.2f dB", sampling, got, replicated)
			if got < 50 {
				t.Errorf("%s: %.2f dB against djpeg, want at least 50 (replicated chroma: %.2f)", sampling, got, replicated)
			}
		})
	}
}

func decodeWhole(t *testing.T, data []byte) *Image {
	t.Helper()
	cfg, err := DecodeConfig(data)
	if err != nil {
		t.Fatal(err)
	}
	img, err := Decode(data, cfg, DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// A sub-image (what a crop converts) comes out as the same region of the
// whole picture converted, but at its edges, which repeat their own
// chroma as the picture's edges do; for every subsampling and for crops
// at odd and even offsets.
func TestYCbCrToNRGBASubImage(t *testing.T) {
	src := reftest.ColourEdges(97, 61)
	for _, ratio := range []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio444} {
		y := image.NewYCbCr(src.Rect, ratio)
		for py := range 61 {
			for px := range 97 {
				c := src.NRGBAAt(px, py)
				yy, cb, cr := color.RGBToYCbCr(c.R, c.G, c.B)
				y.Y[y.YOffset(px, py)] = yy
				y.Cb[y.COffset(px, py)], y.Cr[y.COffset(px, py)] = cb, cr
			}
		}
		whole := YCbCrToNRGBA(y)
		for _, r := range []image.Rectangle{image.Rect(10, 6, 70, 50), image.Rect(11, 7, 71, 51), image.Rect(0, 0, 97, 61)} {
			sub := YCbCrToNRGBA(y.SubImage(r).(*image.YCbCr))
			if sub.Rect != image.Rect(0, 0, r.Dx(), r.Dy()) {
				t.Fatalf("%v %v: bounds %v", ratio, r, sub.Rect)
			}
			for py := r.Min.Y + 2; py < r.Max.Y-2; py++ {
				for px := r.Min.X + 2; px < r.Max.X-2; px++ {
					if got, want := sub.NRGBAAt(px-r.Min.X, py-r.Min.Y), whole.NRGBAAt(px, py); got != want {
						t.Fatalf("%v %v: pixel (%d,%d) %v, the whole picture's %v", ratio, r, px, py, got, want)
					}
				}
			}
		}
	}
}
