// Package spool buffers a body of unknown length so its length can be sent
// first: WriteGetObjectResponse needs Content-Length before the body. The
// first bytes stay in memory, the rest goes to an unlinked temporary file.
//
// Two budgets bound what all requests together hold. The in-memory part is
// reserved from the process's memory budget (Options.Reserve) and, when
// that is spent, the spool goes straight to its file instead of waiting;
// file bytes are charged to a process-wide Budget, and a write that would
// pass it fails with a *BudgetError. Before this, each length-changing
// redaction could spool up to 1 GiB on its own, with no bound on the sum
// (issue #10, finding 11), and there were two spool implementations (one in
// actions, one in internal/pii); this is the one left.
package spool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// Options bound one spool.
type Options struct {
	// Memory is the most bytes kept in memory; past it the spool moves to
	// a file.
	Memory int64
	// File is the most bytes in all; past it Write fails with a
	// *TooLargeError.
	File int64
	// Disk, when set, is the process-wide budget file bytes are charged
	// to; past it Write fails with a *BudgetError.
	Disk *Budget
	// Reserve, when set, reserves n bytes of the process's memory budget
	// without waiting; ok false means none is left, and the spool uses its
	// file from the start. release gives the bytes back.
	Reserve func(n int64) (release func(), ok bool)
	// Dir is where the temporary file goes ("": os.TempDir()).
	Dir string
}

// ErrTooLarge is matched (errors.Is) by every *TooLargeError.
var ErrTooLarge = errors.New("spool: body too large")

// TooLargeError is a body over Options.File.
type TooLargeError struct{ Limit int64 }

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("spool: the body is over the limit of %d bytes", e.Limit)
}

func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }

// ErrBudget is matched (errors.Is) by every *BudgetError.
var ErrBudget = errors.New("spool: temporary-file budget spent")

// BudgetError is a write refused because the process's temporary files
// hold the whole Budget already.
type BudgetError struct{ Capacity int64 }

func (e *BudgetError) Error() string {
	return fmt.Sprintf("spool: temporary files of all requests would pass the budget of %d bytes", e.Capacity)
}

func (e *BudgetError) Is(target error) bool { return target == ErrBudget }

// Budget is a process-wide cap on bytes in temporary files. It is safe for
// concurrent use.
type Budget struct {
	mu       sync.Mutex
	capacity int64
	used     int64
}

var (
	budgetsMu sync.Mutex
	budgets   = map[int64]*Budget{}
)

// BudgetOf returns the process-wide budget of the given capacity, nil for
// none (capacity <= 0). Every request whose limits name the same capacity
// shares it, as they share the memory budget.
func BudgetOf(capacity int64) *Budget {
	if capacity <= 0 {
		return nil
	}
	budgetsMu.Lock()
	defer budgetsMu.Unlock()
	b := budgets[capacity]
	if b == nil {
		b = &Budget{capacity: capacity}
		budgets[capacity] = b
	}
	return b
}

// InUse reports the bytes charged now.
func (b *Budget) InUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// Capacity is the budget's size in bytes.
func (b *Budget) Capacity() int64 { return b.capacity }

func (b *Budget) take(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used+n > b.capacity {
		return false
	}
	b.used += n
	return true
}

func (b *Budget) give(n int64) {
	b.mu.Lock()
	b.used -= n
	b.mu.Unlock()
}

// diskStep is how much file budget is charged at a time, so a spool does
// not take the budget's lock for every write.
const diskStep = 1 << 20

// Writer is a spool being filled. Use it from one goroutine.
type Writer struct {
	ctx  context.Context
	opts Options

	mem        bytes.Buffer
	memRelease func()
	memOK      bool // the memory reservation was granted
	f          *os.File
	n          int64
	charged    int64 // file budget taken
	done       bool
}

