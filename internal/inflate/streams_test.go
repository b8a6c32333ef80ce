package inflate

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"encoding/binary"
	"hash/adler32"
	"image"
	"image/png"
	"io"
	"math/bits"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/opaprules/opaprules/internal/reftest"
)

// Inputs for round trips and benchmarks.

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// text is pseudo-English with a Zipf-like word distribution, punctuation
// and line breaks: compresses like prose (about 3:1 at level 6).
func text(n int, seed uint64) []byte {
	words := strings.Fields(`the of and to in a is that for it as was with be by on not he
		this are or his from at which but have an they you were her she there been one all
		would their we him has when who will more no if out so said what up its about into
		than them can only other new some could time these two may then do first any my now
		such like our over man me even most made after also did many before must through
		back years where much your way well down should because each just those people how
		too little state good very make world still own see men work long get here between
		both life being under never day same another know while last might us great old
		year off come since against go came right used take three bucket object rule resize
		watermark redirect header function compute access point thumbnail quality`)
	r := rand.New(rand.NewPCG(seed, 2))
	var b bytes.Buffer
	col := 0
	for b.Len() < n {
		w := words[int(float64(len(words))*r.Float64()*r.Float64())]
		if r.IntN(12) == 0 {
			w = strings.ToUpper(w[:1]) + w[1:]
		}
		b.WriteString(w)
		col += len(w) + 1
		switch {
		case r.IntN(9) == 0:
			b.WriteString(", ")
		case r.IntN(14) == 0:
			b.WriteString(". ")
		case col > 72:
			b.WriteByte('\n')
			col = 0
		default:
			b.WriteByte(' ')
		}
	}
	return b.Bytes()[:n]
}

func runs(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 3))
	b := make([]byte, 0, n)
	for len(b) < n {
		c := byte(r.IntN(4))
		for k := r.IntN(2000); k > 0 && len(b) < n; k-- {
			b = append(b, c)
		}
	}
	return b
}

// photo is reftest.Photo with film grain, so that it compresses like a
// photograph rather than like a gradient.
func photo(w, h int) *image.NRGBA {
	m := reftest.Photo(w, h, false)
	r := rand.New(rand.NewPCG(7, 7))
	for i := range m.Pix {
		if i%4 == 3 {
			continue
		}
		v := int(m.Pix[i]) + r.IntN(9) - 4
		m.Pix[i] = uint8(max(0, min(255, v)))
	}
	return m
}

// pngRows is the photo's rows as a PNG encoder filters them before
// compression: a filter byte (Sub) and RGB deltas.
func pngRows(w, h int) []byte {
	m := photo(w, h)
	out := make([]byte, 0, h*(1+3*w))
	for y := range h {
		out = append(out, 1)
		row := m.Pix[y*m.Stride:]
		var prev [3]byte
		for x := range w {
			for c := range 3 {
				v := row[4*x+c]
				out = append(out, v-prev[c])
				prev[c] = v
			}
		}
	}
	return out
}

// idat concatenates the IDAT payloads of a PNG file: its zlib stream.
func idat(t testing.TB, file []byte) []byte {
	t.Helper()
	if len(file) < 8 || string(file[1:4]) != "PNG" {
		t.Fatal("not a PNG file")
	}
	var z []byte
	for p := 8; p+8 <= len(file); {
		size := int(binary.BigEndian.Uint32(file[p:]))
		kind := string(file[p+4 : p+8])
		if p+12+size > len(file) {
			t.Fatal("truncated PNG chunk")
		}
		if kind == "IDAT" {
			z = append(z, file[p+8:p+8+size]...)
		}
		p += 12 + size
	}
	return z
}

// photoIDAT is the zlib stream image/png writes for the photo at its
// default compression.
func photoIDAT(t testing.TB, w, h int) []byte {
	m := photo(w, h)
	rgb := image.NewRGBA(m.Rect) // opaque: image/png writes 8-bit RGB
	copy(rgb.Pix, m.Pix)
	var b bytes.Buffer
	if err := png.Encode(&b, rgb); err != nil {
		t.Fatal(err)
	}
	return idat(t, b.Bytes())
}

type input struct {
	name string
	data []byte
}

// inputs are made once per test binary: the race detector makes them slow.
var inputs = sync.OnceValue(func() []input {
	return []input{
		{"empty", nil},
		{"one", []byte{'x'}},
		{"random-1k", randomBytes(1000, 1)},
		{"text-10k", text(10_000, 1)},
		{"runs-100k", runs(100_000, 1)},
		{"random-70k", randomBytes(70_000, 2)},
		{"pngrows-300x200", pngRows(300, 200)},
		{"text-1.2M", text(1_200_000, 2)},
		{"zeros-200k", make([]byte, 200_000)},
	}
})

// Compressors.

func deflate(t testing.TB, data []byte, level int) []byte {
	return compress(t, data, func(w io.Writer) (io.WriteCloser, error) { return flate.NewWriter(w, level) })
}

