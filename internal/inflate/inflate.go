// Package inflate decompresses zlib (RFC 1950) and DEFLATE (RFC 1951)
// streams held whole in memory into a destination of known size.
//
// It exists for the PNG decoder: compress/flate reads bit by bit through an
// io.Reader and copies matches through a 32 KiB sliding window, which made
// it about 45% of a large PNG's decode time. Here the whole input is a
// slice and the whole output is the caller's slice, so the decoder refills
// a 64-bit bit buffer with one 8-byte load, decodes a symbol and its extra
// bits with one table lookup, and copies matches inside dst itself.
//
// dst is the caller's memory bound: a stream that decodes to more than
// len(dst) bytes is refused with ErrOutputFull, never grown into a new
// slice. Any input, hostile or truncated, ends in time linear in
// len(src)+len(dst) with an error or the right bytes.
package inflate

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
)

var (
	// ErrCorrupt reports a stream that breaks RFC 1950/1951: a bad header,
	// an invalid Huffman code, a distance before the start of the output.
	ErrCorrupt = errors.New("inflate: corrupt stream")
	// ErrChecksum reports a zlib stream whose Adler-32 trailer does not
	// match the decompressed bytes.
	ErrChecksum = errors.New("inflate: Adler-32 checksum mismatch")
	// ErrShort reports a stream that ended before its last block (or, for
	// zlib, before its trailer).
	ErrShort = errors.New("inflate: stream ended early")
	// ErrOutputFull reports a stream that decodes to more than len(dst) bytes.
	ErrOutputFull = errors.New("inflate: output larger than the destination")
)

// Zlib decompresses the zlib stream (RFC 1950) at the start of src into dst
// and returns the number of bytes written. It verifies the header (CM=8,
// FCHECK, no preset dictionary) and the Adler-32 trailer. Bytes after the
// trailer are ignored. On error, the count is how far into dst the decoder
// wrote; those bytes are unverified.
func Zlib(dst, src []byte) (int, error) {
	if len(src) < 2 {
		return 0, ErrShort
	}
	cmf, flg := src[0], src[1]
	// The same checks as compress/zlib: method 8, a window of at most
	// 32 KiB, and FCHECK making the 16-bit header a multiple of 31.
	if cmf&0x0f != 8 || cmf>>4 > 7 || (uint(cmf)<<8|uint(flg))%31 != 0 {
		return 0, fmt.Errorf("%w: bad zlib header %#02x %#02x", ErrCorrupt, cmf, flg)
	}
	if flg&0x20 != 0 {
		return 0, fmt.Errorf("%w: zlib stream needs a preset dictionary", ErrCorrupt)
	}
	d := getDecoder(dst, src, 2)
	defer decoders.Put(d)
	err := d.run()
	n := d.n
	if err != nil {
		return n, err
	}
	end := d.consumed()
	if len(src)-end < 4 {
		return n, ErrShort
	}
	if adler32Sum(dst[:n]) != binary.BigEndian.Uint32(src[end:]) {
		return n, ErrChecksum
	}
	return n, nil
}

// Raw decompresses the DEFLATE stream (RFC 1951) at the start of src into
// dst; it returns the bytes written and the bytes of src consumed (rounded
// up to a whole byte).
func Raw(dst, src []byte) (n, consumed int, err error) {
	d := getDecoder(dst, src, 0)
	defer decoders.Put(d)
	err = d.run()
	return d.n, min(d.consumed(), len(src)), err
}

const (
	// Table entries are uint32:
	//
	//	bit 31      literal (the value is the byte)
	//	bits 16-30  value: literal byte, length or distance base, or a
	//	            subtable's offset in the table
	//	bit 15      subtable pointer (bits 0-5: the subtable's index bits)
	//	bit 14      end of block
	//	bit 13      invalid code (unassigned in an incomplete code, or
	//	            symbols 286-287 and distances 30-31 of the fixed code)
	//	bits 8-11   code length (within this table level)
	//	bits 0-5    bits to consume: code length plus extra bits
	//
	// so that one lookup and one shift decode a length or distance with its
	// extra bits.
	fLiteral = 1 << 31
	fSub     = 1 << 15
	fEOB     = 1 << 14
	fInvalid = 1 << 13

	litBits  = 11 // primary literal/length table: 2 KiB entries
	distBits = 8
	clBits   = 7 // code-length codes are at most 7 bits: no subtables
	litMask  = 1<<litBits - 1
	distMask = 1<<distBits - 1
	// Table sizes bound the primary table plus every subtable: a subtable
	// serves at least one symbol and has at most 2^(15-primary) entries.
	// Powers of two, so that a masked index needs no bounds check.
	litSize  = 8192 // ≥ 2048 + 288·16
	distSize = 4096 // ≥ 256 + 30·128

	maxLit  = 286
	maxDist = 30

	// fastOut is the room in dst the fast loop keeps: a 258-byte match
	// copied in 8-byte words may write 7 bytes past its end.
	fastOut = 258 + 8
)

