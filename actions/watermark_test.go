package actions

import (
	"context"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"golang.org/x/image/font/gofont/goregular"
)

var gray = color.NRGBA{100, 100, 100, 255}

// changedBox returns the bounding box of the pixels of got that differ from
// want, and their count.
func changedBox(got, want image.Image) (image.Rectangle, int) {
	var box image.Rectangle
	n := 0
	b := want.Bounds()
	for y := range b.Dy() {
		for x := range b.Dx() {
			if nrgbaAt(got, x, y) != nrgbaAt(want, x, y) {
				box = box.Union(image.Rect(x, y, x+1, y+1))
				n++
			}
		}
	}
	return box, n
}

func newWatermark() *Watermark { return newAction("watermark").(*Watermark) }

// A watermark changes pixels at its position and nowhere else (PNG keeps
// every other pixel exactly).
func TestWatermarkTextPositions(t *testing.T) {
	const W, H = 300, 200
	bg := solid(W, H, gray)
	src := encode(t, "png", bg)
	for _, tc := range []struct {
		position string
		region   image.Rectangle // where the change must lie
	}{
		{"south_east", image.Rect(W/2, H/2, W-10, H-10)},
		{"north_west", image.Rect(10, 10, W/2, H/2)},
		{"north_east", image.Rect(W/2, 10, W-10, H/2)},
		{"south_west", image.Rect(10, H/2, W/2, H-10)},
		{"north", image.Rect(W/4, 10, W*3/4, H/2)},
		{"south", image.Rect(W/4, H/2, W*3/4, H-10)},
		{"east", image.Rect(W/2, H/4, W-10, H*3/4)},
		{"west", image.Rect(10, H/4, W/2, H*3/4)},
		{"center", image.Rect(W/4, H/4, W*3/4, H*3/4)},
	} {
		t.Run(tc.position, func(t *testing.T) {
			wm := newWatermark()
			wm.Text, wm.Position, wm.Opacity = "© Test", tc.position, 1
			if err := wm.Prepare(); err != nil {
				t.Fatal(err)
			}
			_, got := run(t, object(src, ""), wm)
			box, n := changedBox(got.Frames[0], bg)
			if n < 20 {
				t.Fatalf("only %d pixels changed", n)
			}
			if !box.In(tc.region) {
				t.Fatalf("changed pixels span %v, outside %v", box, tc.region)
			}
		})
	}
}

func TestWatermarkScaleRotateTile(t *testing.T) {
	const W, H = 400, 200
	bg := solid(W, H, gray)
	src := encode(t, "png", bg)
	t.Run("scale", func(t *testing.T) {
		wm := newWatermark()
		wm.Text, wm.Scale, wm.Opacity, wm.Position = "WATERMARK", 0.5, 1, "center"
		_, got := run(t, object(src, ""), wm)
		box, _ := changedBox(got.Frames[0], bg)
		if w := box.Dx(); w < W/2*85/100 || w > W/2*105/100 {
			t.Fatalf("text is %d px wide, want about %d (scale 0.5)", w, W/2)
		}
	})
	t.Run("rotate", func(t *testing.T) {
		wm := newWatermark()
		wm.Text, wm.Rotate, wm.Opacity = "WATERMARK", 90, 1
		_, got := run(t, object(src, ""), wm)
		if box, _ := changedBox(got.Frames[0], bg); box.Dy() <= box.Dx() {
			t.Fatalf("turned text spans %v: want taller than wide", box)
		}
	})
	t.Run("tile", func(t *testing.T) {
		wm := newWatermark()
		wm.Text, wm.Tile, wm.Opacity, wm.Size = "x", true, 1, 20
		_, got := run(t, object(src, ""), wm)
		for _, q := range []image.Rectangle{image.Rect(0, 0, W/2, H/2), image.Rect(W/2, 0, W, H/2), image.Rect(0, H/2, W/2, H), image.Rect(W/2, H/2, W, H)} {
			sub := got.Frames[0].Image.(interface {
				SubImage(image.Rectangle) image.Image
			}).SubImage(q)
			if _, n := changedBox(sub, bg.SubImage(q)); n == 0 {
				t.Fatalf("tiling left quadrant %v untouched", q)
			}
		}
	})
	t.Run("opacity 0", func(t *testing.T) {
		wm := newWatermark()
		wm.Text, wm.Opacity = "invisible", 0
		_, got := run(t, object(src, ""), wm)
		if _, n := changedBox(got.Frames[0], bg); n != 0 {
			t.Fatalf("%d pixels changed", n)
		}
	})
}

