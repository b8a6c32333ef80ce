package jpegenc

import (
	"encoding/binary"
	"math/bits"
)

// bitWriter packs entropy-coded bits MSB first, stuffing a zero byte after
// every 0xFF.
type bitWriter struct {
	buf []byte
	acc uint64 // the low n bits are pending
	n   uint
}

// put appends the low n bits of v (n ≤ 32, v < 1<<n).
func (w *bitWriter) put(v uint32, n uint) {
	w.acc = w.acc<<n | uint64(v)
	w.n += n
	if w.n >= 32 {
		w.n -= 32
		x := uint32(w.acc >> w.n)
		// A byte of x is 0xFF when the same byte of ^x is zero.
		if y := ^x; (y-0x01010101)&^y&0x80808080 == 0 {
			w.buf = binary.BigEndian.AppendUint32(w.buf, x)
			return
		}
		for s := 24; s >= 0; s -= 8 {
			b := byte(x >> s)
			w.buf = append(w.buf, b)
			if b == 0xFF {
				w.buf = append(w.buf, 0)
			}
		}
	}
}

// flush pads the last byte with ones (T.81 F.1.2.3).
func (w *bitWriter) flush() {
	if pad := (8 - w.n%8) % 8; pad > 0 {
		w.put(1<<pad-1, pad)
	}
	for w.n >= 8 {
		w.n -= 8
		b := byte(w.acc >> w.n)
		w.buf = append(w.buf, b)
		if b == 0xFF {
			w.buf = append(w.buf, 0)
		}
	}
	w.acc, w.n = 0, 0
}

func (w *bitWriter) marker(m byte, payload ...[]byte) {
	n := 2
	for _, p := range payload {
		n += len(p)
	}
	w.buf = append(w.buf, 0xFF, m, byte(n>>8), byte(n))
	for _, p := range payload {
		w.buf = append(w.buf, p...)
	}
}

// magnitude returns the category of v (its bit length) and the bits that
// follow its symbol: v itself when positive, v-1 in ones' complement form
// when negative.
func magnitude(v int32) (uint, uint32) {
	a := v
	if v < 0 {
		a = -v
		v--
	}
	n := uint(bits.Len32(uint32(a)))
	return n, uint32(v) & (1<<n - 1)
}
