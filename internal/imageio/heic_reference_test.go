package imageio

import (
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opaprules/opaprules/internal/reftest"
)

// HEIC decodes are compared with libheif's own (heif-convert, Debian
// libheif-examples 1.15, with libde265 1.0.11). Measured with
// gen2brain/heic v0.7.0: 62-64 dB on 8-bit 4:2:0 files (plain, odd sizes,
// grids, every irot/imir/clap), 66 and 73 dB with an nclx box (BT.709;
// limited range), 50 dB at 10 bits (heif-convert writes 16-bit PNGs,
// read here by truncating to 8 bits). v0.4.5 measured 34 dB on the plain
// file; v0.5.0 10 dB.
const (
	heicMinPSNR     = 55
	heicMinPSNRDeep = 45
)

// heicFixtures builds the test files: heif-enc encodes the pictures, the
// builder (heif_build_test.go) adds what heif-enc 1.15 cannot write.
type heicFixture struct {
	name string
	file []byte
	// stored is the picture as stored: what auto_orient: false returns.
	stored      string
	orientation int
	size        image.Point // as stored, after the clean aperture
	minPSNR     float64
}

func heicFixtures(t *testing.T, dir string) []heicFixture {
	t.Helper()
	reftest.Tool(t, "heif-enc")
	photo := reftest.Photo(480, 300, false)
	base := readCoded(t, heifEnc(t, dir, "base", photo, "-q", "60"))
	// heif-enc codes an odd size as an even picture in a 1×1 grid that
	// crops it.
	odd := heifEnc(t, dir, "odd", reftest.Photo(333, 251, false), "-q", "60")
	// 10 bits: heif-enc takes the depth from a 16-bit PNG.
	deep := reftest.Photo16(320, 240)
	deepC := readCoded(t, heifEnc(t, dir, "deep", deep, "-q", "60", "-b", "10"))

	// Phones store large pictures as grids of 512×512 cells; these are
	// 192×192, the right column and bottom row overhanging the output.
	var cells []codedImage
	for r := range 2 {
		for c := range 3 {
			// Where a cell overhangs the picture it repeats the edge,
			// as encoders pad.
			cell := image.NewNRGBA(image.Rect(0, 0, 192, 192))
			for y := range 192 {
				for x := range 192 {
					cell.SetNRGBA(x, y, photo.NRGBAAt(min(c*192+x, 479), min(r*192+y, 299)))
				}
			}
			cells = append(cells, readCoded(t, heifEnc(t, dir, fmt.Sprintf("cell%d%d", r, c), cell, "-q", "60")))
		}
	}
	plain := stillHEIF(base)
	grid := gridHEIF(cells, 3, 2, 480, 300)
	full := image.Pt(480, 300)
	fx := []heicFixture{
		{"plain", plain, "plain", 1, full, heicMinPSNR},
		{"odd size", odd, "", 1, image.Pt(333, 251), heicMinPSNR},
		{"irot 90", stillHEIF(base, irotBox(1)), "plain", 8, full, heicMinPSNR},
		{"irot 180", stillHEIF(base, irotBox(2)), "plain", 3, full, heicMinPSNR},
		{"irot 270", stillHEIF(base, irotBox(3)), "plain", 6, full, heicMinPSNR},
		{"imir 0", stillHEIF(base, imirBox(0)), "plain", 4, full, heicMinPSNR},
		{"imir 1", stillHEIF(base, imirBox(1)), "plain", 2, full, heicMinPSNR},
		{"irot 90 imir 0", stillHEIF(base, irotBox(1), imirBox(0)), "plain", 5, full, heicMinPSNR},
		{"imir 0 irot 90", stillHEIF(base, imirBox(0), irotBox(1)), "plain", 7, full, heicMinPSNR},
		{"clap", stillHEIF(base, clapBox(400, 240, 0, 0)), "", 1, image.Pt(400, 240), heicMinPSNR},
		{"clap irot 90", stillHEIF(base, clapBox(400, 240, 20, 10), irotBox(1)), "", 8, image.Pt(400, 240), heicMinPSNR},
		{"nclx limited range", stillHEIF(base, nclxBox(1, 13, 6, false)), "", 1, full, heicMinPSNR},
		{"nclx BT.709", stillHEIF(base, nclxBox(1, 13, 1, true)), "", 1, full, heicMinPSNR},
		{"grid", grid, "grid", 1, full, heicMinPSNR},
		{"grid irot 270", gridHEIF(cells, 3, 2, 480, 300, irotBox(3)), "grid", 6, full, heicMinPSNR},
		{"10 bits", stillHEIF(deepC), "", 1, image.Pt(320, 240), heicMinPSNRDeep},
	}
	for _, f := range fx {
		if err := os.WriteFile(filepath.Join(dir, fileName(f.name)+".heic"), f.file, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return fx
}

func fileName(s string) string { return strings.ReplaceAll(s, " ", "_") }

func clapBox(w, h, hoff, voff int) bmffBox {
	var p []byte
	for _, v := range []int{w, 1, h, 1, hoff, 1, voff, 1} {
		p = append(p, u32(v)...)
	}
	return bmffBox{"clap", p}
}

// heifConvert decodes a file with libheif.
func heifConvert(t *testing.T, dir, name string) *image.NRGBA {
	t.Helper()
	in := filepath.Join(dir, fileName(name)+".heic")
	out := filepath.Join(dir, fileName(name)+".ref.png")
	reftest.Run(t, "heif-convert", in, out)
	return reftest.ReadImage(t, out)
}

func TestHEICMatchesLibheif(t *testing.T) {
	heavy(t)
	reftest.Tool(t, "heif-convert")
	dir := t.TempDir()
	for _, f := range heicFixtures(t, dir) {
		t.Run(f.name, func(t *testing.T) {
			cfg, err := DecodeConfig(f.file)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Format != HEIC || cfg.Orientation != f.orientation || image.Pt(cfg.Width, cfg.Height) != f.size {
				t.Fatalf("config %+v, want heic %v orientation %d", cfg, f.size, f.orientation)
			}
			img, err := Decode(f.file, cfg, DecodeOptions{AutoOrient: true})
			if err != nil {
				t.Fatal(err)
			}
			want := heifConvert(t, dir, f.name)
			p := reftest.PSNR(img.Frames[0].Image, want)
			t.Logf("%.1f dB from libheif", p)
			if p < f.minPSNR {
				t.Errorf("%.1f dB from libheif's decode, want at least %.0f", p, f.minPSNR)
			}
			if img.Orientation != 1 {
				t.Errorf("orientation %d left to apply after auto-orientation", img.Orientation)
			}
			if f.stored == "" {
				return
			}
			// auto_orient: false gets the pixels as stored, and the
			// orientation that shows them upright.
			kept, err := Decode(f.file, cfg, DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if kept.Orientation != f.orientation {
				t.Errorf("as stored: orientation %d, want %d", kept.Orientation, f.orientation)
			}
			if p := reftest.PSNR(kept.Frames[0].Image, heifConvert(t, dir, f.stored)); p < f.minPSNR {
				t.Errorf("as stored: %.1f dB from libheif's decode of the unrotated file", p)
			}
		})
	}
}

// Forms the decoder renders wrongly are refused from the header, with a
// message that names them; libheif decodes every one of these files.
func TestHEICUnsupportedForms(t *testing.T) {
	reftest.Tool(t, "heif-enc")
	dir := t.TempDir()
	photo := reftest.Photo(96, 64, false)
	// A grayscale PNG: heif-enc codes it as monochrome.
	gray := image.NewGray(photo.Rect)
	for i := range gray.Pix {
		gray.Pix[i] = photo.Pix[4*i+1]
	}
	for _, tc := range []struct {
		name string
		file []byte
		want string
	}{
		{"4:4:4", heifEnc(t, dir, "c444", photo, "-q", "60", "-p", "chroma=444"), "heic images with 4:4:4 chroma are not supported"},
		{"4:2:2", heifEnc(t, dir, "c422", photo, "-q", "60", "-p", "chroma=422"), "heic images with 4:2:2 chroma are not supported"},
		{"monochrome", heifEnc(t, dir, "gray", gray, "-q", "60"), "heic images in monochrome (4:0:0) are not supported"},
		{"alpha", heifEnc(t, dir, "alpha", reftest.Photo(96, 64, true), "-q", "60"), "heic images with an alpha channel are not supported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeConfig(tc.file)
			var ue UnsupportedError
			if !errors.As(err, &ue) || ue.Error() != tc.want {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}
