package actions

import (
	"context"
	"errors"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
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
		{Text: "a", Image: "b"},
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
