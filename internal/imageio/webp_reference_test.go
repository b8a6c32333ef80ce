package imageio

import (
	"bufio"
	"fmt"
	"image"
	"image/draw"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/opaprules/opaprules/internal/reftest"
)

// Lossy WebP stores limited-range BT.601 YUV. A decoder that converts it as
// full-range (Go's image.YCbCr does, golang/go#40173) lifts blacks, lowers
// whites and washes colours out: deepteams/webp v1.2.5 decoded the opaque
// files below 25.9-26.3 dB from libwebp (real wallpapers: 29-31 dB). Our
// decode must match libwebp's own (dwebp, Debian package webp) to within
// rounding. Measured with deepteams/webp v1.2.8 against libwebp 1.2.4:
// identical pixels (∞ dB) for every opaque, alpha and animated case but
// the one with lossy alpha, 113 dB there (colour weighted by alpha, see
// reftest.PSNR); the alpha planes are identical.
const webpMinPSNR = 45

func TestWebPLossyMatchesLibwebp(t *testing.T) {
	reftest.Tool(t, "cwebp")
	dir := t.TempDir()
	opaque := reftest.WritePNG(t, dir, "opaque.png", reftest.Photo(320, 240, false))
	alpha := reftest.WritePNG(t, dir, "alpha.png", reftest.Photo(320, 240, true))
	for _, tc := range []struct {
		name, src string
		args      []string
	}{
		{"opaque q80", opaque, []string{"-q", "80"}},
		{"opaque q95 sharp_yuv", opaque, []string{"-q", "95", "-sharp_yuv"}},
		{"opaque q30", opaque, []string{"-q", "30"}},
		{"alpha q80", alpha, []string{"-q", "80"}},
		{"lossy alpha q70", alpha, []string{"-q", "70", "-alpha_q", "50"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".webp")
			reftest.Run(t, "cwebp", append(tc.args, "-quiet", tc.src, "-o", out)...)
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			got := decodeFrames(t, data)
			if len(got) != 1 {
				t.Fatalf("%d frames", len(got))
			}
			compareWebP(t, got[0], dwebp(t, out))
		})
	}
}

// An animation's frames are stored as sub-rectangles blended onto the
// canvas (img2webp picks them); libwebp has no command that renders
// frames, so the reference is each frame decoded by dwebp, composited as
// the WebP container spec says.
func TestWebPAnimatedLossyMatchesLibwebp(t *testing.T) {
	reftest.Tool(t, "img2webp")
	dir := t.TempDir()
	base := reftest.Photo(240, 160, false)
	moved := reftest.Clone(base)
	for y := 50; y < 110; y++ {
		for x := 60; x < 180; x++ {
			i := moved.PixOffset(x, y)
			moved.Pix[i], moved.Pix[i+2] = 255-moved.Pix[i], moved.Pix[i+1]/2
		}
	}
	frames := []string{
		reftest.WritePNG(t, dir, "f1.png", base),
		reftest.WritePNG(t, dir, "f2.png", moved),
		reftest.WritePNG(t, dir, "f3.png", reftest.Photo(240, 160, true)),
	}
	anim := filepath.Join(dir, "anim.webp")
	reftest.Run(t, "img2webp", append([]string{"-loop", "0", "-lossy", "-q", "75", "-d", "80"}, append(frames, "-o", anim)...)...)
	data, err := os.ReadFile(anim)
	if err != nil {
		t.Fatal(err)
	}
	got := decodeFrames(t, data)
	want := libwebpFrames(t, anim, dir)
	if len(got) != len(want) || len(got) != 3 {
		t.Fatalf("decoded %d frames, libwebp %d, want 3", len(got), len(want))
	}
	for i := range got {
		t.Run(fmt.Sprint("frame ", i+1), func(t *testing.T) { compareWebP(t, got[i], want[i]) })
	}
}

func decodeFrames(t *testing.T, data []byte) []image.Image {
	t.Helper()
	cfg, err := DecodeConfig(data)
	if err != nil {
		t.Fatal(err)
	}
	img, err := Decode(data, cfg, DecodeOptions{AutoOrient: true})
	if err != nil {
		t.Fatal(err)
	}
	var out []image.Image
	for _, f := range img.Frames {
		out = append(out, f.Image)
	}
	return out
}

