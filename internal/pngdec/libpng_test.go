package pngdec

import (
	"image"
	"image/draw"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/opaprules/opaprules/internal/reftest"
)

// TestFilesFromLibpng decodes files that libpng wrote (through libvips'
// pngsave, one file per row filter; grey, RGB, RGBA and 8-bit palettes)
// and compares the pixels with what
// ffmpeg decodes from the same file: both decoders are independent of
// ours, and a lossless format leaves no room, so the bound is equality.
func TestFilesFromLibpng(t *testing.T) {
	reftest.Tool(t, "vips")
	reftest.Tool(t, "ffmpeg")
	dir := t.TempDir()
	photo := reftest.Photo(301, 203, true)
	opaque := image.NewRGBA(photo.Rect)
	draw.Draw(opaque, opaque.Rect, reftest.Photo(301, 203, false), image.Point{}, draw.Src)
	sources := map[string]string{
		"rgba": reftest.WritePNG(t, dir, "rgba.png", photo),
		"rgb":  reftest.WritePNG(t, dir, "rgb.png", opaque),
	}
	grey := filepath.Join(dir, "grey.png")
	reftest.Run(t, "vips", "colourspace", sources["rgb"], grey, "b-w")
	sources["grey"] = grey

	// Palette files (libimagequant through libvips), opaque and with a
	// tRNS chunk.
	sources["palette"], sources["palette-alpha"] = sources["rgb"], sources["rgba"]
	for name, src := range sources {
		for _, filter := range []string{"none", "sub", "up", "avg", "paeth", "all"} {
			t.Run(name+"/"+filter, func(t *testing.T) {
				file := filepath.Join(dir, name+"-"+filter+".png")
				opts := "[compression=9,filter=" + filter
				if name == "palette" || name == "palette-alpha" {
					opts += ",palette"
				}
				reftest.Run(t, "vips", "copy", src, file+opts+"]")
				data, err := os.ReadFile(file)
				if err != nil {
					t.Fatal(err)
				}
				if _, _, ok, err := scan(data); !ok || err != nil {
					t.Fatalf("libpng's file does not take the fast path (%v)", err)
				}
				got, err := Decode(data)
				if err != nil {
					t.Fatal(err)
				}
				pam := filepath.Join(dir, name+"-"+filter+".pam")
				reftest.Run(t, "ffmpeg", "-v", "error", "-y", "-i", file, "-pix_fmt", "rgba", "-c:v", "pam", pam)
				want := reftest.ReadImage(t, pam)
				if psnr := reftest.PSNR(got, want); !math.IsInf(psnr, 1) {
					t.Errorf("PSNR against ffmpeg = %.2f dB, want identical pixels", psnr)
				}
				if d := reftest.AlphaDiff(got, want); d != 0 {
					t.Errorf("alpha differs from ffmpeg's by up to %d", d)
				}
			})
		}
	}
}
