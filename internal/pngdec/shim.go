package pngdec

import (
	"bytes"
	"compress/zlib"
	"errors"
	"io"
)

var errOutputFull = errors.New("output full")

// zlibInto is a stand-in for internal/inflate.Zlib.
func zlibInto(dst, src []byte) (int, error) {
	r, err := zlib.NewReader(bytes.NewReader(src))
	if err != nil {
		return 0, err
	}
	n, err := io.ReadFull(r, dst)
	if err != nil {
		return n, err
	}
	var one [1]byte
	if m, _ := r.Read(one[:]); m > 0 {
		return n, errOutputFull
	}
	if _, err := r.Read(one[:]); err != io.EOF {
		return n, err
	}
	return n, nil
}
