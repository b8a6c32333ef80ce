package spool

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"testing"
	"testing/iotest"
)

func TestCopy(t *testing.T) {
	ctx := context.Background()
	data := bytes.Repeat([]byte("0123456789"), 1000)
	for _, tc := range []struct {
		name      string
		mem, file int64
		wantErr   bool
	}{
		{"memory", 1 << 20, 1 << 20, false},
		{"file", 100, 1 << 20, false},
		{"exact", 10000, 10000, false},
		{"too large", 100, 9999, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Copy(ctx, iotest.HalfReader(bytes.NewReader(data)), Options{Memory: tc.mem, File: tc.file, Dir: t.TempDir()})
			if tc.wantErr {
				var tl *TooLargeError
				if !errors.Is(err, ErrTooLarge) || !errors.As(err, &tl) || tl.Limit != tc.file {
					t.Fatalf("got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			got, err := io.ReadAll(b)
			if err != nil || b.Size != int64(len(data)) || !bytes.Equal(got, data) {
				t.Fatalf("n=%d err=%v equal=%v", b.Size, err, bytes.Equal(got, data))
			}
			_, isFile := b.Reader.(*os.File)
			if isFile != (tc.mem < int64(len(data))) {
				t.Fatalf("file=%v with memory limit %d", isFile, tc.mem)
			}
		})
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Copy(cctx, bytes.NewReader(data), Options{Memory: 10, File: 1 << 20}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: got %v", err)
	}
}

// The temporary files of all spools together stay within the budget: a
// write that would pass it fails with a *BudgetError, and closing a body
// gives its share back.
func TestBudget(t *testing.T) {
	b := &Budget{capacity: 3 << 20}
	opts := Options{Memory: 0, File: 8 << 20, Disk: b, Dir: t.TempDir()}
	one := bytes.Repeat([]byte("x"), 1<<20)
	var bodies []*Body
	for range 3 {
		body, err := Copy(context.Background(), bytes.NewReader(one), opts)
		if err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, body)
	}
	if got := b.InUse(); got != 3<<20 {
		t.Fatalf("in use %d, want 3 MiB", got)
	}
	_, err := Copy(context.Background(), bytes.NewReader(one), opts)
	var be *BudgetError
	if !errors.Is(err, ErrBudget) || !errors.As(err, &be) || be.Capacity != 3<<20 {
		t.Fatalf("fourth spool: %v, want a budget error", err)
	}
	if got := b.InUse(); got != 3<<20 {
		t.Fatalf("a refused spool kept %d bytes", got-3<<20)
	}
	bodies[0].Close()
	bodies[0].Close()
	if got := b.InUse(); got != 2<<20 {
		t.Fatalf("in use %d after a close, want 2 MiB", got)
	}
	body, err := Copy(context.Background(), bytes.NewReader(one), opts)
	if err != nil {
		t.Fatalf("after a close: %v", err)
	}
	body.Close()
	for _, b := range bodies[1:] {
		b.Close()
	}
	if got := b.InUse(); got != 0 {
		t.Fatalf("in use %d after every close", got)
	}
}

// Concurrent spools never charge more than the budget, and every byte
// charged comes back.
func TestBudgetConcurrent(t *testing.T) {
	b := &Budget{capacity: 8 << 20}
	dir := t.TempDir()
	var wg sync.WaitGroup
	var mu sync.Mutex
	peak := int64(0)
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			data := bytes.Repeat([]byte{byte(i)}, (i%5+1)<<20)
			body, err := Copy(context.Background(), iotest.HalfReader(bytes.NewReader(data)), Options{Memory: 64 << 10, File: 16 << 20, Disk: b, Dir: dir})
			mu.Lock()
			peak = max(peak, b.InUse())
			mu.Unlock()
			if err != nil {
				if !errors.Is(err, ErrBudget) {
					t.Error(err)
				}
				return
			}
			got, _ := io.ReadAll(body)
			if !bytes.Equal(got, data) {
				t.Error("spooled bytes differ")
			}
			body.Close()
		}()
	}
	wg.Wait()
	if peak > b.capacity {
		t.Errorf("peak %d over the capacity %d", peak, b.capacity)
	}
	if b.InUse() != 0 {
		t.Errorf("%d bytes still charged", b.InUse())
	}
}

// When the memory budget has nothing left, the spool goes to its file
// from the start instead of waiting; a granted reservation is released
// when the body is closed, or when the spool moves to its file.
func TestMemoryReservation(t *testing.T) {
	held := int64(0)
	reserve := func(ok bool) func(int64) (func(), bool) {
		return func(n int64) (func(), bool) {
			if !ok {
				return nil, false
			}
			held += n
			return func() { held -= n }, true
		}
	}
	data := bytes.Repeat([]byte("y"), 1000)
	for _, tc := range []struct {
		name     string
		granted  bool
		memory   int64
		wantFile bool
	}{
		{"granted, fits", true, 1 << 20, false},
		{"granted, spills", true, 100, true},
		{"refused", false, 1 << 20, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body, err := Copy(context.Background(), bytes.NewReader(data), Options{Memory: tc.memory, File: 1 << 20, Reserve: reserve(tc.granted), Dir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			if _, isFile := body.Reader.(*os.File); isFile != tc.wantFile {
				t.Errorf("file %v, want %v", isFile, tc.wantFile)
			}
			if tc.wantFile && held != 0 {
				t.Errorf("a spool on file holds %d bytes of memory budget", held)
			}
			got, _ := io.ReadAll(body)
			if !bytes.Equal(got, data) {
				t.Error("spooled bytes differ")
			}
			body.Close()
			if held != 0 {
				t.Errorf("%d bytes of memory budget kept after Close", held)
			}
		})
	}
}
