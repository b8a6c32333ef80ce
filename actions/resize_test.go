package actions

import (
	"fmt"
	"image"
	"image/color"
	"net/http"
	"testing"
)

func newResize(w, h int, mode string) *Resize {
	r := newAction("resize").(*Resize)
	r.Width, r.Height = w, h
	if mode != "" {
		r.Mode = mode
	}
	return r
}

// newAction returns a fresh parameter struct with the registered defaults.
func newAction(name string) Action {
	d, ok := Lookup(name)
	if !ok {
		panic("no action " + name)
	}
	return d.New()
}

// The geometry table follows imgproxy's resizing types: fit keeps the
// whole picture inside the box, fill covers it and crops the overflow,
// force stretches; without upscale nothing grows (force keeps its
// distortion ratio while shrinking back to scale 1).
func TestResizeGeometry(t *testing.T) {
	for _, tc := range []struct {
		src       image.Point
		w, h      int
		mode      string
		upscale   bool
		maxW      int
		keepSmall bool
		long      int
		short     int
		percent   float64
		want      image.Point
		wantScale image.Point // scaled size before fill's crop, when it differs
	}{
		{src: image.Pt(400, 300), w: 200, h: 200, mode: "fit", want: image.Pt(200, 150)},
		{src: image.Pt(400, 300), w: 200, mode: "fit", want: image.Pt(200, 150)},
		{src: image.Pt(400, 300), h: 100, mode: "fit", want: image.Pt(133, 100)},
		{src: image.Pt(300, 400), w: 200, h: 200, mode: "fit", want: image.Pt(150, 200)},
		{src: image.Pt(400, 300), w: 800, h: 800, mode: "fit", want: image.Pt(400, 300)},
		{src: image.Pt(400, 300), w: 800, h: 800, mode: "fit", upscale: true, want: image.Pt(800, 600)},
		{src: image.Pt(1, 1000), w: 10, h: 10, mode: "fit", want: image.Pt(1, 10)},
		{src: image.Pt(400, 300), w: 200, h: 200, mode: "fill", want: image.Pt(200, 200), wantScale: image.Pt(267, 200)},
		{src: image.Pt(400, 300), w: 100, h: 300, mode: "fill", want: image.Pt(100, 300), wantScale: image.Pt(400, 300)},
		{src: image.Pt(400, 300), w: 800, h: 100, mode: "fill", want: image.Pt(400, 100), wantScale: image.Pt(400, 300)},
		{src: image.Pt(400, 300), w: 800, h: 600, mode: "fill", upscale: true, want: image.Pt(800, 600)},
		{src: image.Pt(400, 300), w: 200, mode: "fill", want: image.Pt(200, 150)},
		{src: image.Pt(400, 300), w: 200, h: 200, mode: "force", want: image.Pt(200, 200)},
		{src: image.Pt(400, 300), w: 800, h: 100, mode: "force", want: image.Pt(400, 50)},
		{src: image.Pt(400, 300), w: 800, h: 100, mode: "force", upscale: true, want: image.Pt(800, 100)},
		{src: image.Pt(400, 300), w: 200, mode: "force", want: image.Pt(200, 150)},
		{src: image.Pt(400, 300), w: 5000, mode: "fit", upscale: true, maxW: 100, want: image.Pt(100, 75)},
		// OSS IMG's worked example: a 200×100 source at w=150, h=80.
		{src: image.Pt(200, 100), w: 150, h: 80, mode: "fit", want: image.Pt(150, 75)},
		{src: image.Pt(200, 100), w: 150, h: 80, mode: "cover", want: image.Pt(160, 80)},
		{src: image.Pt(200, 100), w: 150, h: 80, mode: "fill", want: image.Pt(150, 80), wantScale: image.Pt(160, 80)},
		{src: image.Pt(200, 100), w: 150, h: 80, mode: "pad", want: image.Pt(150, 80), wantScale: image.Pt(150, 75)},
		{src: image.Pt(200, 100), w: 150, h: 80, mode: "force", want: image.Pt(150, 80)},
		// Pad without upscale keeps the picture's size and still extends;
		// keep_small leaves it alone, as do cover and fill.
		{src: image.Pt(200, 100), w: 300, h: 300, mode: "pad", want: image.Pt(300, 300), wantScale: image.Pt(200, 100)},
		{src: image.Pt(200, 100), w: 300, h: 300, mode: "pad", keepSmall: true, want: image.Pt(200, 100)},
		{src: image.Pt(200, 100), w: 100, h: 200, mode: "fill", keepSmall: true, want: image.Pt(200, 100)},
		{src: image.Pt(200, 100), w: 100, h: 200, mode: "fill", want: image.Pt(100, 100), wantScale: image.Pt(200, 100)},
		{src: image.Pt(200, 100), w: 300, h: 50, mode: "force", keepSmall: true, want: image.Pt(200, 100)},
		{src: image.Pt(200, 100), w: 100, h: 40, mode: "force", keepSmall: true, want: image.Pt(100, 40)},
		{src: image.Pt(200, 100), w: 400, mode: "fit", upscale: true, keepSmall: true, want: image.Pt(400, 200)},
		// long and short follow the source's longer and shorter side.
		{src: image.Pt(400, 200), long: 100, mode: "fit", want: image.Pt(100, 50)},
		{src: image.Pt(200, 400), long: 100, mode: "fit", want: image.Pt(50, 100)},
		{src: image.Pt(400, 200), short: 100, mode: "fit", want: image.Pt(200, 100)},
		{src: image.Pt(200, 400), short: 100, mode: "fit", want: image.Pt(100, 200)},
		{src: image.Pt(400, 200), long: 100, short: 100, mode: "fill", want: image.Pt(100, 100), wantScale: image.Pt(200, 100)},
		{src: image.Pt(400, 300), w: 100, long: 50, mode: "fit", want: image.Pt(100, 75)},
		{src: image.Pt(400, 300), percent: 50, want: image.Pt(200, 150)},
		{src: image.Pt(400, 300), percent: 12.5, want: image.Pt(50, 38)},
		{src: image.Pt(40, 30), percent: 250, upscale: true, want: image.Pt(100, 75)},
		{src: image.Pt(40, 30), percent: 250, keepSmall: true, want: image.Pt(40, 30)},
	} {
		name := fmt.Sprintf("%v %s %dx%d up=%v max=%d keep=%v l=%d s=%d p=%g", tc.src, tc.mode, tc.w, tc.h, tc.upscale, tc.maxW, tc.keepSmall, tc.long, tc.short, tc.percent)
		t.Run(name, func(t *testing.T) {
			r := newResize(tc.w, tc.h, tc.mode)
			r.Upscale, r.MaxWidth, r.KeepSmall = tc.upscale, tc.maxW, tc.keepSmall
			r.Long, r.Short, r.Percent = tc.long, tc.short, tc.percent
			scaled, out := r.geometry(tc.src.X, tc.src.Y)
			wantScale := tc.wantScale
			if wantScale == (image.Point{}) {
				wantScale = tc.want
			}
			if out != tc.want || scaled != wantScale {
				t.Fatalf("geometry = scaled %v, out %v; want scaled %v, out %v", scaled, out, wantScale, tc.want)
			}
			// The pipeline produces what the geometry says.
			_, got := run(t, object(encode(t, "bmp", photo(tc.src.X, tc.src.Y)), ""), r) // bmp: lossless and quick
			if size(got) != tc.want {
				t.Fatalf("output is %v, want %v", size(got), tc.want)
			}
		})
	}
}

