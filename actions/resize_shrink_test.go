package actions

import (
	"context"
	"image"
	"net/http"
	"testing"

	"github.com/disintegration/imaging"

	"github.com/opaprules/opaprules/internal/imageio"
)

// A resize that comes first decodes a large JPEG at a reduced scale
// (shrink-on-load). The result must be what a full decode gives: the same
// size, whatever the mode and rounding, and the same picture within the
// bound imageio states for the shrink path (45 dB on photo-like pictures).
const minShrinkPSNR = 45

// fullPath runs acts after two flips, which decode at full size and leave
// the pixels as they were: the reference for a shrink-on-load plan.
func fullPath(t *testing.T, src []byte, acts ...Action) *Image {
	t.Helper()
	_, img := run(t, object(src, ""), append([]Action{&Flip{Direction: "both"}, &Flip{Direction: "both"}}, acts...)...)
	return img
}

// shrunkBy decodes src the way resize r would and reports the shrink: the
// size decoded (as stored), the full upright size, the orientation left
// to apply.
func shrunkBy(t *testing.T, src []byte, r *Resize) (got image.Point, full image.Point, orient int, shrunk bool) {
	t.Helper()
	obj := object(src, "")
	defer obj.Close()
	img, err := obj.decodeImage(context.Background(), decodeOptions{target: func(w, h int) (int, int) {
		s, _ := r.geometry(w, h)
		return s.X, s.Y
	}})
	if err != nil {
		t.Fatal(err)
	}
	full, _, orient, shrunk = obj.shrinkOf(img)
	return img.Bounds().Size(), full, orient, shrunk
}

func TestResizeShrinkOnLoad(t *testing.T) {
	for _, tc := range []struct {
		name string
		w, h int // source
		r    *Resize
		want image.Point
	}{
		{"fit width", 517, 389, newResize(100, 0, "fit"), image.Pt(100, 75)},
		{"fit box", 517, 389, newResize(60, 60, "fit"), image.Pt(60, 45)},
		{"fit height, tall", 197, 503, newResize(0, 50, "fit"), image.Pt(20, 50)},
		{"fill crops the overflow", 517, 389, newResize(60, 60, "fill"), image.Pt(60, 60)},
		{"force", 517, 389, newResize(50, 30, "force"), image.Pt(50, 30)},
		{"odd rounding", 501, 377, newResize(51, 0, "fit"), image.Pt(51, 38)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := encodeWith(t, &Image{Frames: []Frame{{Image: photo(tc.w, tc.h)}}, Format: "jpeg"}, imageio.EncodeOptions{Format: "jpeg", Quality: 90})
			got, full, _, shrunk := shrunkBy(t, src, tc.r)
			if !shrunk || full != image.Pt(tc.w, tc.h) || got.X > (tc.w+1)/2 {
				t.Fatalf("decoded %v (shrunk %v, full %v): no shrink-on-load", got, shrunk, full)
			}
			_, img := run(t, object(src, ""), tc.r, newConvert("png"))
			ref := fullPath(t, src, tc.r, newConvert("png"))
			if size(img) != tc.want || size(ref) != tc.want {
				t.Fatalf("size %v, full path %v, want %v", size(img), size(ref), tc.want)
			}
			if p := psnr(img.Frames[0], ref.Frames[0]); p < minShrinkPSNR {
				t.Fatalf("%.1f dB against the full path, want ≥ %d", p, minShrinkPSNR)
			}
		})
	}
}

// Every filter works on the shrink path and stays close to its full path.
func TestResizeShrinkOnLoadFilters(t *testing.T) {
	src := encodeWith(t, &Image{Frames: []Frame{{Image: photo(640, 480)}}, Format: "jpeg"}, imageio.EncodeOptions{Format: "jpeg", Quality: 90})
	for _, f := range []string{"lanczos", "catmullrom", "linear", "box", "nearest"} {
		r := newResize(80, 0, "fit")
		r.Filter = f
		_, img := run(t, object(src, ""), r, newConvert("png"))
		ref := fullPath(t, src, r, newConvert("png"))
		bound := float64(minShrinkPSNR)
		if f == "nearest" {
			bound = 25 // no filter: one source pixel of 8 (1/4) versus of 1
		}
		if p := psnr(img.Frames[0], ref.Frames[0]); size(img) != image.Pt(80, 60) || p < bound {
			t.Errorf("%s: %v, %.1f dB against the full path", f, size(img), p)
		}
	}
}

