package actions

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/opaprules/opaprules/internal/imageio"
)

// The memory budget is process-wide: concurrent requests on one instance
// share its memory, and a request whose decode would push the estimated
// use past the budget waits (first come, first served) until earlier ones
// finish, rather than running the instance out of memory.

var (
	budgetsMu sync.Mutex
	budgets   = map[int64]*memoryBudget{}
)

// budgetOf returns the process-wide memory budget of the given capacity.
func budgetOf(capacity int64) *memoryBudget {
	budgetsMu.Lock()
	defer budgetsMu.Unlock()
	b := budgets[capacity]
	if b == nil {
		b = &memoryBudget{capacity: capacity}
		budgets[capacity] = b
	}
	return b
}

// acquireImageMemory reserves n bytes of the budget of the given capacity
// (0: no budget) and returns the release function.
func acquireImageMemory(ctx context.Context, capacity, n int64) (func(), error) {
	if capacity <= 0 {
		return func() {}, nil
	}
	b := budgetOf(capacity)
	// A request larger than the whole budget runs alone rather than never.
	n = min(n, capacity)
	if err := b.acquire(ctx, n); err != nil {
		return nil, fmt.Errorf("waiting for image memory (%s of a %s budget): %w", ByteSize(n), ByteSize(capacity), err)
	}
	var once sync.Once
	return func() { once.Do(func() { b.release(n) }) }, nil
}

type memoryBudget struct {
	mu       sync.Mutex
	capacity int64
	used     int64
	waiters  []*budgetWaiter
}

type budgetWaiter struct {
	n     int64
	ready chan struct{}
}

func (b *memoryBudget) acquire(ctx context.Context, n int64) error {
	b.mu.Lock()
	if len(b.waiters) == 0 && b.used+n <= b.capacity {
		b.used += n
		b.mu.Unlock()
		return nil
	}
	w := &budgetWaiter{n: n, ready: make(chan struct{})}
	b.waiters = append(b.waiters, w)
	b.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case <-w.ready:
		// Granted while giving up: hand it on.
		b.used -= n
	default:
		for i, x := range b.waiters {
			if x == w {
				b.waiters = append(b.waiters[:i], b.waiters[i+1:]...)
				break
			}
		}
	}
	b.grant()
	return ctx.Err()
}

// tryAcquire reserves n bytes only if that needs no wait: nobody is
// queued and they fit. A spool's memory buffer uses it, and goes to its
// temporary file when the budget is spent rather than waiting.
func (b *memoryBudget) tryAcquire(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.waiters) > 0 || b.used+n > b.capacity {
		return false
	}
	b.used += n
	return true
}

// memoryReserver is what a spool reserves its memory buffer with (see
// spool.Options.Reserve); nil for no budget.
func memoryReserver(capacity int64) func(n int64) (func(), bool) {
	if capacity <= 0 {
		return nil
	}
	b := budgetOf(capacity)
	return func(n int64) (func(), bool) {
		if !b.tryAcquire(n) {
			return nil, false
		}
		var once sync.Once
		return func() { once.Do(func() { b.release(n) }) }, true
	}
}

func (b *memoryBudget) release(n int64) {
	b.mu.Lock()
	b.used -= n
	b.grant()
	b.mu.Unlock()
}

// grant lets queued requests in, in order, while they fit.
func (b *memoryBudget) grant() {
	for len(b.waiters) > 0 && b.used+b.waiters[0].n <= b.capacity {
		w := b.waiters[0]
		b.waiters = b.waiters[1:]
		b.used += w.n
		close(w.ready)
	}
}

// inUse reports the bytes reserved and the requests waiting, for tests.
func (b *memoryBudget) inUse() (used int64, waiting int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used, len(b.waiters)
}

// headBytes is how much of a JPEG is read before the decode's memory is
// reserved: the frame header comes first, after APP segments of a few KB.
const headBytes = 256 << 10

