package inflate

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
)

var levels = []int{-2, 0, 1, 6, 9}

func TestRoundTrip(t *testing.T) {
	for _, in := range inputs() {
		for _, level := range levels {
			t.Run(fmt.Sprintf("%s/level%d", in.name, level), func(t *testing.T) {
				raw := deflate(t, in.data, level)
				dst := make([]byte, len(in.data))
				n, consumed, err := Raw(dst, raw)
				if err != nil || n != len(in.data) || consumed != len(raw) {
					t.Fatalf("Raw: n %d consumed %d err %v, want %d %d nil", n, consumed, err, len(in.data), len(raw))
				}
				if !bytes.Equal(dst, in.data) {
					t.Fatal("Raw: bytes differ")
				}
				z := zlibBytes(t, in.data, level)
				clear(dst)
				n, err = Zlib(dst, z)
				if err != nil || n != len(in.data) || !bytes.Equal(dst, in.data) {
					t.Fatalf("Zlib: n %d err %v, want %d nil (bytes equal %v)", n, err, len(in.data), bytes.Equal(dst, in.data))
				}
				// Trailing bytes are not part of the stream.
				n, consumed, err = Raw(dst, append(raw[:len(raw):len(raw)], 0xff, 0xfe, 0xfd))
				if err != nil || n != len(in.data) || consumed != len(raw) {
					t.Fatalf("Raw with trailing bytes: n %d consumed %d err %v", n, consumed, err)
				}
				if n, err = Zlib(dst, append(z[:len(z):len(z)], 1, 2, 3, 4, 5, 6, 7, 8, 9)); err != nil || n != len(in.data) {
					t.Fatalf("Zlib with trailing bytes: n %d err %v", n, err)
				}
			})
		}
	}
}

// TestPNG decodes image/png's own IDAT stream.
func TestPNG(t *testing.T) {
	z := photoIDAT(t, 257, 131)
	want, err := stdZlib(z, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]byte, len(want))
	if n, err := Zlib(dst, z); err != nil || n != len(want) || !bytes.Equal(dst, want) {
		t.Fatalf("n %d err %v", n, err)
	}
}

// edge is a hand-built raw DEFLATE stream with the output it must give.
type edge struct {
	name string
	raw  []byte
	want []byte
}

