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

// TestFilesFromFFmpeg decodes files that another encoder wrote, ffmpeg's
// (one file per row filter, its -pred; grey, RGB, RGBA, and palettes
// opaque and with a tRNS chunk), and compares the pixels with ffmpeg's own
// decode of the same file: both sides are independent of ours, and a
// lossless format leaves no room, so the bound is equality.
func TestFilesFromFFmpeg(t *testing.T) {
	reftest.Tool(t, "ffmpeg")
	dir := t.TempDir()
	rgba := reftest.WritePNG(t, dir, "rgba.png", reftest.Photo(301, 203, true))
	opaque := image.NewRGBA(image.Rect(0, 0, 301, 203))
	draw.Draw(opaque, opaque.Rect, reftest.Photo(301, 203, false), image.Point{}, draw.Src)
	rgb := reftest.WritePNG(t, dir, "rgb.png", opaque)

	cases := []struct {
		name, src string
		args      []string // what makes ffmpeg write the layout
	}{
		{"grey", rgb, []string{"-pix_fmt", "gray"}},
		{"rgb", rgb, []string{"-pix_fmt", "rgb24"}},
		{"rgba", rgba, []string{"-pix_fmt", "rgba"}},
		{"palette", rgb, []string{"-pix_fmt", "pal8"}},
		{"palette-alpha", rgba, []string{"-filter_complex",
			"split[a][b];[a]palettegen=reserve_transparent=1[p];[b][p]paletteuse=alpha_threshold=128"}},
	}
	for _, tc := range cases {
		for _, pred := range []string{"none", "sub", "up", "avg", "paeth", "mixed"} {
			t.Run(tc.name+"/"+pred, func(t *testing.T) {
				file := filepath.Join(dir, tc.name+"-"+pred+".png")
				args := append([]string{"-v", "error", "-y", "-i", tc.src}, tc.args...)
				reftest.Run(t, "ffmpeg", append(args, "-pred", pred, file)...)
				data, err := os.ReadFile(file)
				if err != nil {
					t.Fatal(err)
				}
				if _, _, ok, err := scan(data); !ok || err != nil {
					t.Fatalf("ffmpeg's file does not take the fast path (%v)", err)
				}
				got, err := Decode(data)
				if err != nil {
					t.Fatal(err)
				}
				if tc.name == "palette-alpha" && got.(*image.Paletted).Opaque() {
					t.Fatalf("ffmpeg wrote no transparent palette entry: the case tests nothing more than palette")
				}
				pam := filepath.Join(dir, tc.name+"-"+pred+".pam")
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