type decoder struct {
	src []byte
	// pos is the next byte of src to load into bits. Near the end of src it
	// runs up to 8 bytes past len(src), loading zeros; consumed() tells
	// whether any of those were used.
	pos  int
	bits uint64 // the next unread bits, least significant first
	nb   uint   // how many bits of bits are valid
	dst  []byte
	n    int // bytes written to dst

	lit  [litSize]uint32
	dist [distSize]uint32
	cl   [1 << clBits]uint32
	lens [maxLit + maxDist]uint8
}

var decoders = sync.Pool{New: func() any { return new(decoder) }}

func getDecoder(dst, src []byte, pos int) *decoder {
	d := decoders.Get().(*decoder)
	d.src, d.dst, d.pos, d.n, d.bits, d.nb = src, dst, pos, 0, 0, 0
	return d
}

// consumed is the number of bytes of src read so far, counting a partly
// read byte as read.
func (d *decoder) consumed() int {
	return (d.pos*8 - int(d.nb) + 7) / 8
}

// overrun tells whether the decoder used bits past the end of src.
func (d *decoder) overrun() bool {
	return d.pos*8-int(d.nb) > len(d.src)*8
}

func (d *decoder) run() error {
	err := d.blocks()
	if err == nil && d.overrun() {
		err = ErrShort
	}
	if err != nil && err != ErrShort && d.overrun() {
		// Whatever went wrong came from the zeros past the end.
		err = ErrShort
	}
	d.src, d.dst = nil, nil
	return err
}

func (d *decoder) blocks() error {
	for {
		if err := d.refill(); err != nil {
			return err
		}
		final := d.bits & 1
		kind := (d.bits >> 1) & 3
		d.bits >>= 3
		d.nb -= 3
		var err error
		switch kind {
		case 0:
			err = d.stored()
		case 1:
			err = d.huffman(&fixedLit, &fixedDist)
		case 2:
			if err = d.dynamic(); err == nil {
				err = d.huffman(&d.lit, &d.dist)
			}
		default:
			err = fmt.Errorf("%w: block type 3", ErrCorrupt)
		}
		if err != nil {
			return err
		}
		if final == 1 {
			return nil
		}
	}
}

// refill brings nb to at least 56, loading zeros past the end of src; it
// fails once it would need a ninth such byte, because then the stream has
// certainly used bits it does not have.
func (d *decoder) refill() error {
	if d.pos <= len(d.src)-8 {
		d.bits |= binary.LittleEndian.Uint64(d.src[d.pos:]) << (d.nb & 63)
		d.pos += int((63 - d.nb) >> 3)
		d.nb |= 56
		return nil
	}
	for d.nb <= 56 {
		if d.pos < len(d.src) {
			d.bits |= uint64(d.src[d.pos]) << d.nb
		} else if d.pos >= len(d.src)+8 {
			return ErrShort
		}
		d.pos++
		d.nb += 8
	}
	return nil
}

func (d *decoder) stored() error {
	// Drop the rest of the current byte, then give back the whole bytes
	// still in the bit buffer.
	d.nb -= d.nb & 7
	d.pos -= int(d.nb >> 3)
	d.bits, d.nb = 0, 0
	if d.pos+4 > len(d.src) {
		return ErrShort
	}
	size := int(binary.LittleEndian.Uint16(d.src[d.pos:]))
	if uint16(size) != ^binary.LittleEndian.Uint16(d.src[d.pos+2:]) {
		return fmt.Errorf("%w: stored block length check", ErrCorrupt)
	}
	d.pos += 4
	if size > len(d.dst)-d.n {
		return ErrOutputFull
	}
	if size > len(d.src)-d.pos {
		d.n += copy(d.dst[d.n:], d.src[d.pos:])
		d.pos = len(d.src)
		return ErrShort
	}
	copy(d.dst[d.n:d.n+size], d.src[d.pos:])
	d.n += size
	d.pos += size
	return nil
}

// codeOrder is the order of the code-length code lengths (RFC 1951 3.2.7).
var codeOrder = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