// Smart gravity chooses its window on the shrink path's picture.
func TestResizeShrinkOnLoadSmartFill(t *testing.T) {
	src := encodeWith(t, &Image{Frames: []Frame{{Image: photo(800, 400)}}, Format: "jpeg"}, imageio.EncodeOptions{Format: "jpeg", Quality: 90})
	r := newResize(100, 100, "fill")
	r.Gravity = gravitySmart
	_, img := run(t, object(src, ""), r)
	if size(img) != image.Pt(100, 100) {
		t.Fatalf("size %v", size(img))
	}
}

// All eight EXIF orientations through the shrink path: upright, the right
// size, the target given upright.
func TestResizeShrinkOnLoadOrientations(t *testing.T) {
	want := corners(quadrants())
	for o := 1; o <= 8; o++ {
		src := exifJPEG(t, imaging.Resize(quadrants(), 256, 128, imaging.NearestNeighbor), o)
		r := newResize(32, 0, "fit")
		// Decoded at 1/4 and left as stored (turned after the resize).
		stored := image.Pt(64, 32)
		if o >= 5 {
			stored = image.Pt(32, 64)
		}
		got, full, orient, shrunk := shrunkBy(t, src, r)
		if !shrunk || got != stored || full != image.Pt(256, 128) || orient != o {
			t.Fatalf("orientation %d: decoded %v for %v (shrunk %v, orientation %d left), want %v at 1/4", o, got, full, shrunk, orient, stored)
		}
		out, img := run(t, object(src, ""), r)
		if size(img) != image.Pt(32, 16) {
			t.Fatalf("orientation %d: size %v, want 32x16", o, size(img))
		}
		if c := corners(img.Frames[0]); !sameCorners(c, want, 16) {
			t.Fatalf("orientation %d: corners %v, want %v", o, c, want)
		}
		if oc, _ := imageio.DecodeConfig(out); oc.Orientation != 1 {
			t.Fatalf("orientation %d: output still says orientation %d", o, oc.Orientation)
		}
		// A picture of odd size, pixel by pixel against the full path.
		src = exifJPEG(t, photo(389, 197), o)
		for _, r := range []*Resize{newResize(48, 0, "fit"), newResize(30, 30, "fill")} {
			_, img = run(t, object(src, ""), r, newConvert("png"))
			ref := fullPath(t, src, r, newConvert("png"))
			if size(img) != size(ref) {
				t.Fatalf("orientation %d %s: size %v, full path %v", o, r.Mode, size(img), size(ref))
			}
			if p := psnr(img.Frames[0], ref.Frames[0]); p < minShrinkPSNR {
				t.Fatalf("orientation %d %s: %.1f dB against the full path", o, r.Mode, p)
			}
		}
	}
}