func edges() []edge {
	var out []edge
	add := func(name string, w *bitWriter, want []byte) {
		out = append(out, edge{name, w.bytes(), want})
	}
	{
		w := &bitWriter{}
		w.bits(1, 1)
		w.bits(1, 2)
		w.fixedLit('a')
		w.fixedMatch(10, 1)
		w.fixedLit(256)
		add("distance 1", w, bytes.Repeat([]byte{'a'}, 11))
	}
	{
		// 32768 bytes stored, then a fixed block reaching all the way back.
		data := randomBytes(32768, 9)
		w := &bitWriter{}
		w.stored(false, data)
		w.bits(1, 1)
		w.bits(1, 2)
		w.fixedMatch(258, 32768)
		w.fixedMatch(3, 32768)
		w.fixedLit(256)
		want := append(append(bytes.Clone(data), data[:258]...), data[258:261]...)
		add("distance 32768", w, want)
	}
	{
		w := &bitWriter{}
		w.bits(1, 1)
		w.bits(1, 2)
		for _, c := range []byte("abcdefgh") {
			w.fixedLit(int(c))
		}
		w.fixedMatch(258, 8) // code 285
		w.fixedLit(284)      // code 284 with all five extra bits set:
		w.bits(31, 5)        // 227+31 = 258, the other way to say it
		w.code(7, 5)         // distance 16: code 7 (13) with
		w.bits(3, 2)         // its two extra bits 3
		w.fixedMatch(3, 3)   // the shortest match
		w.fixedMatch(3, 2)   // overlapping short matches
		w.fixedMatch(3, 1)
		w.fixedMatch(17, 5)
		w.fixedLit(256)
		want := []byte("abcdefgh")
		for range 258 {
			want = append(want, want[len(want)-8])
		}
		for range 258 {
			want = append(want, want[len(want)-16])
		}
		for _, m := range [][2]int{{3, 3}, {3, 2}, {3, 1}, {17, 5}} {
			for range m[0] {
				want = append(want, want[len(want)-m[1]])
			}
		}
		add("length 258 two ways, length 3", w, want)
	}
	{
		// A dynamic block with only its end-of-block code: literal/length
		// lengths for 'x' and 256 only, no distance code.
		lit := make([]uint8, 257)
		lit['x'], lit[256] = 1, 1
		w := &bitWriter{}
		lc, _ := w.dynamicHeader(true, lit, []uint8{0})
		w.code(lc[256], 1)
		add("empty dynamic block", w, nil)
	}
	{
		// Literals only, with zero distance codes (one length-0 entry).
		lit := make([]uint8, 257)
		lit['a'], lit['b'], lit[256] = 1, 2, 2
		w := &bitWriter{}
		lc, _ := w.dynamicHeader(true, lit, []uint8{0})
		for _, c := range []int{'a', 'b', 'a', 'a', 256} {
			w.code(lc[c], uint(lit[c]))
		}
		add("literals only, no distance codes", w, []byte("abaa"))
	}
	{
		// A distance tree of one code (the degenerate incomplete code
		// zlib and compress/flate accept): distance 1 as the 1-bit code 0.
		lit := make([]uint8, 258)
		lit['z'], lit[256], lit[257] = 1, 2, 2 // 257: length 3
		w := &bitWriter{}
		lc, dc := w.dynamicHeader(false, lit, []uint8{1})
		w.code(lc['z'], 1)
		w.code(lc[257], 2)
		w.code(dc[0], 1)
		w.code(lc[256], 2)
		// Then a last, empty fixed block.
		w.bits(1, 1)
		w.bits(1, 2)
		w.fixedLit(256)
		add("one distance code", w, []byte("zzzz"))
	}
	{
		// All three block types, with long codes (subtables) in the
		// dynamic block: lengths 1..15 and two of 15 make a complete code.
		w := &bitWriter{}
		w.stored(false, []byte("stored "))
		w.bits(0, 1)
		w.bits(1, 2)
		for _, c := range []byte("fixed ") {
			w.fixedLit(int(c))
		}
		w.fixedLit(256)
		lit := make([]uint8, 286)
		syms := []int{'e', 't', 'a', 'o', 'i', 'n', ' ', 's', 'h', 'r', 'd', 'l', 256, 'c', 'u', 285}
		for i, s := range syms {
			lit[s] = uint8(min(i+1, 15))
		}
		dist := make([]uint8, 30)
		dist[0], dist[29] = 1, 1
		lc, dc := w.dynamicHeader(true, lit, dist)
		want := []byte("stored fixed ")
		for _, s := range []int{'d', 'u', 'c', 'e', 'l', 'c', 'u'} {
			w.code(lc[s], uint(lit[s]))
			want = append(want, byte(s))
		}
		w.code(lc[285], uint(lit[285]))
		w.code(dc[0], 1)
		for range 258 {
			want = append(want, want[len(want)-1])
		}
		w.code(lc[256], uint(lit[256]))
		add("stored, fixed, dynamic", w, want)
	}
	{
		// Stored blocks around 64 KiB: the largest, an empty one, one more.
		data := randomBytes(65535+65536+1, 5)
		w := &bitWriter{}
		w.stored(false, data[:65535])
		w.stored(false, nil)
		w.stored(false, data[65535:65535+65535])
		w.stored(true, data[65535+65535:])
		add("stored 64 KiB", w, data)
	}
	return out
}

func TestEdges(t *testing.T) {
	for _, e := range edges() {
		t.Run(e.name, func(t *testing.T) {
			// What compress/flate makes of it is the reference.
			std, stdConsumed, err := stdRaw(e.raw, 1<<30)
			if err != nil {
				t.Fatalf("compress/flate: %v", err)
			}
			if !bytes.Equal(std, e.want) {
				t.Fatalf("compress/flate gives %d bytes, the test wants %d: the test stream is wrong", len(std), len(e.want))
			}
			dst := make([]byte, len(e.want))
			n, consumed, err := Raw(dst, e.raw)
			if err != nil || n != len(e.want) || consumed != stdConsumed || !bytes.Equal(dst, e.want) {
				t.Fatalf("n %d consumed %d (want %d) err %v", n, consumed, stdConsumed, err)
			}
			z := zlibWrap(e.raw, e.want)
			if n, err := Zlib(dst, z); err != nil || n != len(e.want) || !bytes.Equal(dst, e.want) {
				t.Fatalf("Zlib: n %d err %v", n, err)
			}
		})
	}
}