// dynamic reads a dynamic block's header into d.lit and d.dist.
func (d *decoder) dynamic() error {
	if err := d.refill(); err != nil {
		return err
	}
	nlit := int(d.bits&31) + 257
	ndist := int(d.bits>>5&31) + 1
	nclen := int(d.bits>>10&15) + 4
	d.bits >>= 14
	d.nb -= 14
	if nlit > maxLit || ndist > maxDist {
		return fmt.Errorf("%w: %d literal/length or %d distance codes", ErrCorrupt, nlit, ndist)
	}
	var cl [19]uint8
	for _, sym := range codeOrder[:nclen] {
		if d.nb < 3 {
			if err := d.refill(); err != nil {
				return err
			}
		}
		cl[sym] = uint8(d.bits & 7)
		d.bits >>= 3
		d.nb -= 3
	}
	if !build(d.cl[:], cl[:], clBits, clTemplate[:]) {
		return fmt.Errorf("%w: bad code-length code", ErrCorrupt)
	}
	lens := d.lens[:nlit+ndist]
	for i := 0; i < len(lens); {
		if d.nb < 7+7 {
			if err := d.refill(); err != nil {
				return err
			}
		}
		e := d.cl[d.bits&(1<<clBits-1)]
		if e&fInvalid != 0 {
			return fmt.Errorf("%w: invalid code-length code", ErrCorrupt)
		}
		d.bits >>= e & 63
		d.nb -= uint(e & 63)
		sym := uint8(e >> 16)
		if sym < 16 {
			lens[i] = sym
			i++
			continue
		}
		var rep int
		var val uint8
		switch sym {
		case 16:
			if i == 0 {
				return fmt.Errorf("%w: repeat with no previous length", ErrCorrupt)
			}
			val = lens[i-1]
			rep = 3 + int(d.bits&3)
			d.bits >>= 2
			d.nb -= 2
		case 17:
			rep = 3 + int(d.bits&7)
			d.bits >>= 3
			d.nb -= 3
		default:
			rep = 11 + int(d.bits&127)
			d.bits >>= 7
			d.nb -= 7
		}
		if rep > len(lens)-i {
			return fmt.Errorf("%w: code lengths repeat past the end", ErrCorrupt)
		}
		for j := range rep {
			lens[i+j] = val
		}
		i += rep
	}
	if !build(d.lit[:], lens[:nlit], litBits, litTemplate[:]) ||
		!build(d.dist[:], lens[nlit:], distBits, distTemplate[:]) {
		return fmt.Errorf("%w: bad Huffman code", ErrCorrupt)
	}
	return nil
}

// save writes the hot loop's registers back into d.
func (d *decoder) save(pos, n int, bits uint64, nb uint) {
	d.pos, d.n, d.bits, d.nb = pos, n, bits, nb
}

var errDistance = fmt.Errorf("%w: distance before the start of the output", ErrCorrupt)
var errCode = fmt.Errorf("%w: invalid Huffman code", ErrCorrupt)

