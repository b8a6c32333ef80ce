package actions

import (
	"bytes"
	"context"
	"image"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/opaprules/opaprules/internal/imageio"
)

// countingReader counts the bytes read from it.
type countingReader struct {
	r *bytes.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// Issue #10, finding 6: with memory_budget 1GiB, 50 requests in flight, 30
// of them an 8000×6000 progressive JPEG, serve peaked at 1.24 GB: every
// request read its whole source and only then waited for room, so the
// waiting ones held their sources outside the budget. A JPEG's header is
// read first now, the decode's memory reserved (its source included), and
// only then the rest: a request waiting for room holds its header alone.
func TestWaitingDecodeHoldsOnlyTheHeader(t *testing.T) {
	src := encodeWith(t, &Image{Frames: []Frame{{Image: noise(1600, 1200)}}, Format: "jpeg"}, imageio.EncodeOptions{Format: "jpeg", Quality: 95})
	if len(src) <= 2*headBytes {
		t.Fatalf("the test needs a JPEG well over %d bytes, got %d", headBytes, len(src))
	}
	cfg, _ := imageio.DecodeConfig(src)
	want := imageio.MemoryEstimate(cfg, imageio.DecodeOptions{AutoOrient: true, OrientAfterShrink: true}) + int64(len(src))
	const capacity = 1<<40 + 7
	b := budgetOf(capacity)
	// Someone else holds all but a little of the budget.
	release, err := acquireImageMemory(context.Background(), capacity, capacity-want/2)
	if err != nil {
		t.Fatal(err)
	}
	body := &countingReader{r: bytes.NewReader(src)}
	obj := NewObject(&Request{}, body, int64(len(src)), nil, Limits{MemoryBudget: capacity, MaxSourceBytes: 50 << 20, MaxSourcePixels: 50_000_000})
	defer obj.Close()
	done := make(chan error, 1)
	go func() {
		_, err := obj.Image(context.Background())
		done <- err
	}()
	for {
		if _, waiting := b.inUse(); waiting == 1 {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("decoded without waiting: %v", err)
		default:
		}
	}
	if read := body.n.Load(); read > headBytes {
		t.Errorf("the waiting request read %d bytes of its %d-byte source", read, len(src))
	}
	release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if used, _ := b.inUse(); used != want {
		t.Errorf("reserved %d bytes, want the decode's estimate and the source, %d", used, want)
	}
	obj.Close()
	if used, _ := b.inUse(); used != 0 {
		t.Errorf("%d bytes still reserved after Close", used)
	}
}

// The encode's memory is reserved too: a small decode converted to WebP
// (≈32 bytes per pixel) grows its reservation before encoding.
func TestEncodeReservation(t *testing.T) {
	src := encodeWith(t, &Image{Frames: []Frame{{Image: noise(600, 450)}}, Format: "png"}, imageio.EncodeOptions{Format: "png"})
	const capacity = 1<<40 + 8
	obj := object(src, "")
	obj.Limits.MemoryBudget = capacity
	img, err := obj.Image(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	obj.imageState().out.Format = imageio.WebP
	obj.SetImage(img)
	if _, _, err := obj.Body(context.Background()); err != nil {
		t.Fatal(err)
	}
	used, _ := budgetOf(capacity).inUse()
	if want := int64(len(src)) + 600*450*(4+32); used != want {
		t.Errorf("reserved %d bytes for a WebP encode, want %d", used, want)
	}
	obj.Close()
}

func noise(w, h int) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	x := uint32(1)
	for i := range m.Pix {
		x = x*1664525 + 1013904223
		m.Pix[i] = byte(x >> 24)
	}
	return m
}

// Reading an original of known size takes one buffer of that size. The
// header read for the reservation allocated the whole size a second time;
// and a buffer grown to exactly the size, when that is a whole number of
// pages (no rounding up to leave room), was copied into one twice as
// large by the read that meets EOF. On a 12 MP thumbnail that was two to
// three times the source in allocations, page faults and copies.
func TestReadingTheSourceAllocatesItOnce(t *testing.T) {
	if raceOn {
		t.Skip("allocations under the race detector are not the program's: bytes.Buffer.Grow allocates twice")
	}
	jpeg := encodeWith(t, &Image{Frames: []Frame{{Image: noise(1600, 1200)}}, Format: "jpeg"}, imageio.EncodeOptions{Format: "jpeg", Quality: 95})
	if len(jpeg) <= 2*headBytes {
		t.Fatalf("the test needs a JPEG well over %d bytes, got %d", headBytes, len(jpeg))
	}
	pages := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	limits := Limits{MaxSourceBytes: 50 << 20, MaxSourcePixels: 50_000_000}
	for _, tc := range []struct {
		name string
		src  []byte
		read func(*Object) ([]byte, error)
	}{
		{"ReadAll of whole pages", pages, func(o *Object) ([]byte, error) {
			return o.ReadAll(context.Background(), 50<<20, CodeImageTooLarge)
		}},
		{"readImageSource of a JPEG", jpeg, func(o *Object) ([]byte, error) {
			data, _, err := o.readImageSource(context.Background(), o.checkSource, func(imageio.Config) int64 { return 0 })
			return data, err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			obj := NewObject(&Request{}, bytes.NewReader(tc.src), int64(len(tc.src)), nil, limits)
			defer obj.Close()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			data, err := tc.read(obj)
			runtime.ReadMemStats(&after)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(data, tc.src) {
				t.Fatal("the bytes read are not the source")
			}
			// The source, the header buffer and a little slack.
			if got, max := after.TotalAlloc-before.TotalAlloc, uint64(len(tc.src)+headBytes+64<<10); got > max {
				t.Errorf("reading a %d-byte source allocated %d bytes, want at most %d", len(tc.src), got, max)
			}
		})
	}
}
