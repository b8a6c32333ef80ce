package actions

import (
	"context"
	"fmt"
	"sync"
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