// huffman decodes one Huffman-coded block with the given tables.
func (d *decoder) huffman(lt *[litSize]uint32, dt *[distSize]uint32) error {
	src, dst := d.src, d.dst
	pos, n, bits, nb := d.pos, d.n, d.bits, d.nb

	// The fast loop: 8 bytes of input to load and fastOut bytes of room in
	// dst, so that one refill serves a length and a distance (at most
	// 15+5+15+13 = 48 bits) and no write needs a room check.
	for pos <= len(src)-8 && n <= len(dst)-fastOut {
		bits |= binary.LittleEndian.Uint64(src[pos:]) << (nb & 63)
		pos += int((63 - nb) >> 3)
		nb |= 56

		e := lt[bits&litMask]
		if int32(e) < 0 {
			// Up to three literals from one refill: 3·15 ≤ 56 bits.
			bits >>= e & 63
			nb -= uint(e & 63)
			dst[n] = byte(e >> 16)
			n++
			e = lt[bits&litMask]
			if int32(e) < 0 {
				bits >>= e & 63
				nb -= uint(e & 63)
				dst[n] = byte(e >> 16)
				n++
				e = lt[bits&litMask]
				if int32(e) < 0 {
					bits >>= e & 63
					nb -= uint(e & 63)
					dst[n] = byte(e >> 16)
					n++
				}
			}
			continue
		}
		if e&fSub != 0 {
			bits >>= litBits
			nb -= litBits
			e = lt[(e>>16+uint32(bits)&(1<<(e&63)-1))&(litSize-1)]
			if int32(e) < 0 {
				bits >>= e & 63
				nb -= uint(e & 63)
				dst[n] = byte(e >> 16)
				n++
				continue
			}
		}
		if e&(fEOB|fInvalid) != 0 {
			if e&fInvalid != 0 {
				d.save(pos, n, bits, nb)
				return errCode
			}
			bits >>= e & 63
			nb -= uint(e & 63)
			d.save(pos, n, bits, nb)
			return nil
		}
		length := int(e>>16) + int((bits&(1<<(e&63)-1))>>(e>>8&15))
		bits >>= e & 63
		nb -= uint(e & 63)

		e = dt[bits&distMask]
		if e&fSub != 0 {
			bits >>= distBits
			nb -= distBits
			e = dt[(e>>16+uint32(bits)&(1<<(e&63)-1))&(distSize-1)]
		}
		if e&fInvalid != 0 {
			d.save(pos, n, bits, nb)
			return errCode
		}
		dist := int(e>>16) + int((bits&(1<<(e&63)-1))>>(e>>8&15))
		bits >>= e & 63
		nb -= uint(e & 63)
		if dist > n {
			d.save(pos, n, bits, nb)
			return errDistance
		}

		from := n - dist
		switch {
		case dist >= 8:
			// Each word's source was written before it is read.
			for k := 0; k < length; k += 8 {
				binary.LittleEndian.PutUint64(dst[n+k:n+k+8], binary.LittleEndian.Uint64(dst[from+k:from+k+8]))
			}
		case dist == 1:
			w := uint64(dst[from]) * 0x0101010101010101
			for k := 0; k < length; k += 8 {
				binary.LittleEndian.PutUint64(dst[n+k:n+k+8], w)
			}
		default:
			// The first 8 bytes one at a time; after that the output
			// repeats with period p, the smallest multiple of dist ≥ 8,
			// so words can be copied from p bytes back.
			for k := range 8 {
				dst[n+k] = dst[from+k]
			}
			p := dist * ((8 + dist - 1) / dist)
			for k := 8; k < length; k += 8 {
				binary.LittleEndian.PutUint64(dst[n+k:n+k+8], binary.LittleEndian.Uint64(dst[n+k-p:n+k-p+8]))
			}
		}
		n += length
	}

	// The careful loop, near the end of src or dst: a refill per symbol,
	// zeros past the end of src, a room check per write.
	for {
		if pos <= len(src)-8 {
			bits |= binary.LittleEndian.Uint64(src[pos:]) << (nb & 63)
			pos += int((63 - nb) >> 3)
			nb |= 56
		} else {
			for nb <= 56 {
				if pos < len(src) {
					bits |= uint64(src[pos]) << nb
				} else if pos >= len(src)+8 {
					d.save(pos, n, bits, nb)
					return ErrShort
				}
				pos++
				nb += 8
			}
		}

		e := lt[bits&litMask]
		if e&fSub != 0 {
			bits >>= litBits
			nb -= litBits
			e = lt[(e>>16+uint32(bits)&(1<<(e&63)-1))&(litSize-1)]
		}
		if int32(e) < 0 {
			bits >>= e & 63
			nb -= uint(e & 63)
			if n >= len(dst) {
				d.save(pos, n, bits, nb)
				return ErrOutputFull
			}
			dst[n] = byte(e >> 16)
			n++
			continue
		}
		if e&(fEOB|fInvalid) != 0 {
			if e&fInvalid != 0 {
				d.save(pos, n, bits, nb)
				return errCode
			}
			bits >>= e & 63
			nb -= uint(e & 63)
			d.save(pos, n, bits, nb)
			return nil
		}
		length := int(e>>16) + int((bits&(1<<(e&63)-1))>>(e>>8&15))
		bits >>= e & 63
		nb -= uint(e & 63)

		e = dt[bits&distMask]
		if e&fSub != 0 {
			bits >>= distBits
			nb -= distBits
			e = dt[(e>>16+uint32(bits)&(1<<(e&63)-1))&(distSize-1)]
		}
		if e&fInvalid != 0 {
			d.save(pos, n, bits, nb)
			return errCode
		}
		dist := int(e>>16) + int((bits&(1<<(e&63)-1))>>(e>>8&15))
		bits >>= e & 63
		nb -= uint(e & 63)
		if dist > n {
			d.save(pos, n, bits, nb)
			return errDistance
		}
		if length > len(dst)-n {
			d.save(pos, n, bits, nb)
			return ErrOutputFull
		}
		from := n - dist
		for k := range length {
			dst[n+k] = dst[from+k]
		}
		n += length
	}
}
