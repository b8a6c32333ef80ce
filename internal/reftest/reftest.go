// Package reftest helps tests judge our pictures by what the reference
// implementations make of the same file: libwebp's dwebp, libheif's
// heif-convert, ffmpeg. The tools are Debian packages that .ci/run
// installs; a test that needs one skips without it on a developer's
// machine, and fails in CI (OPAPRULES_REQUIRE_TOOLS=1), so a missing
// package can never turn a reference test into one that passes by not
// running.
package reftest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Packages maps each tool to the Debian package that ships it, for the
// message a test gives when the tool is missing.
var Packages = map[string]string{
	"cwebp":        "webp",
	"dwebp":        "webp",
	"img2webp":     "webp",
	"webpmux":      "webp",
	"heif-enc":     "libheif-examples",
	"heif-convert": "libheif-examples",
	"heif-info":    "libheif-examples",
	"ffmpeg":       "ffmpeg",
	"ffprobe":      "ffmpeg",
	"djpeg":        "libjpeg-turbo-progs",
	"cjpeg":        "libjpeg-turbo-progs",
}

// Tool returns the path of a reference tool, skipping the test when it is
// not installed (failing it when OPAPRULES_REQUIRE_TOOLS is set, as CI does).
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	msg := fmt.Sprintf("%s is not installed (Debian package %s)", name, Packages[name])
	if os.Getenv("OPAPRULES_REQUIRE_TOOLS") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// Run runs a reference tool with args (never through a shell) and returns
// its standard output; a failure fails the test with the tool's stderr.
func Run(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, Tool(t, name), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.Bytes())
	}
	return stdout.Bytes()
}

// WritePNG writes m to dir/name and returns the path.
func WritePNG(t testing.TB, dir, name string, m image.Image) string {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// ReadImage reads a PNG or a PNM/PAM file (what dwebp -pam, heif-convert
// and ffmpeg write) as NRGBA.
func ReadImage(t testing.TB, path string) *image.NRGBA {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m image.Image
	if bytes.HasPrefix(data, []byte("\x89PNG")) {
		m, err = png.Decode(bytes.NewReader(data))
	} else {
		m, err = DecodePNM(data)
	}
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return NRGBA(m)
}

// NRGBA converts any image to an NRGBA with its origin at 0,0.
func NRGBA(m image.Image) *image.NRGBA {
	b := m.Bounds()
	if n, ok := m.(*image.NRGBA); ok && b.Min == (image.Point{}) {
		return n
	}
	out := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := range b.Dy() {
		for x := range b.Dx() {
			out.SetNRGBA(x, y, color.NRGBAModel.Convert(m.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA))
		}
	}
	return out
}

// Clone returns a copy of m.
func Clone(m *image.NRGBA) *image.NRGBA {
	c := *m
	c.Pix = append([]byte(nil), m.Pix...)
	return &c
}

// DecodePNM reads 8-bit binary PGM (P5), PPM (P6) and PAM (P7) data.
func DecodePNM(data []byte) (*image.NRGBA, error) {
	r := bufio.NewReader(bytes.NewReader(data))
	magic, err := pnmToken(r)
	if err != nil {
		return nil, err
	}
	var w, h, depth, maxval int
	switch magic {
	case "P5", "P6":
		depth = 1
		if magic == "P6" {
			depth = 3
		}
		for _, p := range []*int{&w, &h, &maxval} {
			tok, err := pnmToken(r)
			if err != nil {
				return nil, err
			}
			if *p, err = strconv.Atoi(tok); err != nil {
				return nil, fmt.Errorf("pnm header: %v", err)
			}
		}
	case "P7":
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return nil, fmt.Errorf("pam header: %v", err)
			}
			f := strings.Fields(line)
			if len(f) == 0 || strings.HasPrefix(f[0], "#") {
				continue
			}
			if f[0] == "ENDHDR" {
				break
			}
			if len(f) < 2 {
				continue
			}
			n, _ := strconv.Atoi(f[1])
			switch f[0] {
			case "WIDTH":
				w = n
			case "HEIGHT":
				h = n
			case "DEPTH":
				depth = n
			case "MAXVAL":
				maxval = n
			}
		}
	default:
		return nil, fmt.Errorf("not a binary PNM/PAM file (%q)", magic)
	}
	if maxval != 255 || w <= 0 || h <= 0 || depth < 1 || depth > 4 {
		return nil, fmt.Errorf("unsupported PNM: %d×%d depth %d maxval %d", w, h, depth, maxval)
	}
	pix := make([]byte, w*h*depth)
	if _, err := io.ReadFull(r, pix); err != nil {
		return nil, fmt.Errorf("pnm pixels: %v", err)
	}
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range w * h {
		s, d := pix[i*depth:(i+1)*depth], m.Pix[i*4:i*4+4]
		switch depth {
		case 1:
			d[0], d[1], d[2], d[3] = s[0], s[0], s[0], 255
		case 2:
			d[0], d[1], d[2], d[3] = s[0], s[0], s[0], s[1]
		case 3:
			d[0], d[1], d[2], d[3] = s[0], s[1], s[2], 255
		case 4:
			copy(d, s)
		}
	}
	return m, nil
}

