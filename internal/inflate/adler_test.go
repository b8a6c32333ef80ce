package inflate

import (
	"bytes"
	"hash/adler32"
	"testing"
)

func TestAdler32(t *testing.T) {
	data := randomBytes(20_000, 21)
	ff := bytes.Repeat([]byte{0xff}, 20_000) // the largest sums: lane and s2 bounds
	for _, p := range [][]byte{data, ff, make([]byte, 20_000)} {
		for n := range 300 {
			if got, want := adler32Sum(p[:n]), adler32.Checksum(p[:n]); got != want {
				t.Fatalf("%d bytes: %#x, want %#x", n, got, want)
			}
		}
		for _, n := range []int{5503, 5504, 5505, 5552, 5553, 11008, 11009, 20_000} {
			if got, want := adler32Sum(p[:n]), adler32.Checksum(p[:n]); got != want {
				t.Fatalf("%d bytes: %#x, want %#x", n, got, want)
			}
		}
	}
}

func BenchmarkAdler32(b *testing.B) {
	data := randomBytes(1<<20, 22)
	b.Run("ours", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			adler32Sum(data)
		}
	})
	b.Run("hash-adler32", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			adler32.Checksum(data)
		}
	})
}