// Only a resize that comes first shrinks on load: anything measured in
// source pixels before it (a crop box, a watermark) sees the full picture.
func TestShrinkOnLoadOnlyWhenResizeIsFirst(t *testing.T) {
	src := encodeWith(t, &Image{Frames: []Frame{{Image: photo(800, 600)}}, Format: "jpeg"}, imageio.EncodeOptions{Format: "jpeg", Quality: 90})
	crop := newAction("crop").(*Crop)
	crop.X, crop.Y, crop.Width, crop.Height = 400, 300, 400, 300
	obj := object(src, "")
	defer obj.Close()
	ctx := context.Background()
	if err := crop.Apply(ctx, obj); err != nil {
		t.Fatal(err)
	}
	if st := obj.img; st.shrunk != nil || st.cfg.Width != 800 {
		t.Fatal("crop shrank on load")
	}
	r := newResize(50, 0, "fit")
	if err := r.Apply(ctx, obj); err != nil {
		t.Fatal(err)
	}
	img, err := obj.Image(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The bottom-right quarter, from full-size pixels.
	full := decode(t, src).Frames[0].Image
	want := imaging.Resize(imaging.Crop(full, image.Rect(400, 300, 800, 600)), 50, 38, imaging.Lanczos)
	// 60 dB against imaging.Resize before the plane resampler took full
	// decodes too (57.8 dB after); the shrink-on-load bound is 45.
	if size(img) != image.Pt(50, 38) || psnr(img.Frames[0], want) < 55 {
		t.Fatalf("crop then resize: %v, %.1f dB against the full-size crop", size(img), psnr(img.Frames[0], want))
	}

	wm := newWatermark()
	wm.Text, wm.Size = "x", 40
	if err := wm.Prepare(); err != nil {
		t.Fatal(err)
	}
	obj2 := object(src, "")
	defer obj2.Close()
	if err := wm.Apply(ctx, obj2); err != nil {
		t.Fatal(err)
	}
	if st := obj2.img; st.shrunk != nil || size(st.img) != image.Pt(800, 600) {
		t.Fatal("watermark shrank on load")
	}
	// A resize after another action resizes what that action left.
	if err := newResize(100, 0, "fit").Apply(ctx, obj2); err != nil {
		t.Fatal(err)
	}
	if img, _ := obj2.Image(ctx); size(img) != image.Pt(100, 75) {
		t.Fatalf("size %v", size(img))
	}
}

// A second resize works on the first one's output, not on the source.
func TestResizeAfterShrinkOnLoadResize(t *testing.T) {
	src := encodeWith(t, &Image{Frames: []Frame{{Image: photo(800, 600)}}, Format: "jpeg"}, imageio.EncodeOptions{Format: "jpeg", Quality: 90})
	_, img := run(t, object(src, ""), newResize(100, 0, "fit"), newResize(0, 30, "fit"))
	if size(img) != image.Pt(40, 30) {
		t.Fatalf("size %v, want 40x30", size(img))
	}
}

// Broken JPEGs fail the same clean way on the shrink path.
func TestResizeShrinkOnLoadMalformed(t *testing.T) {
	src := encodeWith(t, &Image{Frames: []Frame{{Image: photo(640, 480)}}, Format: "jpeg"}, imageio.EncodeOptions{Format: "jpeg", Quality: 90})
	corrupt := append([]byte(nil), src...)
	for i := len(corrupt) / 2; i < len(corrupt)/2+64; i++ {
		corrupt[i] = 0xFF
	}
	for name, data := range map[string][]byte{
		"truncated":  src[:len(src)/2],
		"no EOI":     src[:len(src)-2],
		"corrupt":    corrupt,
		"header cut": src[:200],
	} {
		t.Run(name, func(t *testing.T) {
			err := applyErr(object(data, ""), newResize(80, 0, "fit"))
			wantCode(t, err, http.StatusBadRequest, CodeInvalidImage)
		})
	}
}

// The memory budget reserves what the shrink-on-load decode needs.
func TestShrinkOnLoadMemoryBudget(t *testing.T) {
	src := encodeWith(t, &Image{Frames: []Frame{{Image: photo(800, 600)}}, Format: "jpeg"}, imageio.EncodeOptions{Format: "jpeg", Quality: 90})
	const capacity = 1<<40 + 6
	obj := object(src, "")
	obj.Limits.MemoryBudget = capacity
	r := newResize(100, 0, "fit")
	if err := r.Apply(context.Background(), obj); err != nil {
		t.Fatal(err)
	}
	used, _ := budgets[capacity].inUse()
	cfg, _ := imageio.DecodeConfig(src)
	full := imageio.MemoryEstimate(cfg, imageio.DecodeOptions{AutoOrient: true})
	// 1/4 here: a sixteenth of the pixels, plus the fixed megabyte, plus
	// the source bytes the request holds.
	if want := imageio.MemoryEstimate(cfg, imageio.DecodeOptions{AutoOrient: true, Target: func(int, int) (int, int) { return 100, 75 }}) + int64(len(src)); used != want || want >= full/2 {
		t.Fatalf("reserved %d bytes, want %d; a full decode would reserve %d", used, want, full)
	}
	obj.Close()
}
