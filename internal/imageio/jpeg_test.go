package imageio

import (
	"bytes"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/disintegration/imaging"
)

// Shrink-on-load accuracy, stated once. The shrink path (a 1/2, 1/4 or 1/8
// decode, then ResampleOpaque over ShrinkExtent) is compared with the full
// path (a full decode, resized with the same filter, Lanczos) over RGB,
// before any encoding. The scaled IDCT is an exact area average, ScaleFor
// leaves the resampler at least 2× on luma (and at 1/4 and 1/8
// SharpChroma 2× on 4:2:0 chroma), and the extent keeps partial edge
// blocks from stretching the picture, so what differs is the little
// sharpness Lanczos adds on top of an area average, and at 1/2 some
// chroma detail that 4:2:0 outputs drop anyway (see shrinkPlan):
//
//   - photo-like pictures of any size (non-multiples of 8 included) and any
//     orientation, colour or grey: 46.2-52 dB measured; 45 required. The
//     shrink path also stays that close to the original picture resized.
//   - the 131×97 fixtures of every sample layout, shrunk to thumbnails of
//     8 to 32 pixels where each output pixel touches a synthetic edge:
//     34.3-49 dB for 4:2:0, 4:4:4, 4:2:2, 4:4:0, 4:1:0, grey, RGB, CMYK,
//     YCCK, progressive; 33 required. 4:1:1 and factors of 3 keep chroma
//     4× or 3× coarser on one axis than the square reduced IDCTs can undo:
//     26.5-37 dB, 25 required. A picture flipped the wrong way scores far
//     below (checked).
//   - a 4000×3000 photo-like picture, each path as production runs it
//     (OPAPRULES_HEAVY): 52-53 dB at 1/2, 1/4 and 1/8 against the full
//     path, 50-51 against the original; 45 required.
const (
	minShrinkPSNR        = 45.0
	minShrinkPSNRFixture = 33.0
	minShrinkPSNRCoarse  = 25.0
)

const jpegFixtures = "../jpegdec/testdata"

func fixedTarget(w, h int) func(int, int) (int, int) {
	return func(int, int) (int, int) { return w, h }
}

func TestShrinkFactor(t *testing.T) {
	fit := func(w, h int) func(int, int) (int, int) {
		// Fit inside w×h, as the resize action's target does.
		return func(sw, sh int) (int, int) {
			s := math.Max(float64(sw)/float64(w), float64(sh)/float64(h))
			return int(math.Round(float64(sw) / s)), int(math.Round(float64(sh) / s))
		}
	}
	jpg := func(w, h, o int) Config { return Config{Format: JPEG, Width: w, Height: h, Frames: 1, Orientation: o} }
	up := func(target func(int, int) (int, int)) DecodeOptions {
		return DecodeOptions{AutoOrient: true, Target: target}
	}
	for _, tc := range []struct {
		name   string
		cfg    Config
		opts   DecodeOptions
		shrink int
		sharp  bool
	}{
		{"bench case: 4000x3000 to 800", jpg(4000, 3000, 1), up(fit(800, 800)), 2, false},
		{"to 400 wide", jpg(4000, 3000, 1), up(fit(400, 400)), 4, true},
		{"to 200 wide", jpg(4000, 3000, 1), up(fit(200, 200)), 8, true},
		{"to 100 wide: 1/8 is the most, 5× left", jpg(4000, 3000, 1), up(fit(100, 100)), 8, false},
		{"exactly 2× left at 1/2", jpg(4000, 3000, 1), up(fit(1000, 1000)), 2, false},
		{"less than 2× left at 1/2", jpg(4000, 3000, 1), up(fit(1001, 1001)), 1, false},
		{"half size: full decode", jpg(4000, 3000, 1), up(fit(2000, 2000)), 1, false},
		{"no target", jpg(4000, 3000, 1), DecodeOptions{AutoOrient: true}, 1, false},
		{"upscale", jpg(400, 300, 1), up(fit(800, 800)), 1, false},
		{"not a JPEG", Config{Format: PNG, Width: 4000, Height: 3000, Frames: 1, Orientation: 1}, up(fit(200, 200)), 1, false},
		{"one side only", jpg(4000, 3000, 1), up(fixedTarget(100, 0)), 1, false},
		// The target is in upright axes; the choice is made in stored
		// ones. Stored 4000×1000, 250×1000 upright allows 1/2 only once
		// turned back for orientations 5-8.
		{"orientation 1, no turn", jpg(4000, 1000, 1), up(fixedTarget(250, 1000)), 1, false},
		{"orientation 3, no turn", jpg(4000, 1000, 3), up(fixedTarget(250, 1000)), 1, false},
		{"orientation 6 turns the target back", jpg(4000, 1000, 6), up(fixedTarget(250, 1000)), 2, false},
		{"orientation 8 turns the target back", jpg(4000, 1000, 8), up(fixedTarget(250, 1000)), 2, false},
		{"orientation 5 turns the target back", jpg(4000, 1000, 5), up(fixedTarget(250, 1000)), 2, false},
		// Without auto-orientation the target is in stored axes.
		{"orientation 6 kept as stored", jpg(4000, 1000, 6), DecodeOptions{Target: fixedTarget(1000, 250)}, 2, false},
	} {
		f, sharp := shrinkPlan(tc.cfg, tc.opts)
		if f != tc.shrink || sharp != tc.sharp || Shrink(tc.cfg, tc.opts) != f {
			t.Errorf("%s: shrink %d sharp chroma %v, want %d %v", tc.name, f, sharp, tc.shrink, tc.sharp)
		}
	}
}

