package jpegdec

import (
	"bytes"
	"image"
	"image/jpeg"
	"runtime"
	"testing"
)

// decodePlanesSharp is decodePlanes with Options.SharpChroma: every
// component's plane at its own scale, trimmed to its real size, with the
// factor it was shrunk by.
func decodePlanesSharp(t testing.TB, data []byte, scale int) ([]plane, []int) {
	t.Helper()
	d := decoder{src: source{buf: data}, sharpChroma: true}
	for 1<<d.shift < scale {
		d.shift++
	}
	if _, err := d.decode(); err != nil {
		t.Fatal(err)
	}
	var ps []plane
	var fs []int
	for i := 0; i < d.ncomp; i++ {
		c := &d.comp[i]
		f := 1 << c.shift
		w := ceilDiv(ceilDiv(d.width*c.h, d.hmax), f)
		h := ceilDiv(ceilDiv(d.height*c.v, d.vmax), f)
		ps = append(ps, plane{w, h, c.stride, c.pix, 1})
		fs = append(fs, f)
	}
	return ps, fs
}

// With SharpChroma every plane is its full-size plane box-filtered by the
// component's own factor (the same bound as the plain scaled decodes), the
// luma is the plain decode's, and subsampled chroma is shrunk by less.
func TestSharpChromaPlanes(t *testing.T) {
	inputs := map[string][]byte{}
	for _, name := range append(append([]string{}, stdFixtures...),
		"s3x1.jpg", "chroma_gt_luma.jpg", "mixed.jpg", "prog3x2.jpg", "cmyk_c22.jpg", "prog422_rst.jpg", "prog_sa_rst.jpg") {
		inputs[name] = readFixture(t, name)
	}
	for _, sz := range [][2]int{{7, 9}, {17, 33}, {203, 117}} {
		inputs["generated"+string(rune('0'+sz[0]%10))] = encodeStd(t, photo(sz[0], sz[1], uint64(sz[0])), 90)
	}
	for name, data := range inputs {
		t.Run(name, func(t *testing.T) {
			full := decodePlanes(t, data, 1)
			for _, s := range scales {
				got, fs := decodePlanesSharp(t, data, s)
				plain := decodePlanes(t, data, s)
				for i := range full {
					if fs[i] > s {
						t.Fatalf("scale %d plane %d: shrunk by %d", s, i, fs[i])
					}
					if fs[i] == s {
						if md, where := maxDiff(got[i], plain[i]); md != 0 {
							t.Fatalf("scale %d plane %d: differs from the plain decode at %s", s, i, where)
						}
						continue
					}
					want := boxDown(full[i], fs[i])
					if got[i].w != want.w || got[i].h != want.h {
						t.Fatalf("scale %d plane %d: %dx%d, want %dx%d", s, i, got[i].w, got[i].h, want.w, want.h)
					}
					fw, fh := full[i].w/fs[i], full[i].h/fs[i]
					if p := psnrRegion(got[i], want, fw, fh); p < minPSNRScaled {
						t.Errorf("scale %d plane %d (1/%d): PSNR %.1f dB < %.1f", s, i, fs[i], p, minPSNRScaled)
					}
				}
			}
		})
	}
}

