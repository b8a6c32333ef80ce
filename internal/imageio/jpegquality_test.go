package imageio

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

func gradient(w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.Set(x, y, color.RGBA{uint8(x * 4), uint8(y * 4), uint8(x * y), 255})
		}
	}
	return m
}

// Go's encoder scales Annex K like the IJG code: every setting comes back.
func TestJPEGQualityGo(t *testing.T) {
	m := gradient(64, 64)
	for q := 1; q <= 100; q++ {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: q}); err != nil {
			t.Fatal(err)
		}
		if got, ok := JPEGQuality(buf.Bytes()); !ok || got != q {
			t.Errorf("quality %d estimated as %d (ok %v)", q, got, ok)
		}
	}
	gray := image.NewGray(image.Rect(0, 0, 16, 16))
	var buf bytes.Buffer
	_ = jpeg.Encode(&buf, gray, &jpeg.Options{Quality: 63})
	if got, ok := JPEGQuality(buf.Bytes()); !ok || got != 63 {
		t.Errorf("grayscale quality 63 estimated as %d (ok %v)", got, ok)
	}
}

// libjpeg-turbo's cjpeg, the encoder behind most files on the web, also
// with the 16-bit tables it writes for low qualities without -baseline.
func TestJPEGQualityLibjpeg(t *testing.T) {
	cjpeg, err := exec.LookPath("cjpeg")
	if err != nil {
		t.Skip("cjpeg (libjpeg-turbo-progs) is not installed")
	}
	dir := t.TempDir()
	ppm := filepath.Join(dir, "a.ppm")
	var img bytes.Buffer
	img.WriteString("P6 64 64 255\n")
	m := gradient(64, 64)
	for i := 0; i < len(m.Pix); i += 4 {
		img.Write(m.Pix[i : i+3])
	}
	if err := os.WriteFile(ppm, img.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, q := range []int{3, 10, 37, 50, 68, 75, 85, 92, 100} {
		for _, extra := range [][]string{nil, {"-baseline"}, {"-progressive"}} {
			args := append([]string{"-quality", strconv.Itoa(q)}, extra...)
			out, err := exec.Command(cjpeg, append(args, ppm)...).Output()
			if err != nil {
				t.Fatal(err)
			}
			if got, ok := JPEGQuality(out); !ok || got != q {
				t.Errorf("cjpeg %v: estimated %d (ok %v)", args, got, ok)
			}
		}
	}
}

func TestJPEGQualityNotJPEG(t *testing.T) {
	for _, b := range [][]byte{nil, []byte("\xff\xd8"), []byte("\x89PNG\r\n\x1a\n"), []byte("\xff\xd8\xff\xdb\x00\x43\x00")} {
		if q, ok := JPEGQuality(b); ok {
			t.Errorf("%q: quality %d", b, q)
		}
	}
}