// TestOutputBound: dst exactly the size of the output works, one byte less
// is ErrOutputFull, on streams that end in every kind of symbol.
func TestOutputBound(t *testing.T) {
	var cases []edge
	for _, in := range inputs()[1:] {
		for _, level := range levels {
			cases = append(cases, edge{fmt.Sprintf("%s/level%d", in.name, level), deflate(t, in.data, level), in.data})
		}
	}
	cases = append(cases, edges()...)
	for _, c := range cases {
		if len(c.want) == 0 {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			dst := make([]byte, len(c.want)+1)
			if n, _, err := Raw(dst[:len(c.want)], c.raw); err != nil || n != len(c.want) {
				t.Fatalf("exact: n %d err %v", n, err)
			}
			dst[len(c.want)-1] = 0xa5
			n, _, err := Raw(dst[:len(c.want)-1], c.raw)
			if !errors.Is(err, ErrOutputFull) {
				t.Fatalf("one byte short: n %d err %v, want ErrOutputFull", n, err)
			}
			if dst[len(c.want)-1] != 0xa5 {
				t.Fatal("wrote past len(dst)")
			}
			z := zlibWrap(c.raw, c.want)
			if _, err := Zlib(dst[:len(c.want)-1], z); !errors.Is(err, ErrOutputFull) {
				t.Fatalf("Zlib one byte short: err %v, want ErrOutputFull", err)
			}
		})
	}
}

// TestTruncated cuts streams at every byte: always an error (ErrShort, or
// ErrCorrupt when the cut leaves something that is not DEFLATE), never a
// panic or a success.
func TestTruncated(t *testing.T) {
	streams := map[string][]byte{
		"text/level6":    zlibBytes(t, text(3000, 4), 6),
		"text/level-2":   zlibBytes(t, text(3000, 4), -2),
		"random/level0":  zlibBytes(t, randomBytes(3000, 4), 0),
		"pngrows/level9": zlibBytes(t, pngRows(40, 20), 9),
	}
	for _, e := range edges() {
		if len(e.raw) < 5000 {
			streams[e.name] = zlibWrap(e.raw, e.want)
		}
	}
	for name, z := range streams {
		t.Run(name, func(t *testing.T) {
			dst := make([]byte, 1<<20)
			for i := range len(z) {
				n, err := Zlib(dst, z[:i])
				if !errors.Is(err, ErrShort) && !errors.Is(err, ErrCorrupt) {
					t.Fatalf("cut at %d of %d: n %d err %v", i, len(z), n, err)
				}
				if i >= 2 && i < len(z)-4 {
					// The raw stream cut short, with room in dst.
					if _, _, err := Raw(dst, z[2:i]); !errors.Is(err, ErrShort) && !errors.Is(err, ErrCorrupt) {
						t.Fatalf("raw cut at %d: err %v", i-2, err)
					}
				}
			}
		})
	}
}

