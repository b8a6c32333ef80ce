package localoss

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// errNotRegular marks a name in the folder that is not a regular file: a
// FIFO, a device, a socket. Opening a FIFO blocks until a writer appears
// (a GET answered 503 after 29 s and a HEAD never, each leaving a thread
// stuck in open(): issue #10, finding 8), and a device can be endless, so
// such names are no objects at all.
var errNotRegular = errors.New("not a regular file")

// openRegular opens name only if it is a regular file: checked before
// opening, opened non-blocking so that a FIFO swapped in between cannot
// block, and checked again on the open handle.
func (s *Server) openRegular(name string) (fs.File, fs.FileInfo, error) {
	st, err := fs.Stat(s.fsys, name)
	if err != nil {
		return nil, nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, st, fmt.Errorf("%s: %w", name, errNotRegular)
	}
	var f fs.File
	if s.root != nil {
		f, err = s.root.OpenFile(name, os.O_RDONLY|openNonBlock, 0)
	} else {
		f, err = s.fsys.Open(name)
	}
	if err != nil {
		return nil, nil, err
	}
	if st, err = f.Stat(); err != nil || !st.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = fmt.Errorf("%s: %w", name, errNotRegular)
		}
		return nil, st, err
	}
	return f, st, nil
}
