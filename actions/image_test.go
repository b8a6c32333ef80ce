package actions

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"io"
	"math"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/opaprules/opaprules/internal/imageio"
)

// heavy reports whether the slow codec tests run: AVIF through
// WebAssembly compiles for seconds (far longer under -race). CI runs them
// in a separate step without -race: OPAPRULES_HEAVY=1 go test ./actions/ ./internal/imageio/.
func heavy(t testing.TB) {
	t.Helper()
	if os.Getenv("OPAPRULES_HEAVY") == "" {
		t.Skip("WebAssembly codec test (AVIF, HEIC): set OPAPRULES_HEAVY=1 (CI runs these without -race)")
	}
}

var photos sync.Map // image.Point → *image.NRGBA

// photo returns a w×h picture with smooth gradients and some detail, so
// that resampling and compression behave as on real photographs. The
// result is shared between tests: do not modify it.
func photo(w, h int) *image.NRGBA {
	if m, ok := photos.Load(image.Pt(w, h)); ok {
		return m.(*image.NRGBA)
	}
	m := makePhoto(w, h)
	photos.Store(image.Pt(w, h), m)
	return m
}

func makePhoto(w, h int) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			fx, fy := float64(x)/float64(w), float64(y)/float64(h)
			r := 128 + 100*math.Sin(6*fx+2*fy)
			g := 128 + 100*math.Cos(5*fy-3*fx)
			b := 128 + 60*math.Sin(20*fx*fy) + 20*math.Sin(float64(x*y)/50)
			i := m.PixOffset(x, y)
			m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = clamp8(r), clamp8(g), clamp8(b), 255
		}
	}
	return m
}

func clamp8(v float64) uint8 { return uint8(max(0, min(255, math.Round(v)))) }

// solid returns a w×h image of one colour.
func solid(w, h int, c color.NRGBA) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(m.Pix); i += 4 {
		m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	return m
}

// encode encodes m as format with default options.
func encode(t testing.TB, format string, m image.Image) []byte {
	t.Helper()
	return encodeWith(t, &Image{Frames: []Frame{{Image: m}}, Format: format, Orientation: 1}, imageio.EncodeOptions{Format: format, Speed: -1})
}

func encodeWith(t testing.TB, img *Image, o imageio.EncodeOptions) []byte {
	t.Helper()
	b, err := imageio.Encode(img, o)
	if err != nil {
		t.Fatalf("encode %s: %v", o.Format, err)
	}
	return b
}

// object wraps data as an origin object with the default limits and the
// given Accept header.
func object(data []byte, accept string) *Object {
	h := http.Header{}
	if accept != "" {
		h.Set("Accept", accept)
	}
	return NewObject(&Request{Key: "k", Header: h}, bytes.NewReader(data), int64(len(data)), http.Header{}, DefaultLimits())
}

// run applies the actions to data and returns the result's bytes and its
// decoded image.
func run(t testing.TB, obj *Object, acts ...Action) ([]byte, *Image) {
	t.Helper()
	defer obj.Close()
	for _, a := range acts {
		if err := a.Apply(context.Background(), obj); err != nil {
			t.Fatalf("%T: %v", a, err)
		}
	}
	r, n, err := obj.Result(context.Background())
	if err != nil {
		t.Fatalf("result: %v", err)
	}
	out, err := io.ReadAll(r)
	if err != nil || int64(len(out)) != n {
		t.Fatalf("result: read %d of %d bytes: %v", len(out), n, err)
	}
	return out, decode(t, out)
}

func decode(t testing.TB, data []byte) *Image {
	t.Helper()
	cfg, err := imageio.DecodeConfig(data)
	if err != nil {
		t.Fatalf("result does not decode: %v", err)
	}
	img, err := imageio.Decode(data, cfg, imageio.DecodeOptions{})
	if err != nil {
		t.Fatalf("result does not decode: %v", err)
	}
	return img
}

// applyErr applies the actions and returns the first error.
func applyErr(obj *Object, acts ...Action) error {
	defer obj.Close()
	for _, a := range acts {
		if err := a.Apply(context.Background(), obj); err != nil {
			return err
		}
	}
	_, _, err := obj.Result(context.Background())
	return err
}

// wantCode checks that err is an *Error with the status and code.
func wantCode(t *testing.T, err error, status int, code string) {
	t.Helper()
	e, ok := AsError(err)
	if !ok {
		t.Fatalf("error = %v, want %d %s", err, status, code)
	}
	if e.Status != status || e.Code != code {
		t.Fatalf("error = %d %s (%s), want %d %s", e.Status, e.Code, e.Message, status, code)
	}
}