// fetcher serves one object and counts fetches.
type fetcher struct {
	data  []byte
	calls atomic.Int32
}

func (f *fetcher) Fetch(_ context.Context, key string, maxBytes int64) ([]byte, error) {
	f.calls.Add(1)
	if key != "logo.png" {
		return nil, errors.New("no such key")
	}
	return f.data, nil
}

func TestWatermarkImageFetchedOnceAndDrawnInItsCorner(t *testing.T) {
	const W, H = 200, 120
	bg := solid(W, H, gray)
	src := encode(t, "png", bg)
	f := &fetcher{data: encode(t, "png", solid(20, 10, red))}
	watermarkCache.Lock()
	clear(watermarkCache.m)
	watermarkCache.Unlock()
	for range 3 {
		wm := newWatermark()
		wm.Image, wm.Opacity = "logo.png", 1
		obj := object(src, "")
		obj.Fetcher = f
		_, got := run(t, obj, wm)
		box, _ := changedBox(got.Frames[0], bg)
		if want := image.Rect(W-10-20, H-10-10, W-10, H-10); box != want {
			t.Fatalf("changed %v, want exactly the logo at %v", box, want)
		}
		if c := nrgbaAt(got.Frames[0], W-15, H-15); c != red {
			t.Fatalf("logo pixel %v", c)
		}
	}
	if n := f.calls.Load(); n != 1 {
		t.Fatalf("fetched the watermark %d times, want once", n)
	}
	// A missing watermark object is the operator's error: a 500, and it is
	// not cached.
	wm := newWatermark()
	wm.Image = "missing.png"
	obj := object(src, "")
	obj.Fetcher = f
	if err := applyErr(obj, wm); err == nil {
		t.Fatal("missing watermark object did not fail")
	} else if _, isClientError := AsError(err); isClientError {
		t.Fatalf("missing watermark object gave a client error: %v", err)
	}
}

func TestWatermarkFileAndScale(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mark.png")
	if err := os.WriteFile(path, encode(t, "png", solid(40, 20, blue)), 0o644); err != nil {
		t.Fatal(err)
	}
	wm := newWatermark()
	wm.File, wm.Scale, wm.Opacity, wm.Position = path, 0.5, 1, "north_west"
	if err := wm.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := wm.Prepare(); err != nil {
		t.Fatal(err)
	}
	bg := solid(200, 100, gray)
	_, got := run(t, object(encode(t, "png", bg), ""), wm)
	if box, _ := changedBox(got.Frames[0], bg); box != image.Rect(10, 10, 110, 60) {
		t.Fatalf("changed %v, want the mark scaled to 100×50 at (10,10)", box)
	}
	bad := newWatermark()
	bad.File = filepath.Join(t.TempDir(), "absent.png")
	if err := bad.Prepare(); err == nil {
		t.Fatal("a missing watermark file prepared")
	}
}

func TestWatermarkValidate(t *testing.T) {
	for _, wm := range []Watermark{
		{},
		{Image: "a", File: "b"},
		{Text: "a", Size: 10, Scale: 0.2},
		{Image: "b", Size: 10},
	} {
		if err := wm.Validate(); err == nil {
			t.Errorf("%+v validated", wm)
		}
	}
}

func TestWatermarkEveryFrame(t *testing.T) {
	wm := newWatermark()
	wm.Text, wm.Opacity, wm.Color = "#1", 1, Color{NRGBA: color.NRGBA{255, 255, 255, 255}, Set: true}
	_, got := run(t, object(animatedGIF(t, 3, 120, 80), ""), wm)
	if len(got.Frames) != 3 {
		t.Fatalf("%d frames", len(got.Frames))
	}
	for i, f := range got.Frames {
		white := 0
		for y := 40; y < 80; y++ {
			for x := 60; x < 120; x++ {
				if near(nrgbaAt(f, x, y), color.NRGBA{255, 255, 255, 255}, 60) {
					white++
				}
			}
		}
		if white == 0 {
			t.Fatalf("frame %d has no watermark", i)
		}
	}
}

