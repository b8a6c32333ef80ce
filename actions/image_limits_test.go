package actions

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"
)

// animatedGIF returns a GIF of n frames of w×h, each a different colour,
// the later ones drawn as smaller sub-rectangles (as GIF encoders do).
func animatedGIF(t testing.TB, n, w, h int) []byte {
	t.Helper()
	pal := color.Palette{color.NRGBA{0, 0, 0, 255}, color.NRGBA{255, 0, 0, 255}, color.NRGBA{0, 255, 0, 255}, color.NRGBA{0, 0, 255, 255}}
	g := &gif.GIF{Config: image.Config{Width: w, Height: h, ColorModel: pal}}
	for i := range n {
		r := image.Rect(0, 0, w, h)
		if i > 0 {
			r = image.Rect(w/4, h/4, w*3/4, h*3/4)
		}
		pm := image.NewPaletted(r, pal)
		for j := range pm.Pix {
			pm.Pix[j] = uint8(1 + i%3)
		}
		g.Image = append(g.Image, pm)
		g.Delay = append(g.Delay, 10*(i+1))
	}
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, g); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestAnimatedGIF(t *testing.T) {
	src := animatedGIF(t, 4, 60, 40)
	for _, tc := range []struct {
		name   string
		acts   []Action
		frames int
		size   image.Point
		whole  bool // the output shows whole frames (not cropped to the middle)
	}{
		{"resize keeps every frame", []Action{newResize(30, 0, "fit")}, 4, image.Pt(30, 20), true},
		{"crop keeps every frame", []Action{&Crop{Width: 20, Height: 20, Gravity: "center"}}, 4, image.Pt(20, 20), false},
		{"first_frame", []Action{&Resize{Width: 30, Mode: "fit", Filter: "lanczos", FirstFrame: true}}, 1, image.Pt(30, 20), true},
		{"crop first_frame", []Action{&Crop{Width: 20, Height: 20, Gravity: "center", FirstFrame: true}}, 1, image.Pt(20, 20), false},
		{"to webp", []Action{newResize(30, 0, "fit"), newConvert("webp")}, 4, image.Pt(30, 20), true},
		{"to png takes the first frame", []Action{newConvert("png")}, 1, image.Pt(60, 40), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, got := run(t, object(src, ""), tc.acts...)
			if len(got.Frames) != tc.frames || size(got) != tc.size {
				t.Fatalf("%d frames of %v, want %d of %v", len(got.Frames), size(got), tc.frames, tc.size)
			}
			if tc.frames == 4 && tc.whole {
				// Frames are coalesced: the second frame shows its own
				// colour in the middle and the first frame's at the edge.
				f := got.Frames[1]
				b := f.Bounds()
				if mid, edge := nrgbaAt(f, b.Dx()/2, b.Dy()/2), nrgbaAt(f, 0, 0); !near(mid, green, 40) || !near(edge, red, 40) {
					t.Fatalf("frame 2: middle %v, edge %v; want green over red", mid, edge)
				}
				if got.Frames[2].Delay != 30 {
					t.Fatalf("frame 3 delay %d, want 30", got.Frames[2].Delay)
				}
			}
		})
	}
}

// The frame count counts in the pixel limit: 4 frames of 60×40 are 9,600
// pixels.
func TestAnimatedGIFLimits(t *testing.T) {
	src := animatedGIF(t, 4, 60, 40)
	obj := object(src, "")
	obj.Limits.MaxSourcePixels = 9_000
	wantCode(t, applyErr(obj, newResize(30, 0, "fit")), http.StatusBadRequest, CodeImageTooLarge)
	obj = object(src, "")
	obj.Limits.MaxFrames = 3
	wantCode(t, applyErr(obj, newResize(30, 0, "fit")), http.StatusBadRequest, CodeImageTooLarge)
}

// bombPNG is the header of a width×height RGBA PNG followed by a sliver of
// its (zero) pixel data: a few hundred bytes that would need width×height×4
// bytes to decode. The refusal must come from the header alone, so the
// data being short does not matter; a decoder that tried would allocate
// the whole canvas first.
func bombPNG(width, height int) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, body []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(body)))
		b.WriteString(typ)
		b.Write(body)
		binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), body...)))
	}
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(width))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(height))
	chunk("IHDR", append(ihdr, 8, 6, 0, 0, 0))
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(make([]byte, 64<<10))
	zw.Close()
	chunk("IDAT", z.Bytes())
	chunk("IEND", nil)
	return b.Bytes()
}