// pnmToken reads one whitespace-separated header token, skipping comments;
// the single whitespace byte after the last one is consumed with it.
func pnmToken(r *bufio.Reader) (string, error) {
	var tok []byte
	for {
		c, err := r.ReadByte()
		if err != nil {
			return "", fmt.Errorf("pnm header: %v", err)
		}
		switch {
		case c == '#' && len(tok) == 0:
			if _, err := r.ReadString('\n'); err != nil {
				return "", err
			}
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if len(tok) > 0 {
				return string(tok), nil
			}
		default:
			tok = append(tok, c)
		}
	}
}

// PSNR compares the colours of two images of the same size as they show,
// in dB: RGB weighted by each image's own alpha (premultiplied), so the
// colour under a transparent pixel, which no viewer shows and encoders
// are free to change, does not count. The alpha channel itself is
// compared separately (see AlphaDiff). Images of different sizes compare
// at 0 dB.
func PSNR(a, b image.Image) float64 {
	na, nb := NRGBA(a), NRGBA(b)
	if na.Rect.Size() != nb.Rect.Size() {
		return 0
	}
	var sum float64
	for i := 0; i < len(na.Pix); i += 4 {
		aa, ab := float64(na.Pix[i+3])/255, float64(nb.Pix[i+3])/255
		for c := range 3 {
			d := float64(na.Pix[i+c])*aa - float64(nb.Pix[i+c])*ab
			sum += d * d
		}
	}
	mse := sum / float64(3*na.Rect.Dx()*na.Rect.Dy())
	if mse == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255/mse)
}

// AlphaDiff is the largest difference between the alpha of two images of
// the same size (-1 when the sizes differ).
func AlphaDiff(a, b image.Image) int {
	na, nb := NRGBA(a), NRGBA(b)
	if na.Rect.Size() != nb.Rect.Size() {
		return -1
	}
	worst := 0
	for i := 3; i < len(na.Pix); i += 4 {
		worst = max(worst, abs(int(na.Pix[i])-int(nb.Pix[i])))
	}
	return worst
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// Photo is a deterministic picture with what makes a colour conversion
// error visible: smooth saturated gradients, deep blacks and clipped
// whites, fine texture, and an alpha channel when alpha is set (a soft
// vignette with fully transparent corners).
func Photo(w, h int, alpha bool) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			fx, fy := float64(x)/float64(w), float64(y)/float64(h)
			r := 128 + 140*math.Sin(6*fx+2*fy)
			g := 128 + 140*math.Cos(5*fy-3*fx)
			b := 128 + 90*math.Sin(20*fx*fy) + 30*math.Sin(float64(x*y)/50)
			// A dark band and a bright band: where full-range and
			// limited-range YUV disagree most.
			switch {
			case fy > 0.45 && fy < 0.55:
				r, g, b = r*0.08, g*0.08, b*0.08
			case fy > 0.8 && fy < 0.88:
				r, g, b = 235+r/8, 235+g/8, 235+b/8
			}
			a := 255.0
			if alpha {
				dx, dy := fx-0.5, fy-0.5
				a = 255 * (1.4 - 3*math.Sqrt(dx*dx+dy*dy))
			}
			i := m.PixOffset(x, y)
			m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = clamp8(r), clamp8(g), clamp8(b), clamp8(a)
		}
	}
	return m
}

// Photo16 is Photo at 16 bits a channel, with detail below the eighth bit,
// for encoders that take their depth from the input (heif-enc -b 10).
func Photo16(w, h int) *image.NRGBA64 {
	m := image.NewNRGBA64(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			fx, fy := float64(x)/float64(w), float64(y)/float64(h)
			r := 0.5 + 0.45*math.Sin(6*fx+2*fy)
			g := 0.5 + 0.45*math.Cos(5*fy-3*fx)
			b := 0.5 + 0.35*math.Sin(20*fx*fy)
			c16 := func(v float64) uint16 { return uint16(max(0, min(65535, math.Round(v*65535)))) }
			m.SetNRGBA64(x, y, color.NRGBA64{c16(r), c16(g), c16(b), 0xffff})
		}
	}
	return m
}

func clamp8(v float64) uint8 { return uint8(max(0, min(255, math.Round(v)))) }

// ColourEdges is Photo with hard saturated edges drawn over it, red
// stripes and blue bands, where how a decoder interpolates subsampled
// chroma shows most.
func ColourEdges(w, h int) *image.NRGBA {
	m := Photo(w, h, false)
	red := image.NewUniform(color.NRGBA{230, 20, 30, 255})
	for x := 7; x < w; x += 23 {
		draw.Draw(m, image.Rect(x, 0, x+5, h), red, image.Point{}, draw.Src)
	}
	blue := image.NewUniform(color.NRGBA{20, 40, 220, 255})
	for y := 5; y < h; y += 19 {
		draw.Draw(m, image.Rect(0, y, w, y+3), blue, image.Point{}, draw.Src)
	}
	return m
}