// readImageSource reads the body for a decode and reserves the memory the
// decode will take, source bytes included. For a JPEG of known size the
// header is read first, the reservation made, and only then the rest
// read: requests waiting for room in the budget then hold a few hundred
// KB each, not their whole source outside it (issue #10, finding 6: 50
// requests in flight, 30 of them an 8000×6000 progressive JPEG, peaked at
// 1.24 GB with memory_budget 1GiB). Other formats are read whole first:
// their frame count can sit anywhere in the file. check vets the header
// before anything is reserved; estimate is the decode's own cost.
func (o *Object) readImageSource(ctx context.Context, check func(imageio.Config) error, estimate func(imageio.Config) int64) ([]byte, imageio.Config, error) {
	maxBytes := int64(o.Limits.MaxSourceBytes)
	r, size, err := o.Body(ctx)
	if err != nil {
		return nil, imageio.Config{}, err
	}
	if size > maxBytes {
		return nil, imageio.Config{}, Errorf(http.StatusBadRequest, CodeImageTooLarge, "object is %d bytes, over the limit of %s", size, ByteSize(maxBytes))
	}
	var (
		cfg  imageio.Config
		head []byte
	)
	if size > headBytes {
		head = make([]byte, headBytes)
		if _, err := io.ReadFull(r, head); err != nil {
			return nil, cfg, err
		}
		if c, err := imageio.DecodeConfig(head); err == nil && c.Format == imageio.JPEG {
			if err := check(c); err != nil {
				return nil, cfg, err
			}
			if err := o.reserveImageMemory(ctx, estimate(c)+size); err != nil {
				return nil, cfg, err
			}
			cfg = c
		}
		r = io.MultiReader(bytes.NewReader(head), r)
	}
	o.body, o.size = r, size
	data, err := o.ReadAll(ctx, maxBytes, CodeImageTooLarge)
	if err != nil {
		return nil, cfg, err
	}
	full, err := imageio.DecodeConfig(data)
	if err != nil {
		return nil, cfg, decodeError(err)
	}
	if cfg.Format == "" {
		if err := check(full); err != nil {
			return nil, cfg, err
		}
		if err := o.reserveImageMemory(ctx, estimate(full)+int64(len(data))); err != nil {
			return nil, cfg, err
		}
	}
	return data, full, nil
}

// imageMemory is what a request holds of the memory budget.
type imageMemory struct {
	reserved int64
	release  func()
}

// reserveImageMemory makes the request's reservation at least n bytes,
// waiting for room. A request that holds less gives its reservation back
// before waiting for the larger one, so no request waits while holding
// budget others wait for (which could deadlock the queue).
func (o *Object) reserveImageMemory(ctx context.Context, n int64) error {
	m := o.mem
	if m == nil {
		m = &imageMemory{}
		o.mem = m
		o.OnClose(func() {
			if m.release != nil {
				m.release()
			}
		})
	}
	if n <= m.reserved {
		return nil
	}
	if m.release != nil {
		m.release()
		m.release, m.reserved = nil, 0
	}
	release, err := acquireImageMemory(ctx, int64(o.Limits.MemoryBudget), n)
	if err != nil {
		return err
	}
	m.release, m.reserved = release, n
	return nil
}

// encodeCost is an encode's peak memory per output pixel, whole process,
// the encoded bytes included: WebP (pure Go) ≈31 and AVIF (WebAssembly)
// ≈117 bytes per pixel at 12 MP (perf-notes: 376 MiB and 1.4 GiB); the
// others hold the output and a row or block at a time.
var encodeCost = map[string]int64{
	imageio.WebP: 32,
	imageio.AVIF: 120,
	imageio.GIF:  8,
}

// reserveEncodeMemory makes sure the reservation covers the encode of img
// to format, on top of what the request holds then: the source bytes and
// the image itself. The decode's reservation, whose buffers are garbage
// by now, usually covers it already.
func (o *Object) reserveEncodeMemory(ctx context.Context, img *Image, format string) error {
	b := img.Bounds()
	px := int64(b.Dx()) * int64(b.Dy()) * int64(max(len(img.Frames), 1))
	cost, ok := encodeCost[format]
	if !ok {
		cost = 6
	}
	var src int64
	if o.img != nil {
		src = int64(len(o.img.src))
	}
	return o.reserveImageMemory(ctx, src+px*4+px*cost)
}