func TestResizeFilters(t *testing.T) {
	src := encode(t, "jpeg", photo(320, 240))
	for name := range resampleFilters {
		t.Run(name, func(t *testing.T) {
			r := newResize(100, 0, "fit")
			r.Filter = name
			_, got := run(t, object(src, ""), r)
			if size(got) != image.Pt(100, 75) {
				t.Fatalf("size %v", size(got))
			}
		})
	}
}

// Fill keeps the part that gravity names: a picture whose left half is red
// and right half blue, filled into a square, keeps red with west and blue
// with east.
func TestResizeFillGravity(t *testing.T) {
	m := solid(200, 100, color.NRGBA{255, 0, 0, 255})
	for y := range 100 {
		for x := 100; x < 200; x++ {
			m.SetNRGBA(x, y, color.NRGBA{0, 0, 255, 255})
		}
	}
	src := encode(t, "png", m)
	for gravity, want := range map[string]color.NRGBA{
		"west": {255, 0, 0, 255}, "east": {0, 0, 255, 255}, "north_west": {255, 0, 0, 255}, "south_east": {0, 0, 255, 255},
	} {
		r := newResize(50, 50, "fill")
		r.Gravity = gravity
		_, got := run(t, object(src, ""), r)
		if c := nrgbaAt(got.Frames[0], 25, 25); !near(c, want, 2) {
			t.Errorf("%s: centre is %v, want %v", gravity, c, want)
		}
	}
}