// Margins per axis, the middle row's offset, and OSS IMG's placement: an
// image watermark lands exactly where the parameters say.
func TestWatermarkPlacement(t *testing.T) {
	const W, H = 200, 120
	bg := solid(W, H, gray)
	src := encode(t, "png", bg)
	path := filepath.Join(t.TempDir(), "mark.png")
	if err := os.WriteFile(path, encode(t, "png", solid(20, 10, red)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		position       string
		mx, my, offset int
		want           image.Rectangle
	}{
		{"south_east", 5, 30, 0, image.Rect(W-5-20, H-30-10, W-5, H-30)},
		{"north_west", 0, 0, 0, image.Rect(0, 0, 20, 10)},
		{"north", 50, 7, 0, image.Rect(90, 7, 110, 17)},
		{"east", 3, 99, 20, image.Rect(W-3-20, 55+20, W-3, 65+20)},
		{"west", 3, 99, -20, image.Rect(3, 55-20, 23, 65-20)},
		{"center", 0, 0, 0, image.Rect(90, 55, 110, 65)},
	} {
		t.Run(tc.position, func(t *testing.T) {
			wm := newWatermark()
			wm.File, wm.Opacity, wm.Position = path, 1, tc.position
			wm.MarginX, wm.MarginY, wm.OffsetY = tc.mx, tc.my, tc.offset
			if err := wm.Prepare(); err != nil {
				t.Fatal(err)
			}
			_, got := run(t, object(src, ""), wm)
			if box, _ := changedBox(got.Frames[0], bg); box != tc.want {
				t.Fatalf("changed %v, want %v", box, tc.want)
			}
		})
	}
}

// Text and an image side by side: order, alignment and interval.
func TestWatermarkTextAndImage(t *testing.T) {
	const W, H = 300, 120
	bg := solid(W, H, gray)
	src := encode(t, "png", bg)
	path := filepath.Join(t.TempDir(), "mark.png")
	if err := os.WriteFile(path, encode(t, "png", solid(30, 60, red)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, order := range []string{"image_first", "text_first"} {
		for _, align := range []string{"top", "center", "bottom"} {
			wm := newWatermark()
			wm.File, wm.Text, wm.Size, wm.Opacity, wm.Position = path, "AB", 20, 1, "north_west"
			wm.Order, wm.Align, wm.Interval, wm.Margin = order, align, 10, 0
			wm.Color = Color{NRGBA: blue, Set: true}
			if err := wm.Validate(); err != nil {
				t.Fatal(err)
			}
			if err := wm.Prepare(); err != nil {
				t.Fatal(err)
			}
			_, got := run(t, object(src, ""), wm)
			m := got.Frames[0]
			// Where the red picture is, and where the blue text is.
			var pic, text image.Rectangle
			for y := range H {
				for x := range W {
					c := nrgbaAt(m, x, y)
					switch {
					case c == red:
						pic = pic.Union(image.Rect(x, y, x+1, y+1))
					case c.B > 200 && c.R < 50:
						text = text.Union(image.Rect(x, y, x+1, y+1))
					}
				}
			}
			if pic.Dx() != 30 || pic.Dy() != 60 || text.Empty() {
				t.Fatalf("%s %s: picture %v, text %v", order, align, pic, text)
			}
			if (order == "image_first") != (pic.Max.X <= text.Min.X) {
				t.Errorf("%s: picture %v, text %v", order, pic, text)
			}
			if gap := max(text.Min.X-pic.Max.X, pic.Min.X-text.Max.X); gap < 10 {
				t.Errorf("%s %s: gap %d < interval 10", order, align, gap)
			}
			switch align {
			case "top":
				if pic.Min.Y != 0 || text.Min.Y > 8 {
					t.Errorf("top: picture %v, text %v", pic, text)
				}
			case "bottom":
				if pic.Max.Y != 60 || text.Max.Y < 50 {
					t.Errorf("bottom: picture %v, text %v", pic, text)
				}
			case "center":
				if c := (text.Min.Y + text.Max.Y) / 2; c < 22 || c > 38 {
					t.Errorf("center: text %v, picture %v", text, pic)
				}
			}
		}
	}
}

// A shadow darkens pixels below and right of the text.
func TestWatermarkShadow(t *testing.T) {
	bg := solid(200, 80, color.NRGBA{255, 255, 255, 255})
	src := encode(t, "png", bg)
	wm := newWatermark()
	wm.Text, wm.Size, wm.Opacity, wm.Position = "I", 40, 1, "center"
	wm.Color = Color{NRGBA: color.NRGBA{255, 255, 255, 255}, Set: true}
	_, plain := run(t, object(src, ""), wm)
	if _, n := changedBox(plain.Frames[0], bg); n != 0 {
		t.Fatalf("white on white changed %d pixels", n)
	}
	wm.Shadow = 0.8
	_, shadowed := run(t, object(src, ""), wm)
	box, n := changedBox(shadowed.Frames[0], bg)
	if n < 20 {
		t.Fatalf("the shadow changed %d pixels", n)
	}
	if c := nrgbaAt(shadowed.Frames[0], box.Min.X+box.Dx()/2, box.Min.Y+box.Dy()/2); c.R > 120 {
		t.Fatalf("shadow pixel %v, want dark", c)
	}
}

// Tiles with their own gaps; a tiny mark over a large image is refused
// before it costs millions of draws.
func TestWatermarkTileGaps(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mark.png")
	if err := os.WriteFile(path, encode(t, "png", solid(10, 10, red)), 0o644); err != nil {
		t.Fatal(err)
	}
	bg := solid(100, 50, gray)
	wm := newWatermark()
	wm.File, wm.Opacity, wm.Tile, wm.MarginX, wm.MarginY, wm.GapX, wm.GapY = path, 1, true, 0, 0, 5, 15
	if err := wm.Prepare(); err != nil {
		t.Fatal(err)
	}
	_, got := run(t, object(encode(t, "png", bg), ""), wm)
	for _, p := range []image.Point{{0, 0}, {15, 0}, {30, 25}, {95, 25}} {
		if c := nrgbaAt(got.Frames[0], p.X, p.Y); c != red {
			t.Errorf("%v is %v, want a tile", p, c)
		}
	}
	for _, p := range []image.Point{{12, 0}, {0, 12}, {0, 24}} {
		if c := nrgbaAt(got.Frames[0], p.X, p.Y); c != gray {
			t.Errorf("%v is %v, want a gap", p, c)
		}
	}
	one := filepath.Join(t.TempDir(), "dot.png")
	if err := os.WriteFile(one, encode(t, "png", solid(1, 1, red)), 0o644); err != nil {
		t.Fatal(err)
	}
	tiny := newWatermark()
	tiny.File, tiny.Tile, tiny.GapX, tiny.GapY, tiny.Margin = one, true, 0, 0, 0
	if err := tiny.Prepare(); err != nil {
		t.Fatal(err)
	}
	err := applyErr(object(encode(t, "png", solid(400, 400, gray)), ""), tiny)
	wantCode(t, err, 400, CodeInvalidArgument)
}

// Font files may be collections (.ttc), as CJK fonts are; a CJK font draws
// the glyphs the Go fonts lack.
func TestWatermarkFontCollection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "go.ttc")
	if err := os.WriteFile(path, ttcOf(t, goregular.TTF), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := loadFont(path)
	if err != nil {
		t.Fatal(err)
	}
	if i, err := f.GlyphIndex(nil, 'A'); err != nil || i == 0 {
		t.Fatalf("glyph for A: %d %v", i, err)
	}
	if again, _ := loadFont(path); again != f {
		t.Fatal("a font file was parsed twice")
	}
	const cjk = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"
	if _, err := os.Stat(cjk); err != nil {
		if os.Getenv("OPAPRULES_REQUIRE_TOOLS") != "" {
			t.Fatal("fonts-wqy-zenhei is not installed")
		}
		t.Skip("fonts-wqy-zenhei is not installed")
	}
	zen, err := loadFont(cjk)
	if err != nil {
		t.Fatal(err)
	}
	goreg, _ := loadFont("goregular")
	for _, r := range "你好图片" {
		if i, _ := zen.GlyphIndex(nil, r); i == 0 {
			t.Errorf("wqy-zenhei has no glyph for %q", r)
		}
		if i, _ := goreg.GlyphIndex(nil, r); i != 0 {
			t.Errorf("goregular has a glyph for %q", r)
		}
	}
}

// ttcOf wraps one TrueType font in a collection: a ttcf header, then the
// font with its table offsets moved past the header.
func ttcOf(t *testing.T, ttf []byte) []byte {
	t.Helper()
	const header = 16
	out := append([]byte("ttcf\x00\x01\x00\x00\x00\x00\x00\x01\x00\x00\x00\x10"), ttf...)
	n := int(binary.BigEndian.Uint16(ttf[4:]))
	for i := range n {
		p := header + 12 + 16*i + 8
		binary.BigEndian.PutUint32(out[p:], binary.BigEndian.Uint32(out[p:])+header)
	}
	return out
}