func zlibBytes(t testing.TB, data []byte, level int) []byte {
	return compress(t, data, func(w io.Writer) (io.WriteCloser, error) { return zlib.NewWriterLevel(w, level) })
}

// compress writes data through the writer newWriter makes.
func compress(t testing.TB, data []byte, newWriter func(io.Writer) (io.WriteCloser, error)) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := newWriter(&b)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// stdRaw and stdZlib decode with the standard library, reading at most
// limit+1 bytes of output. consumed is how much of src compress/flate read,
// which is exactly the stream: it reads a byte at a time from a ByteReader.
func stdRaw(src []byte, limit int) (out []byte, consumed int, err error) {
	r := bytes.NewReader(src)
	out, err = io.ReadAll(io.LimitReader(flate.NewReader(r), int64(limit)+1))
	return out, len(src) - r.Len(), err
}

func stdZlib(src []byte, limit int) ([]byte, error) {
	zr, err := zlib.NewReader(bytes.NewReader(src))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(io.LimitReader(zr, int64(limit)+1))
}

// bitWriter writes a DEFLATE stream by hand: fields least significant bit
// first, Huffman codes most significant bit first.
type bitWriter struct {
	out []byte
	acc uint64
	n   uint
}

func (w *bitWriter) bits(v uint64, n uint) {
	w.acc |= v << w.n
	w.n += n
	for w.n >= 8 {
		w.out = append(w.out, byte(w.acc))
		w.acc >>= 8
		w.n -= 8
	}
}

func (w *bitWriter) code(c uint16, n uint) {
	w.bits(uint64(bits.Reverse16(c)>>(16-n)), n)
}

func (w *bitWriter) align() {
	if w.n > 0 {
		w.bits(0, 8-w.n)
	}
}

func (w *bitWriter) bytes() []byte {
	w.align()
	return w.out
}

// fixedLit writes literal/length symbol s with the fixed code.
func (w *bitWriter) fixedLit(s int) {
	switch {
	case s < 144:
		w.code(uint16(0x30+s), 8)
	case s < 256:
		w.code(uint16(0x190+s-144), 9)
	case s < 280:
		w.code(uint16(s-256), 7)
	default:
		w.code(uint16(0xc0+s-280), 8)
	}
}

var (
	lengthBase  = [29]int{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lengthExtra = [29]uint{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase    = [30]int{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra   = [30]uint{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
)

// fixedMatch writes a match with the fixed code, choosing the highest
// length code that reaches length (so 258 is code 285).
func (w *bitWriter) fixedMatch(length, dist int) {
	i := 28
	for lengthBase[i] > length {
		i--
	}
	w.fixedLit(257 + i)
	w.bits(uint64(length-lengthBase[i]), lengthExtra[i])
	j := 29
	for distBase[j] > dist {
		j--
	}
	w.code(uint16(j), 5)
	w.bits(uint64(dist-distBase[j]), distExtra[j])
}

func (w *bitWriter) stored(final bool, data []byte) {
	w.bits(b2u(final), 1)
	w.bits(0, 2)
	w.align()
	w.bits(uint64(len(data)), 16)
	w.bits(uint64(^uint16(len(data))), 16)
	w.out = append(w.out, data...)
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// canonical returns the canonical Huffman codes for lens (RFC 1951 3.2.2).
func canonical(lens []uint8) []uint16 {
	var count, next [16]uint16
	for _, l := range lens {
		count[l]++
	}
	count[0] = 0
	code := uint16(0)
	for l := 1; l < 16; l++ {
		code = (code + count[l-1]) << 1
		next[l] = code
	}
	codes := make([]uint16, len(lens))
	for s, l := range lens {
		if l > 0 {
			codes[s] = next[l]
			next[l]++
		}
	}
	return codes
}

// dynamicHeader writes a dynamic block header for the given code lengths,
// sending each length with a plain 4-bit code-length code, and returns the
// codes to write symbols with.
func (w *bitWriter) dynamicHeader(final bool, lit, dist []uint8) (litCodes, distCodes []uint16) {
	w.bits(b2u(final), 1)
	w.bits(2, 2)
	w.bits(uint64(len(lit)-257), 5)
	w.bits(uint64(len(dist)-1), 5)
	w.bits(19-4, 4)
	for _, s := range codeOrder {
		if s < 16 {
			w.bits(4, 3)
		} else {
			w.bits(0, 3)
		}
	}
	for _, l := range append(append([]uint8{}, lit...), dist...) {
		w.code(uint16(l), 4) // lengths 0-15 have 4-bit codes equal to themselves
	}
	return canonical(lit), canonical(dist)
}

func zlibWrap(raw, data []byte) []byte {
	z := append([]byte{0x78, 0x9c}, raw...)
	return binary.BigEndian.AppendUint32(z, adler32.Checksum(data))
}