// ShrinkExtent must exclude exactly the decoder's padding, wherever the
// orientation turned it: mark the partial last column and row of a stored
// picture, turn it as Decode would, and check that a marked pixel's centre
// lies outside the extent exactly when at most half of it is picture
// (more than half and it counts as picture, its centre being inside).
func TestShrinkExtent(t *testing.T) {
	for _, sz := range [][2]int{{131, 97}, {129, 97}, {131, 96}, {128, 96}, {125, 99}} {
		for _, f := range []int{2, 4, 8} {
			for o := 1; o <= 8; o++ {
				cfg := Config{Format: JPEG, Width: sz[0], Height: sz[1], Frames: 1, Orientation: o}
				n := ShrunkSize(sz[0], sz[1], f)
				rx, ry := sz[0]%f, sz[1]%f // source pixels in the partial column, row
				stored := image.NewNRGBA(image.Rect(0, 0, n.X, n.Y))
				for y := range n.Y {
					for x := range n.X {
						var c color.NRGBA
						if rx != 0 && x == n.X-1 {
							c.R = 255
						}
						if ry != 0 && y == n.Y-1 {
							c.B = 255
						}
						stored.SetNRGBA(x, y, c)
					}
				}
				turned := Orient(stored, o)
				ext := ShrinkExtent(cfg, DecodeOptions{AutoOrient: true}, f)
				b := turned.Bounds()
				for y := b.Min.Y; y < b.Max.Y; y++ {
					for x := b.Min.X; x < b.Max.X; x++ {
						cx, cy := float64(x)+0.5, float64(y)+0.5
						inside := cx > ext.X0 && cx < ext.X1 && cy > ext.Y0 && cy < ext.Y1
						c := nrgba(turned, x, y)
						want := !(c.R == 255 && 2*rx <= f) && !(c.B == 255 && 2*ry <= f)
						if inside != want {
							t.Fatalf("%v at 1/%d, orientation %d: pixel (%d,%d) %v, inside extent %+v: %v",
								sz, f, o, x, y, c, ext, inside)
						}
					}
				}
				w, h := float64(sz[0])/float64(f), float64(sz[1])/float64(f)
				if o >= 5 {
					w, h = h, w
				}
				if ext.Dx() != w || ext.Dy() != h {
					t.Fatalf("%v at 1/%d, orientation %d: extent %+v", sz, f, o, ext)
				}
			}
		}
	}
	// Stored as is without auto-orientation.
	cfg := Config{Format: JPEG, Width: 131, Height: 97, Frames: 1, Orientation: 6}
	if ext := ShrinkExtent(cfg, DecodeOptions{}, 4); ext != (Rect{0, 0, 32.75, 24.25}) {
		t.Fatalf("stored extent %+v", ext)
	}
}

func nrgba(m image.Image, x, y int) color.NRGBA {
	return color.NRGBAModel.Convert(m.At(x, y)).(color.NRGBA)
}

