package inflate

import (
	"bytes"
	"errors"
	"testing"
)

// fuzzLimit bounds the output of both decoders in the fuzz targets.
const fuzzLimit = 1 << 18

// compareRaw holds ours to compress/flate on src: if compress/flate
// decodes it within limit bytes, ours gives the same bytes and consumes
// the same input; if ours succeeds, so does compress/flate, identically;
// if compress/flate decodes more than limit bytes, ours says ErrOutputFull.
func compareRaw(t *testing.T, src []byte, limit int) {
	t.Helper()
	want, wantConsumed, stdErr := stdRaw(src, limit)
	dst := make([]byte, limit)
	n, consumed, err := Raw(dst, src)
	switch {
	case stdErr == nil && len(want) > limit:
		if !errors.Is(err, ErrOutputFull) {
			t.Fatalf("compress/flate decodes more than %d bytes; ours: n %d err %v", limit, n, err)
		}
	case stdErr == nil:
		if err != nil {
			t.Fatalf("compress/flate decodes %d bytes; ours fails after %d: %v", len(want), n, err)
		}
		if !bytes.Equal(dst[:n], want) || consumed != wantConsumed {
			t.Fatalf("ours: %d bytes, consumed %d; compress/flate: %d bytes, consumed %d (equal bytes %v)",
				n, consumed, len(want), wantConsumed, bytes.Equal(dst[:n], want))
		}
	case err == nil:
		t.Fatalf("ours decodes %d bytes; compress/flate fails: %v", n, stdErr)
	}
}

func compareZlib(t *testing.T, src []byte, limit int) {
	t.Helper()
	want, stdErr := stdZlib(src, limit)
	dst := make([]byte, limit)
	n, err := Zlib(dst, src)
	switch {
	case stdErr == nil && len(want) > limit:
		if !errors.Is(err, ErrOutputFull) {
			t.Fatalf("compress/zlib decodes more than %d bytes; ours: n %d err %v", limit, n, err)
		}
	case stdErr == nil:
		if err != nil {
			t.Fatalf("compress/zlib decodes %d bytes; ours fails after %d: %v", len(want), n, err)
		}
		if !bytes.Equal(dst[:n], want) {
			t.Fatalf("ours: %d bytes; compress/zlib: %d bytes", n, len(want))
		}
	case err == nil:
		t.Fatalf("ours decodes %d bytes; compress/zlib fails: %v", n, stdErr)
	}
}

// seeds are the round-trip and hand-built streams, raw.
func seeds(f *testing.F) [][]byte {
	var out [][]byte
	for _, in := range inputs() {
		if len(in.data) > fuzzLimit {
			continue
		}
		for _, level := range levels {
			out = append(out, deflate(f, in.data, level))
		}
	}
	for _, e := range edges() {
		out = append(out, e.raw)
	}
	return out
}

func FuzzRaw(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		compareRaw(t, src, fuzzLimit)
	})
}

func FuzzZlib(f *testing.F) {
	for _, in := range inputs() {
		if len(in.data) <= fuzzLimit {
			for _, level := range levels {
				f.Add(zlibBytes(f, in.data, level))
			}
		}
	}
	for _, e := range edges() {
		f.Add(zlibWrap(e.raw, e.want))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		compareZlib(t, src, fuzzLimit)
	})
}