func TestResizeValidate(t *testing.T) {
	if err := newResize(0, 0, "fit").Validate(); err == nil {
		t.Fatal("resize without width and height validated")
	}
}

func TestResizeRefusesOutputOverLimits(t *testing.T) {
	r := newResize(9000, 0, "fit")
	r.Upscale = true
	err := applyErr(object(encode(t, "png", photo(90, 60)), ""), r)
	wantCode(t, err, http.StatusBadRequest, CodeImageTooLarge)
}

func TestResizeNoChangeKeepsPixels(t *testing.T) {
	obj := object(encode(t, "png", photo(40, 30)), "")
	defer obj.Close()
	r := newResize(400, 300, "fit") // no upscale: nothing to do
	if err := r.Apply(t.Context(), obj); err != nil {
		t.Fatal(err)
	}
	if obj.img.changed {
		t.Fatal("a resize that changes nothing marked the image changed")
	}
}

// Pad places the fitted picture by gravity on a canvas of the background
// colour: OSS IMG's example, 200×100 at 150×80, is 150×75 centred, with
// 2 rows above and 3 below.
func TestResizePad(t *testing.T) {
	red := color.NRGBA{255, 0, 0, 255}
	blue := color.NRGBA{0, 0, 255, 255}
	for _, tc := range []struct {
		gravity  string
		bg       color.NRGBA
		bgPixels []image.Point
		picture  []image.Point
	}{
		{"center", color.NRGBA{255, 255, 255, 255}, []image.Point{{75, 0}, {75, 1}, {75, 77}, {75, 79}}, []image.Point{{75, 2}, {0, 40}, {149, 76}}},
		{"north", blue, []image.Point{{75, 75}, {75, 79}}, []image.Point{{75, 0}, {75, 74}}},
		{"south", blue, []image.Point{{75, 0}, {75, 4}}, []image.Point{{75, 5}, {75, 79}}},
	} {
		t.Run(tc.gravity, func(t *testing.T) {
			r := newResize(150, 80, "pad")
			r.Gravity = tc.gravity
			r.Background = Color{NRGBA: tc.bg, Set: true}
			_, got := run(t, object(encode(t, "png", solid(200, 100, red)), ""), r)
			if size(got) != image.Pt(150, 80) {
				t.Fatalf("size %v", size(got))
			}
			m := got.Frames[0].Image
			for _, p := range tc.bgPixels {
				if c := nrgbaAt(m, p.X, p.Y); !near(c, tc.bg, 2) {
					t.Errorf("padding at %v is %v, want %v", p, c, tc.bg)
				}
			}
			for _, p := range tc.picture {
				if c := nrgbaAt(m, p.X, p.Y); !near(c, red, 2) {
					t.Errorf("picture at %v is %v, want red", p, c)
				}
			}
		})
	}
}
