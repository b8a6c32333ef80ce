package safefile

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small.yaml")
	os.WriteFile(small, []byte("version: 1\n"), 0o644)
	if b, err := ReadFile(small, 1<<20); err != nil || string(b) != "version: 1\n" {
		t.Fatalf("small file: %q %v", b, err)
	}

	// A sparse 1 GiB file is refused from its size, before any read.
	sparse := filepath.Join(dir, "sparse.yaml")
	f, _ := os.Create(sparse)
	f.Truncate(1 << 30)
	f.Close()
	var tl *TooLargeError
	if _, err := ReadFile(sparse, 1<<20); !errors.As(err, &tl) || tl.Size != 1<<30 {
		t.Errorf("sparse 1 GiB: %v", err)
	}

	// Endless and blocking files are refused without reading.
	fifo := filepath.Join(dir, "rules.fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/dev/zero", "/dev/urandom", fifo, dir} {
		done := make(chan error, 1)
		go func() { _, err := ReadFile(p, 1<<20); done <- err }()
		select {
		case err := <-done:
			if !errors.Is(err, ErrNotRegular) {
				t.Errorf("%s: %v, want ErrNotRegular", p, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: still reading", p)
		}
	}
	if _, err := ReadFile(filepath.Join(dir, "missing"), 1); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := ReadFile(small, 4); !errors.As(err, &tl) {
		t.Errorf("over a small limit: %v", err)
	}
}