// ycbcrOf is m in YCbCr at ratio, each chroma sample taken from the pixel
// at its top left.
func ycbcrOf(m *image.NRGBA, ratio image.YCbCrSubsampleRatio) *image.YCbCr {
	out := image.NewYCbCr(m.Rect, ratio)
	for y := m.Rect.Min.Y; y < m.Rect.Max.Y; y++ {
		for x := m.Rect.Min.X; x < m.Rect.Max.X; x++ {
			c := m.NRGBAAt(x, y)
			yy, cb, cr := color.RGBToYCbCr(c.R, c.G, c.B)
			out.Y[out.YOffset(x, y)] = yy
			out.Cb[out.COffset(x, y)], out.Cr[out.COffset(x, y)] = cb, cr
		}
	}
	return out
}

// photoLike is a w×h picture with smooth gradients, a different tint per
// quadrant (two hard edges, and a layout that shows any wrong turn or
// flip) and noise, like a photograph rather than synthetic art.
func photoLike(w, h int) *image.NRGBA {
	rng := rand.New(rand.NewPCG(6, 6))
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			fx, fy := float64(x)/float64(w), float64(y)/float64(h)
			r := 120 + 70*math.Sin(5*fx+2*fy)
			g := 120 + 70*math.Cos(4*fy-3*fx)
			b := 110 + 50*math.Sin(9*fx*fy)
			switch {
			case fx < 0.5 && fy < 0.5:
				r += 50
			case fx >= 0.5 && fy < 0.5:
				g += 50
			case fx < 0.5:
				b += 60
			}
			n := rng.NormFloat64() * 5
			i := m.PixOffset(x, y)
			m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = u8(r+n), u8(g+n), u8(b+n), 255
		}
	}
	return m
}

func u8(v float64) uint8 { return uint8(max(0, min(255, math.Round(v)))) }

// rgbPSNR compares two images of the same size over RGB.
func rgbPSNR(t testing.TB, a, b image.Image) float64 {
	t.Helper()
	na, nb := imaging.Clone(a), imaging.Clone(b)
	if na.Rect.Size() != nb.Rect.Size() {
		t.Fatalf("sizes differ: %v and %v", na.Rect.Size(), nb.Rect.Size())
	}
	var sum float64
	for i := 0; i < len(na.Pix); i += 4 {
		for c := range 3 {
			d := float64(na.Pix[i+c]) - float64(nb.Pix[i+c])
			sum += d * d
		}
	}
	if sum == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255/(sum/float64(len(na.Pix)/4*3)))
}