func size(m *Image) image.Point { return m.Bounds().Size() }

// psnr compares two images of the same size, in dB over RGB.
func psnr(a, b image.Image) float64 {
	ab, bb := a.Bounds(), b.Bounds()
	if ab.Size() != bb.Size() {
		return 0
	}
	var sum float64
	for y := range ab.Dy() {
		for x := range ab.Dx() {
			c1 := color.NRGBAModel.Convert(a.At(ab.Min.X+x, ab.Min.Y+y)).(color.NRGBA)
			c2 := color.NRGBAModel.Convert(b.At(bb.Min.X+x, bb.Min.Y+y)).(color.NRGBA)
			for _, d := range []float64{float64(c1.R) - float64(c2.R), float64(c1.G) - float64(c2.G), float64(c1.B) - float64(c2.B)} {
				sum += d * d
			}
		}
	}
	mse := sum / float64(3*ab.Dx()*ab.Dy())
	if mse == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255/mse)
}

func nrgbaAt(m image.Image, x, y int) color.NRGBA {
	b := m.Bounds()
	return color.NRGBAModel.Convert(m.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
}

// near reports whether two colours differ by at most tol per channel.
func near(a, b color.NRGBA, tol int) bool {
	d := func(x, y uint8) bool { return int(x)-int(y) <= tol && int(y)-int(x) <= tol }
	return d(a.R, b.R) && d(a.G, b.G) && d(a.B, b.B) && d(a.A, b.A)
}

func TestImageNotAnImage(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		code string
	}{
		{"text", []byte("hello, world, this is not an image"), CodeInvalidImage},
		{"truncated jpeg", encode(t, "jpeg", photo(64, 64))[:300], CodeInvalidImage},
		{"heic without a meta box", append([]byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"), make([]byte, 64)...), CodeInvalidImage},
		{"png with a broken header", append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 40)...), CodeInvalidImage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := applyErr(object(tc.data, ""), &Resize{Width: 10, Mode: "fit", Filter: "lanczos"})
			wantCode(t, err, http.StatusBadRequest, tc.code)
		})
	}
}

func TestMemoryBudgetWaitsAndCancels(t *testing.T) {
	const capacity = 1000 // a capacity no other test uses
	ctx := context.Background()
	release1, err := acquireImageMemory(ctx, capacity, 700)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		release, err := acquireImageMemory(ctx, capacity, 600)
		if err == nil {
			release()
		}
		got <- err
	}()
	waitQueued(t, capacity, 1)
	// A third request that gives up while queued must not block others.
	cctx, cancel := context.WithCancel(ctx)
	cancelled := make(chan error, 1)
	go func() {
		_, err := acquireImageMemory(cctx, capacity, 100)
		cancelled <- err
	}()
	waitQueued(t, capacity, 2)
	cancel()
	if err := <-cancelled; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled acquire: %v", err)
	}
	release1()
	release1() // releasing twice is harmless
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if n, w := budgets[capacity].inUse(); n != 0 || w != 0 {
		t.Fatalf("after all released: %d bytes in use, %d waiting", n, w)
	}
}

func waitQueued(t *testing.T, capacity int64, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		budgetsMu.Lock()
		b := budgets[capacity]
		budgetsMu.Unlock()
		if _, w := b.inUse(); w == n {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("never saw %d requests waiting", n)
}

func TestMemoryBudgetOversizedRequestRunsAlone(t *testing.T) {
	release, err := acquireImageMemory(context.Background(), 1001, 5000)
	if err != nil {
		t.Fatal(err)
	}
	release()
}

func TestColorParsing(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want color.NRGBA
		ok   bool
	}{
		{"#ff000080", color.NRGBA{255, 0, 0, 128}, true},
		{"#f00", color.NRGBA{255, 0, 0, 255}, true},
		{"#f008", color.NRGBA{255, 0, 0, 0x88}, true},
		{"#102030", color.NRGBA{16, 32, 48, 255}, true},
		{"White", color.NRGBA{255, 255, 255, 255}, true},
		{"transparent", color.NRGBA{}, true},
		{"#12345", color.NRGBA{}, false},
		{"#gg0000", color.NRGBA{}, false},
		{"mauve", color.NRGBA{}, false},
	} {
		var c Color
		err := c.UnmarshalText([]byte(tc.in))
		if (err == nil) != tc.ok || (tc.ok && c.NRGBA != tc.want) {
			t.Errorf("%q: got %v, %v; want %v ok=%v", tc.in, c.NRGBA, err, tc.want, tc.ok)
		}
	}
}
