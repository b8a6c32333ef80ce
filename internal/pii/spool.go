package pii

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrTooLarge is matched (errors.Is) by every *TooLargeError.
var ErrTooLarge = errors.New("pii: output too large to spool")

// TooLargeError reports that spooled output passed the file limit.
type TooLargeError struct {
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("pii: output exceeds the %d-byte spool limit", e.Limit)
}

func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }

// Spool reads all of src so the caller learns its length before sending
// it. The first memLimit bytes are kept in memory; past that everything
// goes to an unnamed temporary file (removed as soon as it is created, so
// nothing is left behind even on a crash), up to fileLimit bytes in all.
// Past fileLimit it returns a *TooLargeError (errors.Is(err, ErrTooLarge)).
// ctx is checked between reads. The caller must Close the returned reader.
func Spool(ctx context.Context, src io.Reader, memLimit, fileLimit int64) (io.ReadCloser, int64, error) {
	sw := newSpoolWriter(ctx, memLimit, fileLimit)
	buf := make([]byte, 128<<10)
	for {
		if err := ctx.Err(); err != nil {
			sw.discard()
			return nil, 0, err
		}
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := sw.Write(buf[:n]); werr != nil {
				sw.discard()
				return nil, 0, werr
			}
		}
		if err == io.EOF {
			return sw.finish()
		}
		if err != nil {
			sw.discard()
			return nil, 0, err
		}
	}
}

// RedactSpooled redacts src as kind into a spool (see Spool) and returns
// the output with its length: the way to send a structured or
// length-changing redaction with a Content-Length.
func (r *Redactor) RedactSpooled(ctx context.Context, src io.Reader, kind Kind, memLimit, fileLimit int64) (io.ReadCloser, int64, error) {
	sw := newSpoolWriter(ctx, memLimit, fileLimit)
	if _, err := r.Redact(sw, src, kind); err != nil {
		sw.discard()
		return nil, 0, err
	}
	return sw.finish()
}

// spoolWriter is the memory-then-file buffer behind Spool.
type spoolWriter struct {
	ctx       context.Context
	memLimit  int64
	fileLimit int64
	mem       bytes.Buffer
	f         *os.File
	n         int64
}

func newSpoolWriter(ctx context.Context, memLimit, fileLimit int64) *spoolWriter {
	return &spoolWriter{ctx: ctx, memLimit: max(memLimit, 0), fileLimit: max(fileLimit, memLimit)}
}

func (s *spoolWriter) Write(p []byte) (int, error) {
	if err := s.ctx.Err(); err != nil {
		return 0, err
	}
	if s.n+int64(len(p)) > s.fileLimit {
		return 0, &TooLargeError{Limit: s.fileLimit}
	}
	if s.f == nil && s.n+int64(len(p)) <= s.memLimit {
		s.mem.Write(p)
		s.n += int64(len(p))
		return len(p), nil
	}
	if s.f == nil {
		f, err := os.CreateTemp("", "pii-spool-*")
		if err != nil {
			return 0, err
		}
		// Unlink now: the open file lives on, and no path is left to leak.
		os.Remove(f.Name())
		s.f = f
		if _, err := f.Write(s.mem.Bytes()); err != nil {
			return 0, err
		}
		s.mem = bytes.Buffer{}
	}
	n, err := s.f.Write(p)
	s.n += int64(n)
	return n, err
}

func (s *spoolWriter) discard() {
	if s.f != nil {
		s.f.Close()
		s.f = nil
	}
	s.mem = bytes.Buffer{}
}

func (s *spoolWriter) finish() (io.ReadCloser, int64, error) {
	if s.f == nil {
		return io.NopCloser(bytes.NewReader(s.mem.Bytes())), s.n, nil
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		s.discard()
		return nil, 0, err
	}
	return s.f, s.n, nil
}
