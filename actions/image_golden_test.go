package actions

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/opaprules/opaprules/internal/imageio"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite actions/testdata/images/golden-*.png from the current pipeline")

// goldenPSNR is how close a pipeline's output must stay to its golden
// image. Equal code gives identical pixels; the margin lets dependency
// updates (resampling or font rasterising rounding) through, while a wrong
// crop, filter, position or colour falls far below it.
const goldenPSNR = 40

// Golden pipelines: the output, decoded, compared with a committed PNG.
func TestGoldenImages(t *testing.T) {
	jpegSrc := encodeWith(t, &Image{Frames: []Frame{{Image: photo(320, 240)}}, Format: "jpeg"}, imageio.EncodeOptions{Format: "jpeg", Quality: 92})
	pngSrc := encode(t, "png", photo(200, 150))
	text := newWatermark()
	text.Text, text.Opacity, text.Size = "© opaprules", 0.7, 18
	if err := text.Prepare(); err != nil {
		t.Fatal(err)
	}
	fill := newResize(120, 90, "fill")
	fill.Gravity = "smart"
	for _, tc := range []struct {
		name string
		src  []byte
		acts []Action
	}{
		{"thumbnail", jpegSrc, []Action{fill, &Adjust{Sharpen: 0.5, Gamma: 1}, newConvert("png")}},
		{"watermark", pngSrc, []Action{text}},
		{"rotate", pngSrc, []Action{&Rotate{Angle: 30, AutoOrient: true, Background: Color{NRGBA: yellow, Set: true}}}},
		{"adjust", pngSrc, []Action{&Adjust{Contrast: 20, Saturation: 40, Gamma: 1.2}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, got := run(t, object(tc.src, ""), tc.acts...)
			path := filepath.Join("testdata", "images", "golden-"+tc.name+".png")
			if *updateGolden {
				if err := os.WriteFile(path, encode(t, "png", got.Frames[0].Image), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update-golden to create it)", err)
			}
			want := decode(t, data)
			if size(got) != size(want) {
				t.Fatalf("size %v, golden %v", size(got), size(want))
			}
			if p := psnr(got.Frames[0], want.Frames[0]); p < goldenPSNR {
				t.Fatalf("PSNR %.1f dB against the golden image, want at least %d", p, goldenPSNR)
			}
		})
	}
}