// paths decodes data in full and with opts (whose target must shrink it
// by wantShrink), checks what Decode returned, and resizes both to the
// target through the same resampler, so the comparison is of the decodes.
func paths(t testing.TB, data []byte, opts DecodeOptions, wantShrink int) (full, shrunk image.Image) {
	t.Helper()
	cfg, err := DecodeConfig(data)
	if err != nil {
		t.Fatal(err)
	}
	if f := Shrink(cfg, opts); f != wantShrink {
		t.Fatalf("shrink %d, want %d", f, wantShrink)
	}
	noTarget := opts
	noTarget.Target = nil
	ref, err := Decode(data, cfg, noTarget)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(data, cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	rw, rh := ref.Bounds().Dx(), ref.Bounds().Dy()
	if want := ShrunkSize(rw, rh, wantShrink); got.Bounds().Size() != want {
		t.Fatalf("shrunk to %v, want %v", got.Bounds().Size(), want)
	}
	if got.Orientation != ref.Orientation || got.Format != ref.Format || len(got.Frames) != 1 {
		t.Fatalf("orientation %d format %s, full decode says %d %s", got.Orientation, got.Format, ref.Orientation, ref.Format)
	}
	tw, th := opts.Target(rw, rh)
	full = ResampleOpaque(ref.Frames[0].Image, Rect{0, 0, float64(rw), float64(rh)}, tw, th, imaging.Lanczos)
	shrunk = ResampleOpaque(got.Frames[0].Image, ShrinkExtent(cfg, opts, wantShrink), tw, th, imaging.Lanczos)
	return full, shrunk
}

// Every sample layout the decoder reads, baseline and progressive, grey,
// RGB, CMYK and YCCK, at every shrink.
func TestShrinkOnLoadFixtures(t *testing.T) {
	fixtures := map[string]float64{
		"s444.jpg": minShrinkPSNRFixture, "s422.jpg": minShrinkPSNRFixture, "s420_rst.jpg": minShrinkPSNRFixture,
		"s440.jpg": minShrinkPSNRFixture, "s410.jpg": minShrinkPSNRFixture,
		"chroma_gt_luma.jpg": minShrinkPSNRFixture, "mixed.jpg": minShrinkPSNRFixture,
		"noninterleaved.jpg": minShrinkPSNRFixture, "q2_16bitdqt.jpg": minShrinkPSNRFixture, "rgb.jpg": minShrinkPSNRFixture,
		"gray_rst.jpg": minShrinkPSNRFixture, "cmyk.jpg": minShrinkPSNRFixture, "cmyk_c22.jpg": minShrinkPSNRFixture,
		"ycck.jpg": minShrinkPSNRFixture, "prog420.jpg": minShrinkPSNRFixture, "prog444_rst.jpg": minShrinkPSNRFixture,
		"prog422_rst.jpg": minShrinkPSNRFixture, "proggray.jpg": minShrinkPSNRFixture,
		"prog_spectral.jpg": minShrinkPSNRFixture, "prog_sa_rst.jpg": minShrinkPSNRFixture,
		"s411.jpg": minShrinkPSNRCoarse, "s3x1.jpg": minShrinkPSNRCoarse, "prog3x2.jpg": minShrinkPSNRCoarse,
	}
	// The fixtures are 131×97.
	targets := []struct{ w, h, shrink int }{{32, 24, 2}, {16, 12, 4}, {8, 6, 8}, {33, 25, 1}}
	for name, bound := range fixtures {
		data, err := os.ReadFile(filepath.Join(jpegFixtures, name))
		if err != nil {
			t.Fatal(err)
		}
		for _, tg := range targets {
			full, shrunk := paths(t, data, DecodeOptions{AutoOrient: true, Target: fixedTarget(tg.w, tg.h)}, tg.shrink)
			p := rgbPSNR(t, full, shrunk)
			if tg.shrink == 1 && !math.IsInf(p, 1) {
				t.Errorf("%s: no shrink, yet %.1f dB from the full decode", name, p)
			}
			if p < bound {
				t.Errorf("%s → %d×%d at 1/%d: %.1f dB, want ≥ %.0f", name, tg.w, tg.h, tg.shrink, p, bound)
			}
			// The bound has teeth: the full path turned the wrong way.
			if wrong := rgbPSNR(t, imaging.FlipH(full), shrunk); tg.shrink > 1 && wrong >= minShrinkPSNRCoarse-3 {
				t.Errorf("%s: a flipped picture scores %.1f dB", name, wrong)
			}
		}
	}
}

// Photo-like pictures whose sizes are not multiples of 8, every shrink,
// colour and grey: against the full path and against the original.
func TestShrinkOnLoadPhotoLike(t *testing.T) {
	for _, sz := range [][2]int{{389, 197}, {263, 181}, {384, 192}} {
		src := photoLike(sz[0], sz[1])
		for _, gray := range []bool{false, true} {
			var m image.Image = src
			if gray {
				m = grayOf(src)
			}
			data := mustEncode(t, still(m, JPEG), EncodeOptions{Format: JPEG, Quality: 90})
			for _, f := range []int{2, 4, 8} {
				tw, th := sz[0]/(2*f), sz[1]/(2*f)
				full, shrunk := paths(t, data, DecodeOptions{AutoOrient: true, Target: fixedTarget(tw, th)}, f)
				orig := imaging.Resize(m, tw, th, imaging.Lanczos)
				p, po, pf := rgbPSNR(t, full, shrunk), rgbPSNR(t, orig, shrunk), rgbPSNR(t, orig, full)
				if p < minShrinkPSNR || po < minShrinkPSNR {
					t.Errorf("%v grey %v at 1/%d: %.1f dB against the full path, %.1f against the original (full path: %.1f), want ≥ %.0f",
						sz, gray, f, p, po, pf, minShrinkPSNR)
				}
			}
		}
	}
}

func grayOf(m image.Image) *image.Gray {
	b := m.Bounds()
	g := image.NewGray(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			g.Set(x, y, m.At(x, y))
		}
	}
	return g
}

// exifJPEG stores upright as a JPEG whose EXIF orientation o turns it
// back upright.
func exifJPEG(t testing.TB, upright image.Image, o int) []byte {
	t.Helper()
	inverse := [9]int{0, 1, 2, 3, 4, 5, 8, 7, 6}
	var stored image.Image = Orient(upright, inverse[o])
	if _, ok := upright.(*image.Gray); ok {
		stored = grayOf(stored)
	}
	return mustEncode(t, still(stored, JPEG), EncodeOptions{
		Format: JPEG, Quality: 90, Metadata: Metadata{EXIF: MinimalEXIF(nil, o, false)},
	})
}

