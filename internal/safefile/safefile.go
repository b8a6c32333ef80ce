// Package safefile reads a small file named on a command line or in a
// configuration without trusting it to be one: `--rules /dev/zero` made the
// CLI read for as long as memory lasted, a FIFO blocked it for good, and a
// sparse 1 GiB file cost a gigabyte before the size check (issue #10,
// finding 5).
package safefile

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrNotRegular is returned for a FIFO, device, socket or directory.
var ErrNotRegular = errors.New("not a regular file")

// TooLargeError is returned for a file over the limit; nothing past the
// limit was read.
type TooLargeError struct {
	Path  string
	Size  int64 // -1 when the file grew past the limit while being read
	Limit int64
}

func (e *TooLargeError) Error() string {
	if e.Size < 0 {
		return fmt.Sprintf("%s: larger than the limit of %s", e.Path, size(e.Limit))
	}
	return fmt.Sprintf("%s: %d bytes, over the limit of %s", e.Path, e.Size, size(e.Limit))
}

func size(n int64) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// ReadFile reads path if it is a regular file of at most limit bytes. The
// name is checked before it is opened, opened non-blocking (a FIFO swapped
// in meanwhile cannot block), checked again on the open handle, and read
// no further than limit+1 bytes whatever its size claims.
func ReadFile(path string, limit int64) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if err := check(path, st, limit); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|openNonBlock, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err = f.Stat(); err != nil {
		return nil, err
	}
	if err := check(path, st, limit); err != nil {
		return nil, err
	}
	// The size said nothing past the limit, but a file can grow.
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, &TooLargeError{Path: path, Size: -1, Limit: limit}
	}
	return b, nil
}

func check(path string, st os.FileInfo, limit int64) error {
	if !st.Mode().IsRegular() {
		return &os.PathError{Op: "read", Path: path, Err: fmt.Errorf("%w (%s)", ErrNotRegular, kind(st.Mode()))}
	}
	if st.Size() > limit {
		return &TooLargeError{Path: path, Size: st.Size(), Limit: limit}
	}
	return nil
}

func kind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a FIFO"
	case m&os.ModeCharDevice != 0:
		return "a character device"
	case m&os.ModeDevice != 0:
		return "a device"
	case m&os.ModeSocket != 0:
		return "a socket"
	}
	return m.Type().String()
}