func TestErrors(t *testing.T) {
	good := zlibBytes(t, text(5000, 3), 6)
	mod := func(f func(z []byte) []byte) []byte { return f(bytes.Clone(good)) }
	w := &bitWriter{}
	w.bits(1, 1)
	w.bits(1, 2)
	w.fixedLit('a')
	w.fixedMatch(3, 2) // one byte written, distance 2
	w.fixedLit(256)
	tooFar := w.bytes()
	w = &bitWriter{}
	w.bits(1, 1)
	w.bits(3, 2)
	blockType3 := w.bytes()
	w = &bitWriter{}
	w.bits(1, 1)
	w.bits(1, 2)
	w.fixedLit(286) // in the fixed code, but no length
	invalidLength := w.bytes()
	w = &bitWriter{}
	w.bits(1, 1)
	w.bits(1, 2)
	w.fixedLit('a')
	w.fixedLit(257)
	w.code(30, 5) // distance code 30
	invalidDistance := w.bytes()
	w = &bitWriter{}
	w.bits(1, 1)
	w.bits(0, 2)
	w.align()
	w.bits(5, 16)
	w.bits(5, 16) // NLEN is not ^LEN
	w.out = append(w.out, "hello"...)
	storedCheck := w.bytes()
	// Over-subscribed: three codes of length 1.
	lit := make([]uint8, 257)
	lit['a'], lit['b'], lit[256] = 1, 1, 1
	w = &bitWriter{}
	w.dynamicHeader(true, lit, []uint8{0})
	overSubscribed := w.bytes()
	// Incomplete: lengths 1 and 2 only.
	lit = make([]uint8, 257)
	lit['a'], lit[256] = 1, 2
	w = &bitWriter{}
	w.dynamicHeader(true, lit, []uint8{0})
	incomplete := w.bytes()
	// The unused code of a one-code distance tree.
	lit = make([]uint8, 258)
	lit['z'], lit[256], lit[257] = 1, 2, 2
	w = &bitWriter{}
	lc, _ := w.dynamicHeader(true, lit, []uint8{1})
	w.code(lc['z'], 1)
	w.code(lc[257], 2)
	w.code(1, 1)
	unusedDistance := w.bytes()
	// A length code in a block whose distance code is empty.
	lit = make([]uint8, 258)
	lit['z'], lit[256], lit[257] = 1, 2, 2
	w = &bitWriter{}
	lc, _ = w.dynamicHeader(true, lit, []uint8{0})
	w.code(lc['z'], 1)
	w.code(lc[257], 2)
	noDistance := w.bytes()

	tests := []struct {
		name string
		z    []byte
		want error
	}{
		{"empty", nil, ErrShort},
		{"one byte", good[:1], ErrShort},
		{"method 7", mod(func(z []byte) []byte { z[0] = 0x77; z[1] = 0x9c + 31 - (0x77<<8|0x9c+31)%31; return z }), ErrCorrupt},
		{"window 64 KiB", []byte{0x88, 0x98, 0x03, 0x00}, ErrCorrupt},
		{"FCHECK", mod(func(z []byte) []byte { z[1]++; return z }), ErrCorrupt},
		{"preset dictionary", []byte{0x78, 0xbb, 0, 0, 0, 1, 0x03, 0x00}, ErrCorrupt},
		{"checksum", mod(func(z []byte) []byte { z[len(z)-1]++; return z }), ErrChecksum},
		{"trailer missing", good[:len(good)-4], ErrShort},
		{"distance too far", zlibWrap(tooFar, []byte("a")), ErrCorrupt},
		{"block type 3", zlibWrap(blockType3, nil), ErrCorrupt},
		{"length symbol 286", zlibWrap(invalidLength, nil), ErrCorrupt},
		{"distance symbol 30", zlibWrap(invalidDistance, nil), ErrCorrupt},
		{"stored NLEN", zlibWrap(storedCheck, nil), ErrCorrupt},
		{"over-subscribed", zlibWrap(overSubscribed, nil), ErrCorrupt},
		{"incomplete", zlibWrap(incomplete, nil), ErrCorrupt},
		{"unused distance code", zlibWrap(unusedDistance, nil), ErrCorrupt},
		{"empty distance code used", zlibWrap(noDistance, nil), ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := make([]byte, 1<<16)
			if _, err := Zlib(dst, tt.z); !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
			// compress/zlib refuses it too.
			if _, err := stdZlib(tt.z, len(dst)); err == nil {
				t.Fatal("compress/zlib accepts it")
			}
		})
	}
}

// TestRandomStreams throws mutated streams at both decoders; the fuzz
// targets do the same at length, this keeps a quick version in every run.
func TestRandomStreams(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	base := [][]byte{
		deflate(t, text(2000, 5), 6),
		deflate(t, pngRows(30, 10), -2),
		deflate(t, runs(5000, 5), 1),
	}
	for i := range 3000 {
		s := bytes.Clone(base[i%len(base)])
		for range 1 + r.IntN(3) {
			s[r.IntN(len(s))] ^= byte(1 << r.IntN(8))
		}
		compareRaw(t, s, 1<<14)
	}
}