// All eight orientations through the shrink path, colour and grey, on a
// picture whose sides are not multiples of 8 (so the partial blocks land
// on every side): upright, and the target, in upright axes, picks the
// same shrink for every orientation.
func TestShrinkOnLoadOrientations(t *testing.T) {
	upright := photoLike(389, 197)
	for o := 1; o <= 8; o++ {
		for _, m := range []image.Image{upright, grayOf(upright)} {
			data := exifJPEG(t, m, o)
			if cfg, err := DecodeConfig(data); err != nil || cfg.Orientation != o {
				t.Fatalf("orientation %d: header %+v, %v", o, cfg, err)
			}
			// 48×24 upright is a quarter of 194×98 at 1/4; for
			// orientations 5-8 the stored picture is 197×389, and the
			// target must be turned back to stored axes to see that.
			full, shrunk := paths(t, data, DecodeOptions{AutoOrient: true, Target: fixedTarget(48, 24)}, 4)
			orig := imaging.Resize(m, 48, 24, imaging.Lanczos)
			p, po := rgbPSNR(t, full, shrunk), rgbPSNR(t, orig, shrunk)
			if p < minShrinkPSNR || po < minShrinkPSNR {
				t.Errorf("%T orientation %d: %.1f dB against the full path, %.1f against the original, want ≥ %.0f", m, o, p, po, minShrinkPSNR)
			}
			// Turned after the shrink instead (OrientAfterShrink): the
			// decode stays as stored, the extent in stored axes.
			cfg, _ := DecodeConfig(data)
			later := DecodeOptions{AutoOrient: true, Target: fixedTarget(48, 24), OrientAfterShrink: true}
			got, err := Decode(data, cfg, later)
			if err != nil {
				t.Fatal(err)
			}
			if want := ShrunkSize(cfg.Width, cfg.Height, 4); got.Orientation != o || got.Bounds().Size() != want {
				t.Fatalf("orientation %d after the shrink: decoded %v, orientation %d; want %v as stored", o, got.Bounds().Size(), got.Orientation, want)
			}
			w, h := 48, 24
			if o >= 5 {
				w, h = h, w
			}
			turned := Orient(ResampleOpaque(got.Frames[0].Image, ShrinkExtent(cfg, later, 4), w, h, imaging.Lanczos), o)
			if p := rgbPSNR(t, shrunk, turned); p < 50 {
				t.Errorf("%T orientation %d: turning after the shrink is %.1f dB from turning before", m, o, p)
			}
		}
	}
}