func TestLimitsRefusePNGBombCheaply(t *testing.T) {
	src := bombPNG(30000, 30000)
	if len(src) > 4096 {
		t.Fatalf("bomb is %d bytes, meant to be a few hundred", len(src))
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	err := applyErr(object(src, ""), newResize(100, 0, "fit"))
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	wantCode(t, err, http.StatusBadRequest, CodeImageTooLarge)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Fatalf("refusing the bomb allocated %d bytes, want under 1 MiB", alloc)
	}
	t.Logf("refused in %v", took) // the benchmark below measures it properly
}

func BenchmarkLimitsRefusePNGBomb(b *testing.B) {
	src := bombPNG(30000, 30000)
	b.ReportAllocs()
	for b.Loop() {
		if err := applyErr(object(src, ""), newResize(100, 0, "fit")); err == nil {
			b.Fatal("bomb accepted")
		}
	}
}

func TestLimitsRefusals(t *testing.T) {
	png := encode(t, "png", photo(120, 90))
	for _, tc := range []struct {
		name  string
		limit func(*Limits)
		acts  []Action
	}{
		{"max_source_bytes", func(l *Limits) { l.MaxSourceBytes = 100 }, []Action{newResize(10, 0, "fit")}},
		{"max_source_pixels", func(l *Limits) { l.MaxSourcePixels = 10_000 }, []Action{newResize(10, 0, "fit")}},
		{"max_decode_pixels", func(l *Limits) { l.MaxDecodePixels = map[string]Count{"png": 10_000} }, []Action{newResize(10, 0, "fit")}},
		{"max_output_width", func(l *Limits) { l.MaxOutputWidth = 100 }, []Action{newConvert("jpeg")}},
		{"max_output_height", func(l *Limits) { l.MaxOutputHeight = 80 }, []Action{&Flip{Direction: "both"}}},
		{"max_output_pixels per format", func(l *Limits) { l.MaxOutputPixels = map[string]Count{"webp": 10_000} }, []Action{newConvert("webp")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			obj := object(png, "")
			tc.limit(&obj.Limits)
			wantCode(t, applyErr(obj, tc.acts...), http.StatusBadRequest, CodeImageTooLarge)
		})
	}
	// The per-format cap leaves other formats alone.
	obj := object(png, "")
	obj.Limits.MaxOutputPixels = map[string]Count{"webp": 10_000}
	if err := applyErr(obj, newConvert("jpeg")); err != nil {
		t.Fatal(err)
	}
}

// Decoding reserves memory from the process budget until the request
// closes.
func TestImageMemoryBudgetHeldUntilClose(t *testing.T) {
	obj := object(encode(t, "png", photo(100, 100)), "")
	obj.Limits.MemoryBudget = 1 << 40 // a budget of its own
	if _, err := obj.Image(t.Context()); err != nil {
		t.Fatal(err)
	}
	b := budgets[1<<40]
	if used, _ := b.inUse(); used == 0 {
		t.Fatal("decode reserved nothing")
	}
	obj.Close()
	if used, _ := b.inUse(); used != 0 {
		t.Fatalf("%d bytes still reserved after Close", used)
	}
}

func TestLimitsValidate(t *testing.T) {
	for _, tc := range []struct {
		l    Limits
		want string // "" for valid
	}{
		{Limits{}, ""},
		{Limits{MaxDecodePixels: map[string]Count{"avif": 1}, MaxOutputPixels: map[string]Count{"webp": 1}}, ""},
		{Limits{MaxDecodePixels: map[string]Count{"hiec": 1}}, `max_decode_pixels: unknown format "hiec"`},
		{Limits{MaxOutputPixels: map[string]Count{"jpg": 1}}, `max_output_pixels: unknown format "jpg"`},
		{Limits{MaxFrames: -1}, "max_frames: -1 is below the minimum 1"},
	} {
		err := tc.l.Validate()
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%+v: got %v, want %q", tc.l, err, tc.want)
		}
	}
}
