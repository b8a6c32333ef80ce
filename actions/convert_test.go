package actions

import (
	"bytes"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"net/http"
	"slices"
	"testing"
	"time"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	xwebp "golang.org/x/image/webp"

	"github.com/opaprules/opaprules/internal/imageio"
)

func newConvert(format string) *Convert {
	c := newAction("convert").(*Convert)
	c.Format = format
	return c
}

// Every encoder writes its format's magic bytes, a file that an
// independent decoder reads back at the right size, and the Content-Type.
func TestConvertEncoders(t *testing.T) {
	independent := map[string]func(io.Reader) (image.Image, error){
		"jpeg": jpeg.Decode, "png": png.Decode, "gif": gif.Decode, "webp": xwebp.Decode,
		"bmp": bmp.Decode, "tiff": tiff.Decode,
	}
	src := encode(t, "png", photo(120, 90))
	for _, tc := range []struct {
		format string
		magic  func([]byte) bool
	}{
		{"jpeg", prefix("\xff\xd8\xff")},
		{"png", prefix("\x89PNG\r\n\x1a\n")},
		{"gif", prefix("GIF89a")},
		{"webp", func(b []byte) bool { return string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP" }},
		{"bmp", prefix("BM")},
		{"tiff", func(b []byte) bool { return prefix("II*\x00")(b) || prefix("MM\x00*")(b) }},
		{"avif", func(b []byte) bool { return string(b[4:12]) == "ftypavif" }},
	} {
		t.Run(tc.format, func(t *testing.T) {
			if tc.format == "avif" {
				heavy(t)
			}
			obj := object(src, "")
			out, got := run(t, obj, newConvert(tc.format))
			if !tc.magic(out) {
				t.Fatalf("output starts % x", out[:min(16, len(out))])
			}
			if ct := obj.Header.Get("Content-Type"); ct != "image/"+tc.format {
				t.Fatalf("Content-Type %q", ct)
			}
			if got.Format != tc.format || size(got) != image.Pt(120, 90) {
				t.Fatalf("decodes as %s %v", got.Format, size(got))
			}
			if dec := independent[tc.format]; dec != nil {
				m, err := dec(bytes.NewReader(out))
				if err != nil || m.Bounds().Size() != image.Pt(120, 90) {
					t.Fatalf("independent decoder: %v", err)
				}
			}
			if p := psnr(got.Frames[0], photo(120, 90)); p < 25 {
				t.Fatalf("PSNR %.1f dB against the source", p)
			}
		})
	}
}

func prefix(p string) func([]byte) bool {
	return func(b []byte) bool { return bytes.HasPrefix(b, []byte(p)) }
}

func TestConvertQuality(t *testing.T) {
	src := encode(t, "png", photo(200, 150))
	sizes := map[int]int{}
	for _, q := range []int{30, 90} {
		c := newConvert("jpeg")
		c.Quality = q
		out, _ := run(t, object(src, ""), c)
		sizes[q] = len(out)
	}
	if sizes[30] >= sizes[90] {
		t.Fatalf("quality 30 gave %d bytes, quality 90 %d", sizes[30], sizes[90])
	}
}

func TestConvertJPEGFlattensTransparency(t *testing.T) {
	src := encode(t, "png", solid(40, 40, color.NRGBA{0, 0, 0, 0}))
	c := newConvert("jpeg")
	c.Background = Color{NRGBA: color.NRGBA{0, 0, 255, 255}, Set: true}
	_, got := run(t, object(src, ""), c)
	if px := nrgbaAt(got.Frames[0], 20, 20); !near(px, blue, 8) {
		t.Fatalf("transparent pixel became %v, want the background", px)
	}
}

func TestAcceptedFormats(t *testing.T) {
	for _, tc := range []struct {
		accept string
		want   []string
	}{
		{"image/avif,image/webp,image/apng,image/*,*/*;q=0.8", []string{"avif", "webp"}},
		{"image/webp,*/*", []string{"webp"}},
		{"*/*", nil},
		{"image/*", nil},
		{"image/avif;q=0, image/webp;q=0.5", []string{"webp"}},
		{"text/html, image/jpeg", []string{"jpeg"}},
		{"", nil},
		{"image/webp;q=bogus", nil},
	} {
		h := http.Header{}
		if tc.accept != "" {
			h.Set("Accept", tc.accept)
		}
		if got := acceptedFormats(h); !slices.Equal(got, tc.want) {
			t.Errorf("%q: %v, want %v", tc.accept, got, tc.want)
		}
	}
}

func TestConvertAuto(t *testing.T) {
	opaque := encode(t, "jpeg", photo(60, 40))
	alpha := encode(t, "png", solid(60, 40, color.NRGBA{10, 20, 30, 100}))
	opaquePNG := encode(t, "png", photo(60, 40))
	for _, tc := range []struct {
		name   string
		src    []byte
		accept string
		prefer []string
		want   string
		vary   string
	}{
		{"chrome", opaque, "image/avif,image/webp,image/apng,image/*,*/*;q=0.8", nil, "avif", "avif,webp"},
		{"webp only", opaque, "image/webp,*/*", nil, "webp", "webp"},
		{"prefer webp first", opaque, "image/avif,image/webp", []string{"webp", "avif"}, "webp", "webp,avif"},
		{"prefer only webp", opaque, "image/avif", []string{"webp"}, "jpeg", ""},
		{"wildcards only", opaque, "*/*", nil, "jpeg", ""},
		{"alpha and no modern format", alpha, "image/*", nil, "png", ""},
		{"opaque png stays png", opaquePNG, "", nil, "png", ""},
		{"alpha with webp", alpha, "image/webp", nil, "webp", "webp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newConvert("auto")
			if tc.prefer != nil {
				c.Prefer = tc.prefer
			}
			obj := object(tc.src, tc.accept)
			defer obj.Close()
			img, err := obj.Image(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if got := c.choose(acceptedFormats(obj.Request.Header), img); got != tc.want {
				t.Fatalf("auto chose %s, want %s", got, tc.want)
			}
			header, key := c.Vary(obj.Request)
			if header != "Accept" || key != tc.vary {
				t.Fatalf("Vary = %q %q, want Accept %q", header, key, tc.vary)
			}
			if tc.want == "avif" {
				return // encoding AVIF is the heavy test's job
			}
			if err := c.Apply(t.Context(), obj); err != nil {
				t.Fatal(err)
			}
			if ct := obj.Header.Get("Content-Type"); ct != "image/"+tc.want {
				t.Fatalf("Content-Type %q", ct)
			}
		})
	}
}

func TestConvertPredict(t *testing.T) {
	for _, tc := range []struct {
		format, accept, want string
	}{
		{"webp", "", "image/webp"},
		{"auto", "image/webp", "image/webp"},
		{"auto", "image/avif,image/webp", "image/avif"},
		{"auto", "*/*", ""}, // png or jpeg: depends on the pixels
	} {
		obj := object(nil, tc.accept)
		newConvert(tc.format).Predict(obj)
		if got := obj.Header.Get("Content-Type"); got != tc.want {
			t.Errorf("%s with Accept %q: predicted %q, want %q", tc.format, tc.accept, got, tc.want)
		}
	}
	if h, k := newConvert("png").Vary(&Request{Header: http.Header{"Accept": {"image/webp"}}}); h != "" || k != "" {
		t.Fatalf("a fixed format varies on %q %q", h, k)
	}
}

func TestConvertValidate(t *testing.T) {
	c := newConvert("jpeg")
	c.KeepMetadata = []string{"gps"}
	if c.Validate() == nil {
		t.Error("gps without exif validated")
	}
	c = newConvert("png")
	c.Lossless = true
	if c.Validate() == nil {
		t.Error("lossless png validated")
	}
}

func TestConvertAnimatedAutoKeepsFrames(t *testing.T) {
	src := animatedGIF(t, 3, 30, 20)
	c := newConvert("auto")
	_, got := run(t, object(src, "image/avif,image/webp"), c)
	if got.Format != "webp" || len(got.Frames) != 3 {
		t.Fatalf("animated GIF with Accept avif,webp became %s with %d frames, want an animated webp", got.Format, len(got.Frames))
	}
	_, got = run(t, object(src, "*/*"), newConvert("auto"))
	if got.Format != "gif" || len(got.Frames) != 3 {
		t.Fatalf("animated GIF without modern formats became %s with %d frames", got.Format, len(got.Frames))
	}
}

// Skip-if-larger serves the original when a plan only re-encodes to the
// same format and that comes out larger, and never when the original
// carries metadata the output would have dropped.
func TestSkipIfLarger(t *testing.T) {
	plain := encodeWith(t, &Image{Frames: []Frame{{Image: photo(160, 120)}}, Format: "jpeg"}, imageio.EncodeOptions{Format: "jpeg", Quality: 40})
	withGPS := encodeWith(t, &Image{Frames: []Frame{{Image: photo(160, 120)}}, Format: "jpeg"},
		imageio.EncodeOptions{Format: "jpeg", Quality: 40, Metadata: imageio.Metadata{EXIF: exifWithGPS()}})
	q95 := func(skip bool) *Convert {
		c := newConvert("jpeg")
		c.Quality, c.SkipIfLarger = 95, skip
		return c
	}
	for _, tc := range []struct {
		name     string
		src      []byte
		acts     []Action
		original bool
	}{
		{"larger re-encode", plain, []Action{q95(true)}, true},
		{"turned off", plain, []Action{q95(false)}, false},
		{"pixels changed", plain, []Action{&Flip{Direction: "horizontal"}, q95(true)}, false},
		{"other format", plain, []Action{newConvert("png")}, false},
		{"original has GPS", withGPS, []Action{q95(true)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _ := run(t, object(tc.src, ""), tc.acts...)
			if got := bytes.Equal(out, tc.src); got != tc.original {
				t.Fatalf("served the original: %v, want %v (%d bytes from %d)", got, tc.original, len(out), len(tc.src))
			}
		})
	}
}

// Warm compiles the AVIF codec only for a convert that can produce AVIF;
// anything else must not pay seconds of start-up for it. (Every convert
// compiles the HEIC decoder, a source format: that is paid first here.)
func TestConvertWarm(t *testing.T) {
	heavy(t)
	if _, err := imageio.WarmHEIC(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*Convert{newConvert("jpeg"), newConvert("webp"), {Format: "auto", Prefer: []string{"webp"}}} {
		start := time.Now()
		if err := c.Warm(); err != nil || time.Since(start) > 100*time.Millisecond {
			t.Fatalf("%s prefer %v: warm took %v (%v)", c.Format, c.Prefer, time.Since(start), err)
		}
	}
	if err := newConvert("auto").Warm(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	out, _ := run(t, object(encode(t, "jpeg", photo(64, 48)), "image/avif"), newConvert("auto"))
	if imageio.Sniff(out) != "avif" {
		t.Fatal("auto with Accept image/avif did not produce AVIF")
	}
	t.Logf("first AVIF request after Warm: %v", time.Since(start))
}

// OSS IMG's quality: q_ is relative to the source JPEG's own quality, read
// back from its quantisation tables; Q_ never goes above it.
func TestConvertRelativeQuality(t *testing.T) {
	src90 := encodeWith(t, &Image{Frames: []Frame{{Image: photo(64, 48)}}, Format: "jpeg"}, imageio.EncodeOptions{Format: "jpeg", Quality: 90})
	src70 := encodeWith(t, &Image{Frames: []Frame{{Image: photo(64, 48)}}, Format: "jpeg"}, imageio.EncodeOptions{Format: "jpeg", Quality: 70})
	png := encode(t, "png", photo(64, 48))
	for _, tc := range []struct {
		name     string
		src      []byte
		quality  int
		relative int
		capped   bool
		want     int
	}{
		{"q_50 of 90", src90, 0, 50, false, 45},
		{"q_80 of 70", src70, 0, 80, false, 56},
		{"Q_95 of 70", src70, 95, 0, true, 70},
		{"Q_60 of 90", src90, 60, 0, true, 60},
		{"q_80 of a PNG", png, 0, 80, false, 80},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newConvert("jpeg")
			c.Quality, c.RelativeQuality, c.NotAboveSource = tc.quality, tc.relative, tc.capped
			c.SkipIfLarger = false
			out, _ := run(t, object(tc.src, ""), &Flip{Direction: "horizontal"}, c)
			if q, ok := imageio.JPEGQuality(out); !ok || q != tc.want {
				t.Fatalf("output quality %d (ok %v), want %d", q, ok, tc.want)
			}
		})
	}
}

// format: keep changes the quality and nothing else.
func TestConvertKeepFormat(t *testing.T) {
	c := newConvert("keep")
	c.Quality = 40
	out, got := run(t, object(encode(t, "webp", photo(64, 48)), ""), &Flip{Direction: "vertical"}, c)
	if got.Format != "webp" {
		t.Fatalf("format %s", got.Format)
	}
	c2 := newConvert("keep")
	c2.Quality = 95
	out2, _ := run(t, object(encode(t, "webp", photo(64, 48)), ""), &Flip{Direction: "vertical"}, c2)
	if len(out) >= len(out2) {
		t.Fatalf("quality 40 gave %d bytes, 95 gave %d", len(out), len(out2))
	}
	// After an earlier convert, keep keeps that format.
	_, got = run(t, object(encode(t, "png", photo(64, 48)), ""), newConvert("webp"), newConvert("keep"))
	if got.Format != "webp" {
		t.Fatalf("format %s, want webp", got.Format)
	}
}

// convert offers exactly the formats imageio writes, plus auto and keep.
func TestConvertFormatsAreImageioFormats(t *testing.T) {
	f, _ := ParamsOf(&Convert{}).Field("format")
	if want := append(slices.Clone(imageio.Encodable), "auto", "keep"); !slices.Equal(f.Enum, want) {
		t.Errorf("convert's format enum %v, imageio writes %v", f.Enum, want)
	}
}

// progressive writes a progressive JPEG with the baseline file's pixels,
// even where skip-if-larger would otherwise serve the baseline original.
func TestConvertProgressive(t *testing.T) {
	src := encode(t, "jpeg", photo(96, 64))
	c := newConvert("jpeg")
	c.Progressive = true
	out, prog := run(t, object(src, ""), c)
	cfg, err := imageio.DecodeConfig(out)
	if err != nil || !cfg.Progressive {
		t.Fatalf("progressive %v, err %v", cfg.Progressive, err)
	}
	base := newConvert("jpeg")
	base.SkipIfLarger = false
	_, baseline := run(t, object(src, ""), base)
	if p := psnr(prog.Frames[0], baseline.Frames[0]); !math.IsInf(p, 1) {
		t.Fatalf("progressive and baseline pixels differ: %.1f dB", p)
	}
}