// Progressive files (image/jpeg cannot write them: the jpegdec fixtures,
// with an EXIF orientation spliced in) in all eight orientations: the
// shrunk decode is the unturned full decode, turned.
func TestShrinkOnLoadProgressiveOrientations(t *testing.T) {
	for _, name := range []string{"prog420.jpg", "proggray.jpg", "prog_sa_rst.jpg"} {
		plain, err := os.ReadFile(filepath.Join(jpegFixtures, name))
		if err != nil {
			t.Fatal(err)
		}
		pcfg, err := DecodeConfig(plain)
		if err != nil || !pcfg.Progressive {
			t.Fatalf("%s: %+v, %v", name, pcfg, err)
		}
		stored, err := Decode(plain, pcfg, DecodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for o := 1; o <= 8; o++ {
			data := embedJPEG(plain, Metadata{EXIF: MinimalEXIF(nil, o, false)})
			// 131×97 stored; 16×12 (12×16 upright for 5-8) allows 1/4.
			tw, th := 16, 12
			if o >= 5 {
				tw, th = th, tw
			}
			full, shrunk := paths(t, data, DecodeOptions{AutoOrient: true, Target: fixedTarget(tw, th)}, 4)
			want := ResampleOpaque(Orient(stored.Frames[0].Image, o), Rect{}, tw, th, imaging.Lanczos)
			p, pt := rgbPSNR(t, full, shrunk), rgbPSNR(t, want, shrunk)
			if p < minShrinkPSNRFixture || pt < minShrinkPSNRFixture {
				t.Errorf("%s orientation %d: %.1f dB against the full path, %.1f against the turned full decode, want ≥ %.0f",
					name, o, p, pt, minShrinkPSNRFixture)
			}
		}
	}
}

// ResampleOpaque follows imaging's conventions: on a whole picture it
// gives imaging.Resize's result to within rounding (RGB: it is the same
// arithmetic in fixed point; YCbCr: resampled per plane, converted after).
func TestResampleOpaqueMatchesImaging(t *testing.T) {
	src := photoLike(151, 101)
	ycc := func(r image.YCbCrSubsampleRatio) *image.YCbCr { return ycbcrOf(src, r) }
	rgba := &image.RGBA{Pix: src.Pix, Stride: src.Stride, Rect: src.Rect}
	cmyk := image.NewCMYK(src.Rect)
	for y := range src.Rect.Dy() {
		for x := range src.Rect.Dx() {
			cmyk.Set(x, y, src.At(x, y))
		}
	}
	inputs := map[string]image.Image{
		"nrgba": src, "rgba": rgba, "gray": grayOf(src), "cmyk": cmyk,
		"444": ycc(image.YCbCrSubsampleRatio444), "422": ycc(image.YCbCrSubsampleRatio422),
		"420": ycc(image.YCbCrSubsampleRatio420), "440": ycc(image.YCbCrSubsampleRatio440),
		"411": ycc(image.YCbCrSubsampleRatio411), "410": ycc(image.YCbCrSubsampleRatio410),
		"offset": src.SubImage(image.Rect(1, 2, 151, 101)),
	}
	filters := map[string]imaging.ResampleFilter{"lanczos": imaging.Lanczos, "catmullrom": imaging.CatmullRom,
		"linear": imaging.Linear, "box": imaging.Box, "nearest": imaging.NearestNeighbor}
	for name, m := range inputs {
		b := m.Bounds()
		for fname, f := range filters {
			for _, sz := range [][2]int{{50, 33}, {19, 101}, {151, 101}, {225, 50}} {
				got := ResampleOpaque(m, Rect{0, 0, float64(b.Dx()), float64(b.Dy())}, sz[0], sz[1], f)
				want := imaging.Resize(m, sz[0], sz[1], f)
				bound := 45.0
				if fname == "nearest" {
					bound = 40 // ties round differently
				}
				if p := rgbPSNR(t, got, want); p < bound {
					t.Errorf("%s %s → %v: %.1f dB against imaging, want ≥ %.0f", name, fname, sz, p, bound)
				}
				if !got.Opaque() || got.Rect.Min != (image.Point{}) {
					t.Errorf("%s %s: not an opaque picture at 0,0", name, fname)
				}
			}
		}
	}
}

// Pixels outside the extent are never read, and the extent's picture
// resamples as it would on its own.
func TestResampleOpaqueExtent(t *testing.T) {
	pic := photoLike(100, 60)
	canvas := image.NewNRGBA(image.Rect(0, 0, 103, 61))
	for i := range canvas.Pix {
		canvas.Pix[i] = 255 // white padding, alpha included
	}
	for y := range 60 {
		copy(canvas.Pix[canvas.PixOffset(3, y):canvas.PixOffset(103, y)], pic.Pix[pic.PixOffset(0, y):pic.PixOffset(100, y)])
	}
	for _, f := range []imaging.ResampleFilter{imaging.Lanczos, imaging.Linear, imaging.Box, imaging.NearestNeighbor} {
		got := ResampleOpaque(canvas, Rect{3, 0, 103, 60}, 25, 15, f)
		want := ResampleOpaque(pic, Rect{0, 0, 100, 60}, 25, 15, f)
		if !bytes.Equal(got.Pix, want.Pix) {
			t.Errorf("support %.1f: the padding changed the result (%.1f dB)", f.Support, rgbPSNR(t, got, want))
		}
	}
	// Degenerate calls return a picture of the asked size.
	if m := ResampleOpaque(pic, Rect{}, 7, 5, imaging.Lanczos); m.Rect.Size() != image.Pt(7, 5) {
		t.Fatalf("empty extent: %v", m.Rect)
	}
	if m := ResampleOpaque(image.NewGray(image.Rect(0, 0, 1, 1)), Rect{0, 0, 1, 1}, 3, 2, imaging.Lanczos); m.Rect.Size() != image.Pt(3, 2) {
		t.Fatalf("1×1 source: %v", m.Rect)
	}
}

// Malformed input fails cleanly at every shrink, never panics.
func TestShrinkOnLoadMalformed(t *testing.T) {
	src := mustEncode(t, still(photoLike(256, 192), JPEG), EncodeOptions{Format: JPEG, Quality: 90})
	cfg, err := DecodeConfig(src)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for _, target := range []func(int, int) (int, int){nil, fixedTarget(64, 48), fixedTarget(32, 24), fixedTarget(16, 12)} {
		opts := DecodeOptions{AutoOrient: true, Target: target}
		for _, n := range []int{len(src) / 3, len(src) / 2, len(src) - 10, len(src) - 2} {
			if _, err := Decode(src[:n], cfg, opts); err == nil {
				t.Errorf("shrink %d: truncated to %d bytes, decoded", Shrink(cfg, opts), n)
			}
		}
		for range 50 {
			bad := bytes.Clone(src)
			for range 8 {
				bad[rng.IntN(len(bad))] = byte(rng.IntN(256))
			}
			if c, err := DecodeConfig(bad); err == nil {
				_, _ = Decode(bad, c, opts) // an error or an image, never a panic
			}
		}
	}
	// A frame larger than the header the limits were checked against is
	// refused before allocating.
	small := cfg
	small.Width, small.Height = 16, 16
	if _, err := Decode(src, small, DecodeOptions{}); err == nil {
		t.Fatal("decoded a frame larger than the checked header")
	}
	if _, err := DecodeConfig(src[:100]); err == nil {
		t.Fatal("no error for a cut header")
	}
}

// A shrink-on-load decode reserves less of the memory budget.
func TestMemoryEstimateShrinks(t *testing.T) {
	base := Config{Format: JPEG, Width: 4000, Height: 3000, Frames: 1, Orientation: 1}
	prog := base
	prog.Progressive = true
	for _, cfg := range []Config{base, prog} {
		full := MemoryEstimate(cfg, DecodeOptions{AutoOrient: true})
		prev := full
		for _, w := range []int{800, 400, 200} {
			e := MemoryEstimate(cfg, DecodeOptions{AutoOrient: true, Target: fixedTarget(w, w*3/4)})
			if e >= prev {
				t.Errorf("progressive %v → %d: estimate %d not below %d", cfg.Progressive, w, e, prev)
			}
			prev = e
		}
	}
	if e := MemoryEstimate(base, DecodeOptions{AutoOrient: true, Target: fixedTarget(800, 600)}); e != 2000*1500*6+1<<20 {
		t.Errorf("baseline at 1/2: %d", e)
	}
}

// The bench's case at full size (OPAPRULES_HEAVY: a 12-megapixel picture
// takes seconds to make and encode): each production path, a full decode
// resized by imaging.Resize and a shrink-on-load decode resized by
// ResampleOpaque, against the other and against the original.
func TestShrinkOnLoad4000x3000(t *testing.T) {
	heavy(t)
	src := photoLike(4000, 3000)
	data := mustEncode(t, still(src, JPEG), EncodeOptions{Format: JPEG, Quality: 90})
	cfg, err := DecodeConfig(data)
	if err != nil {
		t.Fatal(err)
	}
	full, err := Decode(data, cfg, DecodeOptions{AutoOrient: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ w, shrink int }{{800, 2}, {400, 4}, {200, 8}} {
		h := tc.w * 3 / 4
		opts := DecodeOptions{AutoOrient: true, Target: fixedTarget(tc.w, h)}
		if f := Shrink(cfg, opts); f != tc.shrink {
			t.Fatalf("→ %d: shrink %d, want %d", tc.w, f, tc.shrink)
		}
		got, err := Decode(data, cfg, opts)
		if err != nil {
			t.Fatal(err)
		}
		shrunk := ResampleOpaque(got.Frames[0].Image, ShrinkExtent(cfg, opts, tc.shrink), tc.w, h, imaging.Lanczos)
		ref := imaging.Resize(full.Frames[0].Image, tc.w, h, imaging.Lanczos)
		orig := imaging.Resize(src, tc.w, h, imaging.Lanczos)
		p, po, pf := rgbPSNR(t, ref, shrunk), rgbPSNR(t, orig, shrunk), rgbPSNR(t, orig, ref)
		t.Logf("→ %d×%d at 1/%d: %.1f dB against the full path; against the original %.1f (full path %.1f)", tc.w, h, tc.shrink, p, po, pf)
		if p < minShrinkPSNR || po < minShrinkPSNR {
			t.Errorf("→ %d: %.1f dB against the full path, %.1f against the original, want ≥ %.0f", tc.w, p, po, minShrinkPSNR)
		}
	}
}