// Which layouts get sharper chroma, and what Decode returns for them.
func TestSharpChromaLayouts(t *testing.T) {
	for _, tc := range []struct {
		name string
		want map[int]image.YCbCrSubsampleRatio // by scale
	}{
		{"s420_rst.jpg", map[int]image.YCbCrSubsampleRatio{1: image.YCbCrSubsampleRatio420, 2: image.YCbCrSubsampleRatio444, 4: image.YCbCrSubsampleRatio444, 8: image.YCbCrSubsampleRatio444}},
		{"prog420.jpg", map[int]image.YCbCrSubsampleRatio{1: image.YCbCrSubsampleRatio420, 2: image.YCbCrSubsampleRatio444, 8: image.YCbCrSubsampleRatio444}},
		// Only both axes at once: 4:2:2 and 4:4:0 stay, 4:1:0 becomes 4:2:2.
		{"s422.jpg", map[int]image.YCbCrSubsampleRatio{2: image.YCbCrSubsampleRatio422, 8: image.YCbCrSubsampleRatio422}},
		{"s440.jpg", map[int]image.YCbCrSubsampleRatio{4: image.YCbCrSubsampleRatio440}},
		{"s411.jpg", map[int]image.YCbCrSubsampleRatio{4: image.YCbCrSubsampleRatio411}},
		{"s410.jpg", map[int]image.YCbCrSubsampleRatio{1: image.YCbCrSubsampleRatio410, 2: image.YCbCrSubsampleRatio422, 8: image.YCbCrSubsampleRatio422}},
		{"s444.jpg", map[int]image.YCbCrSubsampleRatio{4: image.YCbCrSubsampleRatio444}},
	} {
		data := readFixture(t, tc.name)
		for s, want := range tc.want {
			img, err := decode(bytes.NewReader(data), Options{Scale: s, SharpChroma: true})
			if err != nil {
				t.Fatal(err)
			}
			yc, ok := img.(*image.YCbCr)
			if !ok || yc.SubsampleRatio != want {
				t.Errorf("%s at 1/%d: %T %v, want %v", tc.name, s, img, yc.SubsampleRatio, want)
			}
			if b := img.Bounds(); b.Dx() != (131+s-1)/s || b.Dy() != (97+s-1)/s {
				t.Errorf("%s at 1/%d: bounds %v", tc.name, s, b)
			}
		}
	}
	// Other models keep their types; their subsampled planes are
	// upsampled from the sharper plane.
	for name, want := range map[string]string{"gray_rst.jpg": "Gray", "rgb.jpg": "RGBA", "cmyk.jpg": "CMYK", "cmyk_c22.jpg": "CMYK", "ycck.jpg": "CMYK"} {
		img, err := decode(bytes.NewReader(readFixture(t, name)), Options{Scale: 4, SharpChroma: true})
		if err != nil || typeName(img) != want {
			t.Errorf("%s: %T, %v", name, img, err)
		}
	}
}

// In RGB, a sharp-chroma 4:2:0 decode is closer to the full decode
// box-filtered than the plain one, whose chroma is twice as coarse.
func TestSharpChromaCloserToFull(t *testing.T) {
	data := encodeStd(t, photo(203, 117, 5), 90)
	ref, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	rgbOf := func(m image.Image) []plane {
		b := m.Bounds()
		rgba := image.NewRGBA(b)
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				rgba.Set(x, y, m.At(x, y))
			}
		}
		return planesOf(t, rgba)
	}
	rp := rgbOf(ref)
	for _, s := range scales[1:] {
		var p [2]float64
		for k, sharp := range []bool{false, true} {
			img, err := decode(bytes.NewReader(data), Options{Scale: s, SharpChroma: sharp})
			if err != nil {
				t.Fatal(err)
			}
			gp := rgbOf(img)
			for i := range rp {
				p[k] += psnrRegion(gp[i], boxDown(rp[i], s), 203/s, 117/s) / 3
			}
		}
		t.Logf("scale %d: RGB PSNR against the box-filtered full decode: plain %.1f dB, sharp chroma %.1f dB", s, p[0], p[1])
		if p[1] < p[0]+1 {
			t.Errorf("scale %d: sharp chroma %.1f dB, plain %.1f dB", s, p[1], p[0])
		}
	}
}

func TestSharpChromaProgressiveMatchesSequential(t *testing.T) {
	for _, name := range []string{"prog420", "prog444_rst", "prog422_rst", "proggray", "prog_spectral", "prog_sa_rst", "prog3x2"} {
		prog, seq := readFixture(t, name+".jpg"), readFixture(t, name+".seq.jpg")
		for _, s := range scales {
			a, err := decode(bytes.NewReader(prog), Options{Scale: s, SharpChroma: true})
			if err != nil {
				t.Fatal(err)
			}
			b, err := decode(bytes.NewReader(seq), Options{Scale: s, SharpChroma: true})
			if err != nil {
				t.Fatal(err)
			}
			pa, pb := planesOf(t, a), planesOf(t, b)
			for i := range pa {
				if md, where := maxDiff(pa[i], pb[i]); md != 0 {
					t.Errorf("%s scale %d plane %d: progressive differs from sequential at %s", name, s, i, where)
				}
			}
		}
	}
}

// Sharper chroma costs chroma planes at the luma's size, no more.
func TestSharpChromaMemory(t *testing.T) {
	const w, h = 800, 600
	data := encodeStd(t, photo(w, h, 9), 90)
	for _, s := range []int{2, 4, 8} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		if _, err := decode(bytes.NewReader(data), Options{Scale: s, SharpChroma: true}); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		extra := int(after.TotalAlloc-before.TotalAlloc) - len(data)
		limit := (w/s+16)*(h/s+16)*3 + 64<<10
		if extra > limit {
			t.Errorf("scale %d: allocated %d bytes beyond the input, limit %d", s, extra, limit)
		}
	}
}
