package jpegdec

import "encoding/binary"

// lutBits is the Huffman lookahead. Nearly all codes in photographic JPEGs
// are at most 10 bits, and with the magnitude bits most AC symbols fit too:
// 10 bits decode 0.95× the time of 9 on BenchmarkDecode4000x3000 (1/2
// scale), and 2-4% off a real 800 px thumbnail request. An AC table's
// lookups are 10 KB; 11 bits measured no better on real pictures.
const lutBits = 10

// huffTable is a canonical Huffman table with a direct lookup for short
// codes and the classic maxcode/valptr walk for long ones.
type huffTable struct {
	// fast maps the next lutBits bits to len<<8|symbol, or 0 if the code is
	// longer than lutBits.
	fast    [1 << lutBits]uint16
	maxcode [17]int32 // largest code of each length, -1 when none
	valptr  [17]int32 // index of a length's first symbol minus its first code
	vals    [256]uint8
	defined bool
}

// acTable is an AC table: the code lookup, plus lookups that decode a
// symbol and its magnitude bits in one step. DC tables go without them.
type acTable struct {
	huffTable
	// fastAC decodes code and magnitude bits in one step when both fit in
	// the lookahead: value<<8 | run<<4 | total length. 0 means "not
	// available here" (also for EOB/ZRL, which have no value).
	fastAC [1 << lutBits]int32
	// fastSeq, for sequential scans, is fastAC that also takes the EOB
	// (run 64, which ends the block) and ZRL (run 15, value 0) symbols:
	// value<<11 | run<<4 | total length. Sequential blocks end in an EOB
	// nearly always, and with it in the table the hot loop never leaves its
	// fast path for it.
	fastSeq [1 << lutBits]int32
}

func (h *huffTable) build(counts *[16]int, syms []byte) error {
	*h = huffTable{}
	copy(h.vals[:], syms)
	code, k := int32(0), int32(0)
	for l := 1; l <= 16; l++ {
		n := int32(counts[l-1])
		if code+n > 1<<l {
			return FormatError("bad Huffman table")
		}
		h.valptr[l] = k - code
		if n == 0 {
			h.maxcode[l] = -1
		} else {
			h.maxcode[l] = code + n - 1
		}
		if l <= lutBits {
			for i := int32(0); i < n; i++ {
				c := code + i
				shift := uint(lutBits - l)
				for j := c << shift; j < (c+1)<<shift; j++ {
					h.fast[j] = uint16(l)<<8 | uint16(syms[k+i])
				}
			}
		}
		code = (code + n) << 1
		k += n
	}
	h.defined = true
	return nil
}

func (h *acTable) build(counts *[16]int, syms []byte) error {
	h.fastAC, h.fastSeq = [1 << lutBits]int32{}, [1 << lutBits]int32{}
	if err := h.huffTable.build(counts, syms); err != nil {
		return err
	}
	for j, e := range h.fast {
		if e == 0 {
			continue
		}
		l, sym := uint(e>>8), uint8(e)
		r, s := int32(sym>>4), uint(sym&15)
		switch {
		case sym == 0x00:
			h.fastSeq[j] = 64<<4 | int32(l)
			continue
		case sym == 0xF0:
			h.fastSeq[j] = 15<<4 | int32(l)
			continue
		case s == 0 || l+s > lutBits:
			continue
		}
		m := (int32(j) >> (lutBits - l - s)) & (1<<s - 1)
		v := extend(m, s)
		h.fastAC[j] = v<<8 | r<<4 | int32(l+s)
		h.fastSeq[j] = v<<11 | r<<4 | int32(l+s)
	}
	return nil
}

// extend turns s raw magnitude bits into a signed value (T.81 F.2.2.1).
func extend(v int32, s uint) int32 {
	if v < 1<<(s-1) {
		return v - 1<<s + 1
	}
	return v
}

// The entropy decoder keeps up to 64 bits MSB-first in d.bits, d.nbits of
// them valid. Bits below the valid ones are either zero or the true next
// bits of the stream, which lets the fast refill OR in a whole 8-byte load.

const (
	lsbs = 0x0101010101010101
	msbs = 0x8080808080808080
	// maxFake is how many zero bytes past a marker or the end of input we
	// invent before calling the data truncated. A valid stream never
	// consumes them; the decoder only peeks at up to one refill's worth.
	maxFake = 16
)

func (d *decoder) resetBits() {
	d.bits, d.nbits, d.fake = 0, 0, 0
}

// fill tops the bit buffer up to at least 57 bits. Callers call it when
// fewer than 32 bits are left, enough for one Huffman code plus its
// magnitude bits.
func (d *decoder) fill(bits uint64, n uint) (uint64, uint) {
	if p := d.src.pos; p+8 <= len(d.src.buf) {
		v := binary.BigEndian.Uint64(d.src.buf[p:])
		if (^v-lsbs)&v&msbs == 0 { // no 0xFF byte: no stuffing, no marker
			k := 7 - n>>3 // whole bytes that fit, leaving n ≥ 56
			d.src.pos = p + int(k)
			return bits | v>>n, n + k<<3
		}
	}
	return d.fillSlow(bits, n)
}

func (d *decoder) fillSlow(bits uint64, n uint) (uint64, uint) {
	buf, pos := d.src.buf, d.src.pos
	for n <= 56 {
		var b byte
		if pos < len(buf) {
			b = buf[pos]
			if b == 0xff {
				if pos+1 < len(buf) && buf[pos+1] == 0 {
					pos += 2
				} else {
					// A marker: the segment is over. Stay on it.
					b = 0
					d.fake++
				}
			} else {
				pos++
			}
		} else {
			d.fake++
		}
		bits |= uint64(b) << (56 - n)
		n += 8
	}
	d.src.pos = pos
	if d.fake > maxFake && d.err == nil {
		d.err = errTruncated
	}
	return bits, n
}

// decodeHuff decodes one symbol. n must be at least 16.
func (d *decoder) decodeHuff(h *huffTable, bits uint64, n uint) (uint8, uint64, uint) {
	if e := h.fast[bits>>(64-lutBits)]; e != 0 {
		l := uint(e >> 8)
		return uint8(e), bits << l, n - l
	}
	for l := uint(lutBits + 1); l <= 16; l++ {
		c := int32(bits >> (64 - l))
		if c <= h.maxcode[l] {
			return h.vals[uint8(c+h.valptr[l])], bits << l, n - l
		}
	}
	if d.err == nil {
		d.err = FormatError("bad Huffman code")
	}
	return 0, bits, n
}

// endSegment checks that the entropy decoder did not eat into invented
// bits, then drops the buffer so the marker parser resumes at the marker.
func (d *decoder) endSegment() error {
	if d.err != nil {
		return d.err
	}
	if d.fake > 0 && d.nbits < uint(d.fake)*8 {
		return errTruncated
	}
	d.resetBits()
	return nil
}

// restart consumes the expected RSTn marker after a restart interval,
// skipping any junk before it as image/jpeg does.
func (d *decoder) restart(next *byte) error {
	if err := d.endSegment(); err != nil {
		return err
	}
	buf := d.src.buf
	for pos := d.src.pos; pos+1 < len(buf); pos++ {
		if buf[pos] != 0xff {
			continue
		}
		m := buf[pos+1]
		if m == 0 || m == 0xff {
			continue
		}
		if m != mRST0+*next {
			return FormatError("bad RST marker")
		}
		d.src.pos = pos + 2
		*next = (*next + 1) & 7
		return nil
	}
	return errTruncated
}
