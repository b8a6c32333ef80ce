package imageio

import (
	"bytes"
	"image"
	"image/color"
	"image/gif"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
)

// heavy skips the AVIF (WebAssembly) tests unless OPAPRULES_HEAVY is set:
// compiling the codec takes seconds, far longer under -race. CI runs them
// in a separate step without -race.
func heavy(t testing.TB) {
	t.Helper()
	if os.Getenv("OPAPRULES_HEAVY") == "" {
		t.Skip("WebAssembly codec test (AVIF, HEIC): set OPAPRULES_HEAVY=1 (CI runs these without -race)")
	}
}

func testPicture(w, h int, alpha uint8) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.SetNRGBA(x, y, color.NRGBA{uint8(x * 255 / w), uint8(y * 255 / h), uint8((x + y) % 256), alpha})
		}
	}
	return m
}

func still(m image.Image, format string) *Image {
	return &Image{Frames: []Frame{{Image: m}}, Format: format, Orientation: 1}
}

func mustEncode(t testing.TB, img *Image, o EncodeOptions) []byte {
	t.Helper()
	b, err := Encode(img, o)
	if err != nil {
		t.Fatalf("encode %s: %v", o.Format, err)
	}
	return b
}

func TestSniffAndRoundTrip(t *testing.T) {
	for _, format := range Encodable {
		t.Run(format, func(t *testing.T) {
			if format == AVIF {
				heavy(t)
			}
			data := mustEncode(t, still(testPicture(48, 32, 255), format), EncodeOptions{Format: format, Speed: -1})
			if got := Sniff(data); got != format {
				t.Fatalf("sniffed %q", got)
			}
			cfg, err := DecodeConfig(data)
			if err != nil || cfg.Width != 48 || cfg.Height != 32 || cfg.Frames != 1 {
				t.Fatalf("config %+v, %v", cfg, err)
			}
			img, err := Decode(data, cfg, DecodeOptions{AutoOrient: true})
			if err != nil || img.Bounds().Size() != image.Pt(48, 32) {
				t.Fatalf("decode: %v", err)
			}
		})
	}
	if Sniff([]byte("plain text, long enough")) != "" {
		t.Fatal("text sniffed as an image")
	}
	heic := append([]byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"), make([]byte, 8)...)
	if Sniff(heic) != HEIC {
		t.Fatal("HEIC not recognised")
	}
	if _, err := DecodeConfig(heic); err == nil {
		t.Fatal("HEIC decoded")
	}
}

func gifOf(frames int) []byte {
	pal := color.Palette{color.Black, color.White}
	g := &gif.GIF{}
	for i := range frames {
		pm := image.NewPaletted(image.Rect(0, 0, 8, 8), pal)
		pm.Pix[i%64] = 1
		g.Image = append(g.Image, pm)
		g.Delay = append(g.Delay, 5)
	}
	var b bytes.Buffer
	gif.EncodeAll(&b, g)
	return b.Bytes()
}

func TestGIFFramesCountedWithoutDecoding(t *testing.T) {
	for _, n := range []int{1, 2, 17} {
		data := gifOf(n)
		cfg, err := DecodeConfig(data)
		if err != nil || cfg.Frames != n {
			t.Fatalf("%d frames: counted %d (%v)", n, cfg.Frames, err)
		}
		img, err := Decode(data, cfg, DecodeOptions{})
		if err != nil || len(img.Frames) != n {
			t.Fatalf("%d frames: decoded %d (%v)", n, len(img.Frames), err)
		}
	}
}

func TestAnimatedRoundTrip(t *testing.T) {
	frames := []Frame{
		{Image: testPicture(40, 30, 255), Delay: 10},
		{Image: testPicture(40, 30, 128), Delay: 20},
		{Image: testPicture(40, 30, 0), Delay: 30},
	}
	for _, format := range []string{GIF, WebP} {
		img := &Image{Frames: frames, Format: format, LoopCount: 2}
		data := mustEncode(t, img, EncodeOptions{Format: format})
		cfg, err := DecodeConfig(data)
		if err != nil || cfg.Frames != 3 {
			t.Fatalf("%s: %+v %v", format, cfg, err)
		}
		got, err := Decode(data, cfg, DecodeOptions{})
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		var delays []int
		for _, f := range got.Frames {
			delays = append(delays, f.Delay)
		}
		if !slices.Equal(delays, []int{10, 20, 30}) || got.LoopCount != 2 {
			t.Fatalf("%s: delays %v loops %d", format, delays, got.LoopCount)
		}
		first, err := Decode(data, cfg, DecodeOptions{FirstFrame: true})
		if err != nil || len(first.Frames) != 1 {
			t.Fatalf("%s first frame: %v", format, err)
		}
	}
}

func TestEXIF(t *testing.T) {
	for o := 1; o <= 8; o++ {
		e := MinimalEXIF(nil, o, false)
		if got := Orientation(e); got != o {
			t.Fatalf("orientation %d read back as %d", o, got)
		}
	}
	if MinimalEXIF(nil, 1, true) != nil {
		t.Fatal("minimal EXIF with nothing to hold")
	}
	for _, bad := range [][]byte{nil, []byte("II*\x00"), []byte("II*\x00\xff\xff\xff\xff"), []byte("MM\x00*\x00\x00\x00\x08\xff\xff")} {
		if Orientation(bad) != 1 || HasGPS(bad) {
			t.Fatalf("malformed EXIF %q misread", bad)
		}
		ScrubEXIF(bad, true, false) // must not panic
		MinimalEXIF(bad, 1, true)
	}
}

// A profile longer than one JPEG segment is split over several APP2
// segments and put back together.
func TestLargeICCInJPEG(t *testing.T) {
	icc := make([]byte, 150_000)
	for i := range icc {
		icc[i] = byte(rand.IntN(256))
	}
	data := mustEncode(t, still(testPicture(16, 16, 255), JPEG), EncodeOptions{Format: JPEG, Metadata: Metadata{ICC: icc}})
	if got := ReadMetadata(JPEG, data).ICC; !bytes.Equal(got, icc) {
		t.Fatalf("ICC of %d bytes read back as %d", len(icc), len(got))
	}
	if _, err := DecodeConfig(data); err != nil {
		t.Fatal(err)
	}
}

func TestPaletteKeepsTransparency(t *testing.T) {
	m := testPicture(32, 32, 255)
	for x := range 32 {
		m.SetNRGBA(x, 0, color.NRGBA{})
	}
	data := mustEncode(t, still(m, GIF), EncodeOptions{Format: GIF})
	g, err := gif.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, a := g.At(5, 0).RGBA(); a != 0 {
		t.Fatal("transparent pixel became opaque")
	}
	if _, _, _, a := g.At(5, 5).RGBA(); a != 0xffff {
		t.Fatal("opaque pixel became transparent")
	}
}

// FuzzDecode feeds untrusted bytes through the header reader and the
// decoders: errors are fine, panics are not. The seeds run in every
// `go test`; `go test -fuzz FuzzDecode ./internal/imageio` explores.
func FuzzDecode(f *testing.F) {
	for _, format := range []string{JPEG, PNG, GIF, WebP, BMP, TIFF} {
		f.Add(mustEncode(f, still(testPicture(9, 7, 200), format), EncodeOptions{Format: format}))
	}
	f.Add(gifOf(3))
	f.Add(mustEncode(f, &Image{Frames: []Frame{{Image: testPicture(6, 6, 255)}, {Image: testPicture(6, 6, 9)}}}, EncodeOptions{Format: WebP}))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := DecodeConfig(data)
		if err != nil || cfg.Format == AVIF || cfg.Pixels() > 1<<18 {
			return
		}
		img, err := Decode(data, cfg, DecodeOptions{AutoOrient: true})
		if err == nil && len(img.Frames) == 0 {
			t.Fatal("decoded without frames")
		}
		ReadMetadata(cfg.Format, data)
	})
}