// NewWriter starts a spool. ctx is checked on every write.
func NewWriter(ctx context.Context, opts Options) *Writer {
	opts.Memory = max(opts.Memory, 0)
	opts.File = max(opts.File, opts.Memory)
	w := &Writer{ctx: ctx, opts: opts, memOK: true}
	if opts.Memory > 0 && opts.Reserve != nil {
		w.memRelease, w.memOK = opts.Reserve(opts.Memory)
	}
	return w
}

// Write buffers p.
func (w *Writer) Write(p []byte) (int, error) {
	if err := w.ctx.Err(); err != nil {
		return 0, err
	}
	if w.n+int64(len(p)) > w.opts.File {
		return 0, &TooLargeError{Limit: w.opts.File}
	}
	if w.f == nil && w.memOK && w.n+int64(len(p)) <= w.opts.Memory {
		w.mem.Write(p)
		w.n += int64(len(p))
		return len(p), nil
	}
	if w.f == nil {
		if err := w.toFile(); err != nil {
			return 0, err
		}
	}
	if err := w.charge(w.n + int64(len(p))); err != nil {
		return 0, err
	}
	n, err := w.f.Write(p)
	w.n += int64(n)
	return n, err
}

// toFile moves the spool from memory to an unlinked temporary file.
func (w *Writer) toFile() error {
	if err := w.charge(int64(w.mem.Len())); err != nil {
		return err
	}
	f, err := os.CreateTemp(w.opts.Dir, "opaprules-spool-*")
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	// Unlinked at once: the open file lives on, and nothing is left behind
	// even after a crash.
	os.Remove(f.Name())
	w.f = f
	if _, err := f.Write(w.mem.Bytes()); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	w.mem = bytes.Buffer{}
	w.releaseMemory()
	return nil
}

// charge takes file budget until total bytes are covered.
func (w *Writer) charge(total int64) error {
	b := w.opts.Disk
	if b == nil || total <= w.charged {
		return nil
	}
	step := max((total-w.charged+diskStep-1)/diskStep*diskStep, diskStep)
	if !b.take(step) {
		if !b.take(total - w.charged) {
			return &BudgetError{Capacity: b.capacity}
		}
		step = total - w.charged
	}
	w.charged += step
	return nil
}

func (w *Writer) releaseMemory() {
	if w.memRelease != nil {
		w.memRelease()
		w.memRelease = nil
	}
}

// release gives back everything the writer holds.
func (w *Writer) release() {
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
	w.mem = bytes.Buffer{}
	w.releaseMemory()
	if w.charged > 0 {
		w.opts.Disk.give(w.charged)
		w.charged = 0
	}
}

// Discard drops the spool and gives back what it holds.
func (w *Writer) Discard() {
	if !w.done {
		w.done = true
		w.release()
	}
}

// Finish returns the spooled body, positioned at its start, and its length.
// Closing it gives back the file and the budgets.
func (w *Writer) Finish() (*Body, error) {
	if w.done {
		return nil, errors.New("spool: finished twice")
	}
	w.done = true
	if w.f == nil {
		return &Body{Reader: bytes.NewReader(w.mem.Bytes()), Size: w.n, w: w}, nil
	}
	if _, err := w.f.Seek(0, io.SeekStart); err != nil {
		w.release()
		return nil, err
	}
	return &Body{Reader: w.f, Size: w.n, w: w}, nil
}

// Body is a finished spool.
type Body struct {
	io.Reader
	Size int64
	w    *Writer
	once sync.Once
}

// Close gives back the file and the budgets. It is safe to call more
// than once.
func (b *Body) Close() error {
	b.once.Do(b.w.release)
	return nil
}

// Copy spools all of src.
func Copy(ctx context.Context, src io.Reader, opts Options) (*Body, error) {
	w := NewWriter(ctx, opts)
	buf := make([]byte, 128<<10)
	for {
		if err := ctx.Err(); err != nil {
			w.Discard()
			return nil, err
		}
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				w.Discard()
				return nil, werr
			}
		}
		if err == io.EOF {
			return w.Finish()
		}
		if err != nil {
			w.Discard()
			return nil, err
		}
	}
}