func compareWebP(t *testing.T, got, want image.Image) {
	t.Helper()
	if got.Bounds().Size() != want.Bounds().Size() {
		t.Fatalf("size %v, libwebp %v", got.Bounds().Size(), want.Bounds().Size())
	}
	p := reftest.PSNR(got, want)
	t.Logf("%.1f dB from libwebp", p)
	if p < webpMinPSNR {
		t.Errorf("decode is %.1f dB from libwebp's, want at least %d dB", p, webpMinPSNR)
	}
	// Alpha is compressed apart from the colours, losslessly by default
	// and with a levels quantiser at -alpha_q < 100: both decoders read
	// the same alpha plane.
	if d := reftest.AlphaDiff(got, want); d != 0 {
		t.Errorf("alpha differs from libwebp's by up to %d", d)
	}
}

// dwebp decodes one WebP file with libwebp (RGBA, non-premultiplied).
func dwebp(t *testing.T, path string) *image.NRGBA {
	t.Helper()
	out := path + ".pam"
	reftest.Run(t, "dwebp", "-quiet", path, "-pam", "-o", out)
	return reftest.ReadImage(t, out)
}

// libwebpFrames renders an animation with libwebp's tools: webpmux lists
// the frames' rectangles, disposal and blending and extracts each, dwebp
// decodes it, and this composites them in order.
func libwebpFrames(t *testing.T, path, dir string) []*image.NRGBA {
	t.Helper()
	info := string(reftest.Run(t, "webpmux", "-info", path))
	var canvas *image.NRGBA
	var frames []*image.NRGBA
	var prev struct {
		rect    image.Rectangle
		dispose bool
	}
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		line := sc.Text()
		if w, h, ok := strings.Cut(strings.TrimPrefix(line, "Canvas size: "), " x "); ok && line != w {
			cw, _ := strconv.Atoi(w)
			ch, _ := strconv.Atoi(h)
			canvas = image.NewNRGBA(image.Rect(0, 0, cw, ch))
			continue
		}
		// "  1:   160   120    no        0        0      100       none    no  2470  lossy"
		f := strings.Fields(line)
		if len(f) < 9 || !strings.HasSuffix(f[0], ":") {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSuffix(f[0], ":"))
		if err != nil {
			continue
		}
		num := func(s string) int {
			v, err := strconv.Atoi(s)
			if err != nil {
				t.Fatalf("webpmux -info: %q in %q", s, line)
			}
			return v
		}
		w, h, x, y := num(f[1]), num(f[2]), num(f[4]), num(f[5])
		dispose, blend := f[7] == "background", f[8] == "yes"
		if canvas == nil {
			t.Fatalf("webpmux -info: no canvas size before the frames:\n%s", info)
		}
		if prev.dispose {
			draw.Draw(canvas, prev.rect, image.Transparent, image.Point{}, draw.Src)
		}
		fw := filepath.Join(dir, fmt.Sprintf("frame%d.webp", n))
		reftest.Run(t, "webpmux", "-get", "frame", strconv.Itoa(n), path, "-o", fw)
		fm := dwebp(t, fw)
		if fm.Rect.Size() != image.Pt(w, h) {
			t.Fatalf("frame %d: dwebp gave %v, webpmux says %d×%d", n, fm.Rect.Size(), w, h)
		}
		rect := image.Rect(x, y, x+w, y+h)
		blendOnto(canvas, fm, rect.Min, blend)
		frames = append(frames, reftest.Clone(canvas))
		prev.rect, prev.dispose = rect, dispose
	}
	if canvas == nil || len(frames) == 0 {
		t.Fatalf("webpmux -info gave no frames:\n%s", info)
	}
	return frames
}

// blendOnto draws src at at over dst: replacing the pixels, or, with
// blend, alpha-blending non-premultiplied colours as libwebp's
// anim_decode does.
func blendOnto(dst, src *image.NRGBA, at image.Point, blend bool) {
	for y := range src.Rect.Dy() {
		for x := range src.Rect.Dx() {
			s := src.Pix[src.PixOffset(x, y):][:4]
			d := dst.Pix[dst.PixOffset(at.X+x, at.Y+y):][:4]
			sa := uint32(s[3])
			if !blend || sa == 255 {
				copy(d, s)
				continue
			}
			if sa == 0 {
				continue
			}
			da := uint32(d[3]) * (256 - sa) >> 8
			oa := sa + da
			scale := (1 << 24) / oa
			for c := range 3 {
				d[c] = uint8((uint32(s[c])*sa + uint32(d[c])*da) * scale >> 24)
			}
			d[3] = uint8(oa)
		}
	}
}