// The header says whether a picture stores transparency, for image.alpha
// in conditions ("a PNG with alpha stays PNG").
func TestConfigAlpha(t *testing.T) {
	opaque, clear := photoLike(32, 24), photoLike(32, 24)
	clear.Pix[3] = 0
	paletted := image.NewPaletted(image.Rect(0, 0, 8, 8), color.Palette{color.NRGBA{0, 0, 0, 0}, color.NRGBA{255, 0, 0, 255}})
	for _, tc := range []struct {
		format string
		img    image.Image
		alpha  bool
	}{
		{PNG, opaque, false}, {PNG, clear, true}, {PNG, paletted, true},
		{GIF, paletted, true}, {GIF, opaque, false},
		{WebP, opaque, false}, {WebP, clear, true},
		{JPEG, opaque, false}, {TIFF, opaque, false}, {BMP, opaque, false},
	} {
		data := mustEncode(t, &Image{Frames: []Frame{{Image: tc.img}}}, EncodeOptions{Format: tc.format})
		cfg, err := DecodeConfig(data)
		if err != nil {
			t.Fatalf("%s: %v", tc.format, err)
		}
		if cfg.Alpha != tc.alpha {
			t.Errorf("%s %T (alpha %v): header says alpha %v", tc.format, tc.img, tc.alpha, cfg.Alpha)
		}
	}
}
