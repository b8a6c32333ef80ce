package jpegdec

import (
	"bytes"
	"errors"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Accuracy bounds, stated once.
//
// Scale 1 is compared sample by sample with image/jpeg. Both decoders use
// integer IDCTs that are within ±1 of the exact transform, so they may
// differ by up to 2 in principle; in practice we see at most 1.
const maxDiffScale1 = 2

// For YCCK the planes are colour-converted after decoding, which scales a
// ±1 chroma difference by up to 1.77 on top of the luma difference.
const maxDiffScale1Converted = 4

// Scales 2, 4 and 8 are compared with image/jpeg's full decode box-filtered
// by the same factor. Our reduced IDCTs compute that box filter exactly
// before rounding and clamping, so only clamping of out-of-range samples
// near hard edges and rounding differ. Photos measure 50+ dB; the bound
// leaves room for synthetic edges.
const minPSNRScaled = 40.0

// YCCK images are converted after decoding, and the colour
// conversion clamps; box-filtering before or after that non-linear step
// differs visibly on saturated colours, so the YCCK bound is looser.
const minPSNRScaledYCCK = 25.0

var scales = []int{1, 2, 4, 8}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func decodeT(t testing.TB, data []byte, scale int) image.Image {
	t.Helper()
	img, err := decode(bytes.NewReader(data), Options{Scale: scale})
	if err != nil {
		t.Fatalf("scale %d: %v", scale, err)
	}
	return img
}

// checkAgainst compares a decode at every scale with ref (a full-size
// decode) box-filtered by the scale.
func checkAgainst(t *testing.T, data []byte, ref image.Image, minPSNR float64) {
	t.Helper()
	maxDiff1 := maxDiffScale1
	if minPSNR == minPSNRScaledYCCK {
		maxDiff1 = maxDiffScale1Converted
	}
	rp := planesOf(t, ref)
	for _, s := range scales {
		img := decodeT(t, data, s)
		if got, want := typeName(img), typeName(ref); got != want {
			t.Fatalf("scale %d: got %s, want %s", s, got, want)
		}
		if yc, ok := img.(*image.YCbCr); ok && yc.SubsampleRatio != ref.(*image.YCbCr).SubsampleRatio {
			t.Fatalf("scale %d: ratio %v, want %v", s, yc.SubsampleRatio, ref.(*image.YCbCr).SubsampleRatio)
		}
		gp := planesOf(t, img)
		for i := range rp {
			want := boxDown(rp[i], s)
			if s == 1 {
				if md, where := maxDiff(gp[i], want); md > maxDiff1 {
					t.Errorf("scale 1 plane %d: max diff %d at %s", i, md, where)
				}
				continue
			}
			if gp[i].w != want.w || gp[i].h != want.h {
				t.Fatalf("scale %d plane %d: %dx%d, want %dx%d", s, i, gp[i].w, gp[i].h, want.w, want.h)
			}
			// Outputs whose s×s group crosses the image edge also average
			// the encoder's padding, which the reference cannot see: compare
			// only whole groups.
			fw, fh := rp[i].w/s, rp[i].h/s
			if fw == 0 || fh == 0 {
				continue
			}
			if p := psnrRegion(gp[i], want, fw, fh); p < minPSNR {
				t.Errorf("scale %d plane %d: PSNR %.1f dB < %.1f", s, i, p, minPSNR)
			}
		}
	}
}

func typeName(img image.Image) string {
	switch img.(type) {
	case *image.Gray:
		return "Gray"
	case *image.YCbCr:
		return "YCbCr"
	case *image.RGBA:
		return "RGBA"
	case *image.CMYK:
		return "CMYK"
	}
	return "other"
}

// Fixtures image/jpeg decodes itself, so it is the reference.
var stdFixtures = []string{
	"s444.jpg", "s422.jpg", "s440.jpg", "s411.jpg", "s410.jpg", "s420_rst.jpg",
	"gray_rst.jpg", "noninterleaved.jpg", "rgb.jpg", "cmyk.jpg", "ycck.jpg", "q2_16bitdqt.jpg",
	"prog420.jpg", "prog444_rst.jpg", "proggray.jpg", "prog_spectral.jpg",
}

func TestAgainstImageJPEG(t *testing.T) {
	for _, name := range stdFixtures {
		t.Run(name, func(t *testing.T) {
			data := readFixture(t, name)
			ref, err := jpeg.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			min := minPSNRScaled
			if name == "ycck.jpg" {
				min = minPSNRScaledYCCK
			}
			checkAgainst(t, data, ref, min)
		})
	}
}

// Every progressive fixture has a sequential twin made by jpegtran, which
// transcodes losslessly: same coefficients, so our two decodes must agree
// exactly at every scale. This covers progressive files image/jpeg cannot
// decode (it rejects some restart-interval + EOB-run combinations).
func TestProgressiveMatchesSequential(t *testing.T) {
	for _, name := range []string{"prog420", "prog444_rst", "prog422_rst", "proggray", "prog_spectral", "prog_sa_rst", "prog3x2"} {
		t.Run(name, func(t *testing.T) {
			prog := readFixture(t, name+".jpg")
			seq := readFixture(t, name+".seq.jpg")
			cfg, err := DecodeConfig(bytes.NewReader(prog))
			if err != nil || !cfg.Progressive {
				t.Fatalf("DecodeConfig: %+v %v", cfg, err)
			}
			if ref, err := jpeg.Decode(bytes.NewReader(seq)); err == nil {
				checkAgainst(t, seq, ref, minPSNRScaled)
			}
			for _, s := range scales {
				a, b := decodeT(t, prog, s), decodeT(t, seq, s)
				pa, pb := planesOf(t, a), planesOf(t, b)
				for i := range pa {
					if md, where := maxDiff(pa[i], pb[i]); md != 0 {
						t.Errorf("scale %d plane %d: progressive differs from sequential at %s", s, i, where)
					}
				}
			}
		})
	}
}

// Sampling layouts image/jpeg refuses: check them against our own full
// decode (box-filtered) and against the 4:4:4 encoding of the same source.
func TestUnusualSampling(t *testing.T) {
	ref444, err := jpeg.Decode(bytes.NewReader(readFixture(t, "s444.jpg")))
	if err != nil {
		t.Fatal(err)
	}
	refCMYK := decodeT(t, readFixture(t, "cmyk.jpg"), 1)
	for _, name := range []string{"s3x1.jpg", "chroma_gt_luma.jpg", "mixed.jpg", "prog3x2.jpg", "cmyk_c22.jpg"} {
		t.Run(name, func(t *testing.T) {
			data := readFixture(t, name)
			full := decodeT(t, data, 1)
			checkNativePlanes(t, data)
			ref := ref444
			if name == "cmyk_c22.jpg" {
				ref = refCMYK
			}
			// Upsampled to 4:4:4, so directly comparable with the 4:4:4 file;
			// the bound only has to absorb chroma subsampling loss.
			gp, rp := planesOf(t, full), planesOf(t, ref)
			if len(gp) != len(rp) {
				t.Fatalf("got %T, want %T", full, ref)
			}
			for i := range gp {
				if p := psnr(gp[i], rp[i]); p < 25 {
					t.Errorf("plane %d: PSNR %.1f dB vs the 4:4:4 encoding", i, p)
				}
			}
		})
	}
}

// Generated images cover sizes around block and MCU boundaries and quality
// extremes.
func TestGenerated(t *testing.T) {
	sizes := [][2]int{{1, 1}, {7, 9}, {8, 8}, {16, 16}, {17, 33}, {64, 1}, {203, 117}}
	for _, sz := range sizes {
		src := photo(sz[0], sz[1], uint64(sz[0]*1000+sz[1]))
		for _, q := range []int{30, 90, 100} {
			for _, gray := range []bool{false, true} {
				var img image.Image = src
				if gray {
					img = grayOf(src)
				}
				data := encodeStd(t, img, q)
				ref, err := jpeg.Decode(bytes.NewReader(data))
				if err != nil {
					t.Fatal(err)
				}
				checkAgainst(t, data, ref, minPSNRScaled)
			}
		}
	}
}

func TestOutputSize(t *testing.T) {
	data := encodeStd(t, photo(203, 117, 3), 75)
	for _, s := range scales {
		b := decodeT(t, data, s).Bounds()
		if b.Dx() != (203+s-1)/s || b.Dy() != (117+s-1)/s {
			t.Errorf("scale %d: %v", s, b)
		}
	}
}

func TestArithmeticRefused(t *testing.T) {
	_, err := decode(bytes.NewReader(readFixture(t, "arith.jpg")), Options{})
	var ue UnsupportedError
	if !errors.As(err, &ue) {
		t.Fatalf("got %v, want UnsupportedError", err)
	}
}

func TestBadScale(t *testing.T) {
	data := encodeStd(t, photo(8, 8, 1), 75)
	for _, s := range []int{-1, 3, 16} {
		if _, err := decode(bytes.NewReader(data), Options{Scale: s}); err == nil {
			t.Errorf("scale %d accepted", s)
		}
	}
}

func TestMaxPixels(t *testing.T) {
	data := encodeStd(t, photo(100, 50, 1), 75)
	_, err := decode(bytes.NewReader(data), Options{Scale: 8, MaxPixels: 4999})
	var le *LimitError
	if !errors.As(err, &le) || le.Width != 100 || le.Height != 50 {
		t.Fatalf("got %v, want LimitError", err)
	}
	if _, err := decode(bytes.NewReader(data), Options{MaxPixels: 5000}); err != nil {
		t.Fatal(err)
	}
}

// withAPP1 inserts an APP1 segment right after SOI.
func withAPP1(data, payload []byte) []byte {
	n := len(payload) + 2
	out := append([]byte{}, data[:2]...)
	out = append(out, 0xff, 0xe1, byte(n>>8), byte(n))
	out = append(out, payload...)
	return append(out, data[2:]...)
}

// exifWithOrientation builds a minimal Exif payload in either byte order.
func exifWithOrientation(bigEndian bool, o uint16, typ uint16) []byte {
	p := []byte("Exif\x00\x00")
	put16 := func(v uint16) {
		if bigEndian {
			p = append(p, byte(v>>8), byte(v))
		} else {
			p = append(p, byte(v), byte(v>>8))
		}
	}
	put32 := func(v uint32) {
		if bigEndian {
			put16(uint16(v >> 16))
			put16(uint16(v))
		} else {
			put16(uint16(v))
			put16(uint16(v >> 16))
		}
	}
	if bigEndian {
		p = append(p, "MM\x00*"...)
	} else {
		p = append(p, "II*\x00"...)
	}
	put32(8)
	put16(2)                        // entries
	put16(0x010f)                   // Make
	put16(2)                        // ASCII
	put32(4)                        // count
	p = append(p, 'A', 'B', 'C', 0) // inline value
	put16(0x0112)                   // Orientation
	put16(typ)                      // SHORT
	put32(1)                        // count
	if typ == 4 {
		put32(uint32(o))
	} else {
		put16(o) // value, left-aligned
		put16(0)
	}
	put32(0) // next IFD
	return p
}

func TestDecodeConfig(t *testing.T) {
	base := encodeStd(t, photo(40, 30, 1), 75)
	for _, tc := range []struct {
		name string
		data []byte
		o    int
		exif bool
	}{
		{"none", base, 1, false},
		{"le6", withAPP1(base, exifWithOrientation(false, 6, 3)), 6, true},
		{"be8", withAPP1(base, exifWithOrientation(true, 8, 3)), 8, true},
		{"be3long", withAPP1(base, exifWithOrientation(true, 3, 4)), 3, true},
		{"bad9", withAPP1(base, exifWithOrientation(false, 9, 3)), 1, true},
		{"truncatedExif", withAPP1(base, exifWithOrientation(true, 6, 3)[:20]), 1, true},
		{"xmp", withAPP1(base, []byte("http://ns.adobe.com/xap/1.0/\x00<x/>")), 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := DecodeConfig(bytes.NewReader(tc.data))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Width != 40 || cfg.Height != 30 || cfg.Components != 3 || cfg.Progressive {
				t.Errorf("cfg %+v", cfg)
			}
			if cfg.Orientation != tc.o {
				t.Errorf("orientation %d, want %d", cfg.Orientation, tc.o)
			}
			if (cfg.EXIF != nil) != tc.exif {
				t.Errorf("EXIF %q", cfg.EXIF)
			}
			if tc.exif && !bytes.HasPrefix(cfg.EXIF, []byte("II")) && !bytes.HasPrefix(cfg.EXIF, []byte("MM")) {
				t.Errorf("EXIF should start at the TIFF header: %q", cfg.EXIF[:4])
			}
			// Decode must skip the segment too.
			if _, err := decode(bytes.NewReader(tc.data), Options{Scale: 2}); err != nil {
				t.Fatal(err)
			}
		})
	}
	for name, want := range map[string]string{
		"proggray.jpg": "Gray", "cmyk.jpg": "CMYK", "rgb.jpg": "RGBA", "s422.jpg": "YCbCr",
	} {
		data := readFixture(t, name)
		cfg, err := DecodeConfig(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		ref, _ := jpeg.DecodeConfig(bytes.NewReader(data))
		if cfg.ColorModel != ref.ColorModel && name != "cmyk.jpg" {
			t.Errorf("%s: colour model differs from image/jpeg", name)
		}
		if got := typeName(decodeT(t, data, 4)); got != want {
			t.Errorf("%s: decoded %s, want %s", name, got, want)
		}
		if cfg.Width != 131 || cfg.Height != 97 {
			t.Errorf("%s: %dx%d", name, cfg.Width, cfg.Height)
		}
	}
}

// DecodeConfig must not read the scan data.
func TestDecodeConfigReadsOnlyHeaders(t *testing.T) {
	data := readFixture(t, "s444.jpg")
	sos := bytes.Index(data, []byte{0xff, 0xda})
	cfg, err := DecodeConfig(bytes.NewReader(data[:sos+2]))
	if err != nil || cfg.Width != 131 {
		t.Fatalf("%+v %v", cfg, err)
	}
}

func TestScaleFor(t *testing.T) {
	for _, tc := range []struct{ sw, sh, dw, dh, want int }{
		{4000, 3000, 256, 256, 4}, // 1000×750 ≥ 512×512; 500×375 is not
		{4000, 3000, 200, 150, 8}, // 500×375 ≥ 400×300
		{4000, 3000, 2000, 1500, 1},
		{4000, 3000, 1000, 0, 2},
		{4000, 3000, 0, 0, 1},
		{100, 100, 1, 1, 8},
		{0, 0, 10, 10, 1},
		{4001, 3001, 250, 187, 8},
	} {
		if got := ScaleFor(tc.sw, tc.sh, tc.dw, tc.dh); got != tc.want {
			t.Errorf("ScaleFor(%d,%d,%d,%d) = %d, want %d", tc.sw, tc.sh, tc.dw, tc.dh, got, tc.want)
		}
	}
}

// malformedInputs derives broken files from a valid one.
func malformedInputs(t testing.TB) map[string][]byte {
	good := encodeStd(t, photo(48, 40, 5), 80)
	prog := readFixture(t, "prog_sa_rst.jpg")
	sos := bytes.Index(good, []byte{0xff, 0xda})
	sof := bytes.Index(good, []byte{0xff, 0xc0})
	dht := bytes.Index(good, []byte{0xff, 0xc4})
	mod := func(src []byte, f func(b []byte)) []byte {
		b := append([]byte(nil), src...)
		f(b)
		return b
	}
	cases := map[string][]byte{
		"empty":         {},
		"soiOnly":       {0xff, 0xd8},
		"notJPEG":       []byte("GIF89a...."),
		"eoiOnly":       {0xff, 0xd8, 0xff, 0xd9},
		"headersOnly":   good[:sos],
		"sosNoData":     good[:sos+14],
		"halfData":      good[:sos+(len(good)-sos)/2],
		"noEOI":         good[:len(good)-2],
		"progHalf":      prog[:len(prog)/2],
		"progNoEOI":     prog[:len(prog)-2],
		"zeroWidth":     mod(good, func(b []byte) { b[sof+7], b[sof+8] = 0, 0 }),
		"zeroHeight":    mod(good, func(b []byte) { b[sof+5], b[sof+6] = 0, 0 }),
		"hugeDims":      mod(good, func(b []byte) { b[sof+5], b[sof+6], b[sof+7], b[sof+8] = 0xff, 0xff, 0xff, 0xff }),
		"12bit":         mod(good, func(b []byte) { b[sof+4] = 12 }),
		"badSampling":   mod(good, func(b []byte) { b[sof+11] = 0x50 }),
		"twoComponents": mod(good, func(b []byte) { b[sof+9] = 2 }),
		"badQuantID":    mod(good, func(b []byte) { b[sof+12] = 7 }),
		"badHuffCounts": mod(good, func(b []byte) { b[dht+5] = 0xff }),
		"badSegLen":     mod(good, func(b []byte) { b[sof+2], b[sof+3] = 0, 1 }),
		"garbledData":   mod(good, func(b []byte) { copy(b[sos+20:], bytes.Repeat([]byte{0xff, 0x12}, 20)) }),
		"allOnesData":   mod(good, func(b []byte) { copy(b[sos+14:len(b)-2], bytes.Repeat([]byte{0xfe}, len(b))) }),
		"badSOSComp":    mod(good, func(b []byte) { b[sos+5] = 9 }),
		"sosBeforeSOF":  append([]byte{0xff, 0xd8}, good[sos:]...),
		"arithSOF":      mod(good, func(b []byte) { b[sof+1] = 0xc9 }),
		"losslessSOF":   mod(good, func(b []byte) { b[sof+1] = 0xc3 }),
		"progBadScan":   mod(prog, func(b []byte) { i := bytes.Index(b, []byte{0xff, 0xda}); b[i+len(b[i:])/64] ^= 0x5a }),
		"progGarbled": mod(prog, func(b []byte) {
			i := bytes.LastIndex(b, []byte{0xff, 0xda})
			copy(b[i+12:len(b)-2], bytes.Repeat([]byte{0x55, 0xaa}, len(b)))
		}),
		"progACBeforeDC": mod(prog, func(b []byte) { i := bytes.Index(b, []byte{0xff, 0xda}); b[i+11] = 1 }),
	}
	return cases
}

func TestMalformed(t *testing.T) {
	for name, data := range malformedInputs(t) {
		t.Run(name, func(t *testing.T) {
			for _, s := range scales {
				img, err := decode(bytes.NewReader(data), Options{Scale: s})
				if err == nil {
					// A few corruptions still decode (e.g. flipped bits
					// that happen to form valid codes); that is fine as long
					// as the image is sane.
					if img == nil || img.Bounds().Empty() {
						t.Fatalf("scale %d: nil error and empty image", s)
					}
					continue
				}
				var fe FormatError
				var ue UnsupportedError
				if !errors.As(err, &fe) && !errors.As(err, &ue) {
					t.Errorf("scale %d: error %v (%T) is neither FormatError nor UnsupportedError", s, err, err)
				}
			}
			DecodeConfig(bytes.NewReader(data))
		})
	}
}

// The clearly broken cases must fail, not quietly produce an image.
func TestMalformedMustFail(t *testing.T) {
	cases := malformedInputs(t)
	for _, name := range []string{"empty", "soiOnly", "notJPEG", "eoiOnly", "headersOnly",
		"sosNoData", "halfData", "progHalf", "zeroWidth", "hugeDims", "12bit", "twoComponents",
		"arithSOF", "losslessSOF", "sosBeforeSOF", "progACBeforeDC"} {
		if _, err := decode(bytes.NewReader(cases[name]), Options{}); err == nil {
			t.Errorf("%s: decoded without error", name)
		} else if strings.Contains(name, "SOF") && name != "sosBeforeSOF" {
			var ue UnsupportedError
			if !errors.As(err, &ue) {
				t.Errorf("%s: %v, want UnsupportedError", name, err)
			}
		}
	}
}

// decodePlanes returns the component planes before any upsampling or colour
// conversion, trimmed to their real size at the scale.
func decodePlanes(t testing.TB, data []byte, scale int) []plane {
	t.Helper()
	d := decoder{src: source{buf: data}}
	for 1<<d.shift < scale {
		d.shift++
	}
	if _, err := d.decode(); err != nil {
		t.Fatal(err)
	}
	var ps []plane
	for i := 0; i < d.ncomp; i++ {
		c := &d.comp[i]
		w := ceilDiv(ceilDiv(d.width*c.h, d.hmax), scale)
		h := ceilDiv(ceilDiv(d.height*c.v, d.vmax), scale)
		ps = append(ps, plane{w, h, c.stride, c.pix, 1})
	}
	return ps
}

// checkNativePlanes compares every scaled decode with the box-filtered
// full decode plane by plane, for layouts that get upsampled on output.
func checkNativePlanes(t *testing.T, data []byte) {
	t.Helper()
	full := decodePlanes(t, data, 1)
	for _, s := range scales[1:] {
		got := decodePlanes(t, data, s)
		for i := range full {
			want := boxDown(full[i], s)
			if got[i].w != want.w || got[i].h != want.h {
				t.Fatalf("scale %d plane %d: %dx%d, want %dx%d", s, i, got[i].w, got[i].h, want.w, want.h)
			}
			fw, fh := full[i].w/s, full[i].h/s
			if p := psnrRegion(got[i], want, fw, fh); p < minPSNRScaled {
				t.Errorf("scale %d plane %d: PSNR %.1f dB < %.1f", s, i, p, minPSNRScaled)
			}
		}
	}
}

// A reduced decode must never allocate full-size planes: everything it
// allocates beyond the input copy is bounded by the reduced size.
func TestScaledDecodeMemory(t *testing.T) {
	const w, h = 800, 600
	data := encodeStd(t, photo(w, h, 9), 90)
	for _, s := range []int{2, 4, 8} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		if _, err := decode(bytes.NewReader(data), Options{Scale: s}); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		extra := int(after.TotalAlloc-before.TotalAlloc) - len(data)
		// Y plus two quarter-size chroma planes at the reduced size, MCU
		// padding, and 64 KiB for the decoder's tables.
		limit := (w/s+16)*(h/s+16)*3/2 + 64<<10
		if extra > limit {
			t.Errorf("scale %d: allocated %d bytes beyond the input, limit %d", s, extra, limit)
		}
	}
}

// Progressive decodes keep only the coefficients the reduced IDCT reads.
func TestProgressiveKeepsFewCoefficients(t *testing.T) {
	data := readFixture(t, "prog420.jpg")
	for shift, perBlock := range []int{64, 49, 25, 1} {
		d := decoder{src: source{buf: data}, shift: uint(shift)}
		if _, err := d.decode(); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < d.ncomp; i++ {
			c := &d.comp[i]
			if len(c.coefs) != c.bw*c.bh*perBlock {
				t.Errorf("scale 1/%d comp %d: %d coefficients for %d blocks", 1<<shift, i, len(c.coefs), c.bw*c.bh)
			}
		}
	}
}
