package inflate

import "math/bits"

// Templates give each symbol's entry before its code is known: the kind,
// the value and, in bits 0-5, the number of extra bits. build adds the
// code length.
var (
	litTemplate  [288]uint32
	distTemplate [32]uint32
	clTemplate   [19]uint32

	fixedLit  [litSize]uint32
	fixedDist [distSize]uint32
)

func init() {
	for s := range 256 {
		litTemplate[s] = fLiteral | uint32(s)<<16
	}
	litTemplate[256] = fEOB
	// RFC 1951 3.2.5: lengths 3-10 without extra bits, then four codes per
	// extra bit count; code 285 is 258 without extra bits.
	base := uint32(3)
	for s := 257; s < 285; s++ {
		extra := uint32(0)
		if s >= 265 {
			extra = uint32(s-261) / 4
		}
		litTemplate[s] = base<<16 | extra
		base += 1 << extra
	}
	litTemplate[285] = 258 << 16
	litTemplate[286] = fInvalid
	litTemplate[287] = fInvalid

	base = 1
	for s := range 30 {
		extra := uint32(0)
		if s >= 4 {
			extra = uint32(s)/2 - 1
		}
		distTemplate[s] = base<<16 | extra
		base += 1 << extra
	}
	distTemplate[30] = fInvalid
	distTemplate[31] = fInvalid

	for s := range 19 {
		clTemplate[s] = uint32(s) << 16
	}

	var lens [288]uint8
	for s := range lens {
		switch {
		case s < 144:
			lens[s] = 8
		case s < 256:
			lens[s] = 9
		case s < 280:
			lens[s] = 7
		default:
			lens[s] = 8
		}
	}
	if !build(fixedLit[:], lens[:], litBits, litTemplate[:]) {
		panic("inflate: fixed literal/length code")
	}
	for s := range 32 {
		lens[s] = 5
	}
	if !build(fixedDist[:], lens[:32], distBits, distTemplate[:]) {
		panic("inflate: fixed distance code")
	}
}

// build fills table t for the canonical Huffman code with the given code
// lengths (RFC 1951 3.2.2): a primary table indexed by the next pbits input
// bits, and for codes longer than pbits, subtables after it indexed by the
// bits that follow. It reports false for an over-subscribed code and for an
// incomplete one, except, as compress/flate and zlib allow, a code of a
// single 1-bit symbol, and an empty code (every length zero), whose table
// rejects every input.
func build(t []uint32, lens []uint8, pbits uint, tmpl []uint32) bool {
	var count [16]int
	for _, l := range lens {
		count[l]++
	}
	count[0] = 0
	left, maxLen := 1, 0
	for l := 1; l <= 15; l++ {
		left = left<<1 - count[l]
		if left < 0 {
			return false // over-subscribed
		}
		if count[l] > 0 {
			maxLen = l
		}
	}
	psize := 1 << pbits
	if left > 0 {
		if maxLen != 0 && (maxLen != 1 || count[1] != 1) {
			return false // incomplete
		}
		// Unassigned codes decode as invalid.
		for i := range t[:psize] {
			t[i] = fInvalid
		}
		if maxLen == 0 {
			return true
		}
	}

	// Canonical codes: the first code of each length, then symbols in
	// order of (length, symbol).
	var next [16]int
	var offs [17]int
	code := 0
	for l := 1; l <= 15; l++ {
		code = (code + count[l-1]) << 1
		next[l] = code
		offs[l+1] = offs[l] + count[l]
	}
	var sorted [288]uint16
	var rev [288]uint16 // each symbol's code, bit-reversed (the order it arrives in)
	for s, l := range lens {
		if l == 0 {
			continue
		}
		sorted[offs[l]] = uint16(s)
		offs[l]++
		rev[s] = bits.Reverse16(uint16(next[l])) >> (16 - l)
		next[l]++
	}
	nsyms := offs[15]

	// Codes in canonical order, read as binary fractions, increase; so the
	// long codes sharing a primary index are consecutive, and the last of
	// them is the longest.
	free := psize
	group, subOff, subBits := -1, 0, uint(0)
	for i := 0; i < nsyms; i++ {
		s := sorted[i]
		l := uint(lens[s])
		r := int(rev[s])
		if l <= pbits {
			e := tmpl[s] + uint32(l)<<8 + uint32(l)
			for j := r; j < psize; j += 1 << l {
				t[j] = e
			}
			continue
		}
		if p := r & (psize - 1); p != group {
			group = p
			j := i + 1
			for j < nsyms && int(rev[sorted[j]])&(psize-1) == p {
				j++
			}
			subBits = uint(lens[sorted[j-1]]) - pbits
			subOff = free
			free += 1 << subBits
			if free > len(t) {
				return false // cannot happen for a complete code: see litSize
			}
			t[p] = fSub | uint32(subOff)<<16 | uint32(subBits)
		}
		sl := l - pbits
		e := tmpl[s] + uint32(sl)<<8 + uint32(sl)
		for j := r >> pbits; j < 1<<subBits; j += 1 << sl {
			t[subOff+j] = e
		}
	}
	return true
}
