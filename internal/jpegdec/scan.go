package jpegdec

import (
	"encoding/binary"
	mbits "math/bits"

	"github.com/opaprules/opaprules/internal/jpegspec"
)

// slotMap says which coefficients a progressive decode keeps for a scale:
// only those the reduced IDCT reads (see idct.go), so a 1/8 decode stores
// one int16 per block instead of 64.
type slotMap struct {
	n     int
	ofZig [64]int8 // slot of a zig-zag index, -1 if dropped
	nat   [64]uint8
	kept  uint64 // bit k set when zig-zag index k has a slot
}

var slotMaps [4]slotMap

func init() {
	used := [4]func(int) bool{
		func(int) bool { return true },
		func(i int) bool { return i != 4 },
		func(i int) bool { return i == 0 || i&1 == 1 },
		func(i int) bool { return i == 0 },
	}
	for shift, f := range used {
		m := &slotMaps[shift]
		for k := 0; k < 64; k++ {
			p := jpegspec.Unzig[k]
			if f(int(p>>3)) && f(int(p&7)) {
				m.ofZig[k] = int8(m.n)
				m.nat[m.n] = p
				m.n++
				m.kept |= 1 << k
			} else {
				m.ofZig[k] = -1
			}
		}
	}
}

// receive reads s (≤ 16) raw bits and sign-extends them. n must be ≥ s.
func receive(bits uint64, n, s uint) (int32, uint64, uint) {
	if s == 0 {
		return 0, bits, n
	}
	return extend(int32(bits>>(64-s)), s), bits << s, n - s
}

// blockFunc is called for every block a scan codes, in coding order.
// It returns false to stop on an error already stored in d.err.
type blockFunc func(c *component, sc *scanComp, bx, by int) bool

// forEachBlock walks the MCUs of a scan, handling restart intervals.
func (d *decoder) forEachBlock(s *scanHeader, f blockFunc) error {
	var nextRST byte
	d.eobrun = 0
	for i := 0; i < s.n; i++ {
		d.comp[s.comps[i].ci].pred = 0
	}
	ri := d.restartInterval
	left := ri
	if s.n == 1 {
		// Non-interleaved: one block per MCU, only real blocks coded.
		sc := &s.comps[0]
		c := &d.comp[sc.ci]
		for by := 0; by < c.rbh; by++ {
			for bx := 0; bx < c.rbw; bx++ {
				if ri > 0 {
					if left == 0 {
						if err := d.restart(&nextRST); err != nil {
							return err
						}
						c.pred, d.eobrun, left = 0, 0, ri
					}
					left--
				}
				if !f(c, sc, bx, by) {
					return d.err
				}
			}
			if d.err != nil {
				return d.err
			}
		}
		return d.endSegment()
	}
	for my := 0; my < d.mcusY; my++ {
		for mx := 0; mx < d.mcusX; mx++ {
			if ri > 0 {
				if left == 0 {
					if err := d.restart(&nextRST); err != nil {
						return err
					}
					for i := 0; i < s.n; i++ {
						d.comp[s.comps[i].ci].pred = 0
					}
					d.eobrun, left = 0, ri
				}
				left--
			}
			for i := 0; i < s.n; i++ {
				sc := &s.comps[i]
				c := &d.comp[sc.ci]
				for v := 0; v < c.v; v++ {
					for h := 0; h < c.h; h++ {
						if !f(c, sc, mx*c.h+h, my*c.v+v) {
							return d.err
						}
					}
				}
			}
		}
		if d.err != nil {
			return d.err
		}
	}
	return d.endSegment()
}

// decodeDC decodes one DC difference and updates the predictor.
func (d *decoder) decodeDC(c *component, h *huffTable) int32 {
	bits, n := d.bits, d.nbits
	if n < 32 {
		bits, n = d.fill(bits, n)
	}
	t, bits, n := d.decodeHuff(h, bits, n)
	if t > 16 {
		if d.err == nil {
			d.err = FormatError("bad DC magnitude")
		}
		t = 0
	}
	diff, bits, n := receive(bits, n, uint(t))
	d.bits, d.nbits = bits, n
	c.pred += diff
	return c.pred
}

// sequentialScan decodes a baseline/extended scan straight into the output
// planes, one block at a time: no coefficient storage at any scale.
func (d *decoder) sequentialScan(s *scanHeader) error {
	var blk [64]int32
	return d.forEachBlock(s, func(c *component, sc *scanComp, bx, by int) bool {
		shift := c.shift
		bs := 8 >> shift
		q := &d.quant[c.tq]
		dc := d.decodeDC(c, &d.dcHuff[sc.td])
		ac := &d.acHuff[sc.ta]
		off := by*bs*c.stride + bx*bs
		if shift == 3 {
			d.skipAC(ac)
			c.pix[off] = idct1(dc * q[0])
			return d.err == nil
		}
		blk[0] = dc * q[0]
		if !d.decodeAC(&blk, ac, q) {
			// No AC coefficient: every sample is the same (flat areas,
			// and most blocks of a small file for a large picture).
			fillBlock(c.pix[off:], c.stride, bs, dcOnly(blk[0]))
			blk[0] = 0
			return d.err == nil
		}
		switch shift {
		case 0:
			idct8x(&blk, c.pix[off:], c.stride)
		case 1:
			idct4x(&blk, c.pix[off:], c.stride)
		case 2:
			idct2(&blk, c.pix[off:], c.stride)
		}
		blk = [64]int32{}
		return d.err == nil
	})
}

// decodeAC decodes coefficients 1..63 of a sequential block, dequantized,
// into blk (natural order), which must be zero apart from the DC. It
// reports whether it stored any: a coded coefficient is never zero.
func (d *decoder) decodeAC(blk *[64]int32, h *acTable, q *[64]int32) (stored bool) {
	bits, n := d.bits, d.nbits
	buf := d.src.buf
	for k := uint(1); k < 64; k++ {
		if n < 32 {
			// fill's fast path, inlined by hand: this is the hottest loop.
			if p := d.src.pos; p+8 <= len(buf) {
				if v := binary.BigEndian.Uint64(buf[p:]); (^v-lsbs)&v&msbs == 0 {
					nb := 7 - n>>3
					d.src.pos = p + int(nb)
					bits, n = bits|v>>n, n+nb<<3
				} else {
					bits, n = d.fillSlow(bits, n)
				}
			} else {
				bits, n = d.fillSlow(bits, n)
			}
		}
		if e := h.fastSeq[bits>>(64-lutBits)]; e != 0 {
			k += uint(e>>4) & 127
			l := uint(e & 15)
			bits <<= l
			n -= l
			if k > 63 {
				break
			}
			blk[jpegspec.Unzig[k]&63] = (e >> 11) * q[k]
			stored = true
			continue
		}
		var rs uint8
		if e := h.fast[bits>>(64-lutBits)]; e != 0 {
			l := uint(e >> 8)
			rs, bits, n = uint8(e), bits<<l, n-l
		} else {
			rs, bits, n = d.decodeHuff(&h.huffTable, bits, n)
		}
		r, s := uint(rs>>4), uint(rs&15)
		if s == 0 {
			if r != 15 {
				break
			}
			k += 15
			continue
		}
		k += r
		var v int32
		v, bits, n = receive(bits, n, s)
		if k > 63 {
			break
		}
		blk[jpegspec.Unzig[k]&63] = v * q[k]
		stored = true
	}
	d.bits, d.nbits = bits, n
	return stored
}

// skipAC decodes and discards coefficients 1..63: a 1/8 decode only needs
// the DC, but the AC codes must still be parsed to find the next block.
func (d *decoder) skipAC(h *acTable) {
	bits, n := d.bits, d.nbits
	buf := d.src.buf
	for k := 1; k < 64; k++ {
		if n < 32 {
			// fill's fast path, inlined by hand: this is the hottest loop.
			if p := d.src.pos; p+8 <= len(buf) {
				if v := binary.BigEndian.Uint64(buf[p:]); (^v-lsbs)&v&msbs == 0 {
					nb := 7 - n>>3
					d.src.pos = p + int(nb)
					bits, n = bits|v>>n, n+nb<<3
				} else {
					bits, n = d.fillSlow(bits, n)
				}
			} else {
				bits, n = d.fillSlow(bits, n)
			}
		}
		if e := h.fastSeq[bits>>(64-lutBits)]; e != 0 {
			k += int(e>>4) & 127
			l := uint(e & 15)
			bits <<= l
			n -= l
			continue
		}
		var rs uint8
		if e := h.fast[bits>>(64-lutBits)]; e != 0 {
			l := uint(e >> 8)
			rs, bits, n = uint8(e), bits<<l, n-l
		} else {
			rs, bits, n = d.decodeHuff(&h.huffTable, bits, n)
		}
		r, s := int(rs>>4), uint(rs&15)
		if s == 0 {
			if r != 15 {
				break
			}
			k += 15
			continue
		}
		k += r
		bits <<= s
		n -= s
	}
	d.bits, d.nbits = bits, n
}

// progressiveScan decodes one scan of a progressive file into the
// coefficient store.
func (d *decoder) progressiveScan(s *scanHeader) error {
	al := s.al
	switch {
	case s.ss == 0 && s.ah == 0:
		for i := 0; i < s.n; i++ {
			d.comp[s.comps[i].ci].dcSeen = true
		}
		return d.forEachBlock(s, func(c *component, sc *scanComp, bx, by int) bool {
			dc := d.decodeDC(c, &d.dcHuff[sc.td])
			c.coefs[(by*c.bw+bx)*c.slots.n] = int16(dc << al)
			return d.err == nil
		})
	case s.ss == 0:
		return d.forEachBlock(s, func(c *component, sc *scanComp, bx, by int) bool {
			bits, n := d.bits, d.nbits
			if n < 32 {
				bits, n = d.fill(bits, n)
			}
			if bits>>63 != 0 {
				c.coefs[(by*c.bw+bx)*c.slots.n] |= 1 << al
			}
			d.bits, d.nbits = bits<<1, n-1
			return d.err == nil
		})
	case s.ah == 0:
		h := &d.acHuff[s.comps[0].ta]
		return d.forEachBlock(s, func(c *component, sc *scanComp, bx, by int) bool {
			d.acFirst(c, by*c.bw+bx, s.ss, s.se, al, h)
			return d.err == nil
		})
	default:
		h := &d.acHuff[s.comps[0].ta]
		return d.forEachBlock(s, func(c *component, sc *scanComp, bx, by int) bool {
			d.acRefine(c, by*c.bw+bx, s.ss, s.se, al, h)
			return d.err == nil
		})
	}
}

func (d *decoder) acFirst(c *component, bi, ss, se int, al uint, h *acTable) {
	if d.eobrun > 0 {
		d.eobrun--
		return
	}
	ns := c.slots.n
	vals := c.coefs[bi*ns : bi*ns+ns : bi*ns+ns]
	nz := c.nz[bi]
	ofZig := &c.slots.ofZig
	bits, n := d.bits, d.nbits
	for k := ss; k <= se; k++ {
		if n < 32 {
			bits, n = d.fill(bits, n)
		}
		var r int
		var v int32
		if e := h.fastAC[bits>>(64-lutBits)]; e != 0 {
			r = int(e>>4) & 15
			v = e >> 8
			l := uint(e & 15)
			bits <<= l
			n -= l
		} else {
			var rs uint8
			if e := h.fast[bits>>(64-lutBits)]; e != 0 {
				l := uint(e >> 8)
				rs, bits, n = uint8(e), bits<<l, n-l
			} else {
				rs, bits, n = d.decodeHuff(&h.huffTable, bits, n)
			}
			var s uint
			r, s = int(rs>>4), uint(rs&15)
			if s == 0 {
				if r < 15 {
					run := 1<<r - 1
					if r > 0 {
						run += int(bits >> (64 - uint(r)))
						bits <<= uint(r)
						n -= uint(r)
					}
					d.eobrun = run
					break
				}
				k += 15
				continue
			}
			v, bits, n = receive(bits, n, s)
		}
		k += r
		if k > 63 {
			break
		}
		nz |= 1 << uint(k)
		if sl := ofZig[k]; sl >= 0 {
			vals[sl] = int16(v << al)
		}
	}
	c.nz[bi] = nz
	d.bits, d.nbits = bits, n
}

// bitRange returns a mask of bits lo..hi-1 (hi ≤ 64).
func bitRange(lo, hi uint) uint64 {
	return (uint64(1)<<hi - 1) &^ (uint64(1)<<lo - 1)
}

// acRefine implements successive-approximation refinement of an AC band
// (T.81 G.1.2.3): one correction bit for every coefficient that is already
// non-zero, and at most one newly non-zero ±1<<al coefficient per symbol.
// The non-zero bitmap lets it jump between the positions that matter
// instead of walking the band one coefficient at a time.
func (d *decoder) acRefine(c *component, bi, ss, se int, al uint, h *acTable) {
	ns := c.slots.n
	vals := c.coefs[bi*ns : bi*ns+ns : bi*ns+ns]
	nz := c.nz[bi]
	ofZig := &c.slots.ofZig
	p1 := int16(1) << al
	bits, n := d.bits, d.nbits
	k, end := uint(ss), uint(se)+1
	band := bitRange(k, end)

	if d.eobrun == 0 {
		for k < end {
			if n < 32 {
				bits, n = d.fill(bits, n)
			}
			var rs uint8
			if e := h.fast[bits>>(64-lutBits)]; e != 0 {
				l := uint(e >> 8)
				rs, bits, n = uint8(e), bits<<l, n-l
			} else {
				rs, bits, n = d.decodeHuff(&h.huffTable, bits, n)
			}
			r, s := uint(rs>>4), rs&15
			var val int16
			if s == 0 {
				if r < 15 {
					run := 1 << r
					if r > 0 {
						run += int(bits >> (64 - r))
						bits <<= r
						n -= r
					}
					d.eobrun = run
					break
				}
				// ZRL: skip 16 zero-history coefficients.
			} else if s == 1 {
				val = p1
				if bits>>63 == 0 {
					val = -p1
				}
				bits <<= 1
				n--
			} else {
				if d.err == nil {
					d.err = FormatError("bad refinement symbol")
				}
				break
			}
			// The symbol lands on the (r+1)th zero-history position from k;
			// every non-zero coefficient before it gets a correction bit.
			from := ^uint64(0) << k // positions ≥ k
			zeros := ^nz & band & from
			for i := uint(0); i < r && zeros != 0; i++ {
				zeros &= zeros - 1
			}
			p := end
			if zeros != 0 {
				p = uint(mbits.TrailingZeros64(zeros))
			}
			for corr := nz & from & (uint64(1)<<p - 1); corr != 0; corr &= corr - 1 {
				if n < 32 {
					bits, n = d.fill(bits, n)
				}
				if bits>>63 != 0 {
					refineCoef(vals, ofZig[mbits.TrailingZeros64(corr)], p1)
				}
				bits <<= 1
				n--
			}
			if p < end && val != 0 {
				nz |= 1 << p
				if sl := ofZig[p]; sl >= 0 {
					vals[sl] = val
				}
			}
			k = p + 1
			if d.err != nil {
				break
			}
		}
	}
	if d.eobrun > 0 {
		// The rest of the band is in an end-of-band run: only corrections.
		if k < end {
			for corr := nz & band & (^uint64(0) << k); corr != 0; corr &= corr - 1 {
				if n < 32 {
					bits, n = d.fill(bits, n)
				}
				if bits>>63 != 0 {
					refineCoef(vals, ofZig[mbits.TrailingZeros64(corr)], p1)
				}
				bits <<= 1
				n--
			}
		}
		d.eobrun--
	}
	c.nz[bi] = nz
	d.bits, d.nbits = bits, n
}

// refineCoef applies a set correction bit to a kept coefficient, away from
// zero; the bit test guards against corrupt streams refining twice.
func refineCoef(vals []int16, sl int8, p1 int16) {
	if sl < 0 {
		return
	}
	v := vals[sl]
	if v&p1 != 0 {
		return
	}
	if v >= 0 {
		vals[sl] = v + p1
	} else {
		vals[sl] = v - p1
	}
}

// reconstruct turns the progressive coefficient store into samples.
func (d *decoder) reconstruct() {
	var blk [64]int32
	for ci := 0; ci < d.ncomp; ci++ {
		c := &d.comp[ci]
		sm := c.slots
		ns := sm.n
		bs := 8 >> c.shift
		var qn [64]int32
		for k, p := range jpegspec.Unzig {
			qn[p] = d.quant[c.tq][k]
		}
		for by := 0; by < c.bh; by++ {
			for bx := 0; bx < c.bw; bx++ {
				bi := by*c.bw + bx
				vals := c.coefs[bi*ns : bi*ns+ns]
				off := by*bs*c.stride + bx*bs
				if c.shift == 3 {
					c.pix[off] = idct1(int32(vals[0]) * qn[0])
					continue
				}
				// A sparse block: the non-zero map finds the few live
				// coefficients without scanning all of them, and lets us
				// clear only what we set. A dense one (a detailed picture
				// at high quality, where most kept coefficients are live):
				// every kept slot in order, which costs a few instructions
				// a slot instead of a bit scan and two lookups a live one.
				ac := c.nz[bi] &^ 1
				if ac&sm.kept == 0 {
					fillBlock(c.pix[off:], c.stride, bs, dcOnly(int32(vals[0])*qn[0]))
					continue
				}
				dense := mbits.OnesCount64(ac) >= ns/4
				blk[0] = int32(vals[0]) * qn[0]
				if dense {
					// p&63 and the equal lengths let the compiler drop
					// every bounds check from the loop.
					nat := sm.nat[1:ns:ns]
					v := vals[1:ns:ns]
					v = v[:len(nat)]
					for i, p := range nat {
						blk[p&63] = int32(v[i]) * qn[p&63]
					}
				} else {
					for m := ac; m != 0; m &= m - 1 {
						if sl := sm.ofZig[mbits.TrailingZeros64(m)]; sl >= 0 {
							p := sm.nat[sl]
							blk[p] = int32(vals[sl]) * qn[p]
						}
					}
				}
				switch c.shift {
				case 0:
					idct8x(&blk, c.pix[off:], c.stride)
				case 1:
					idct4x(&blk, c.pix[off:], c.stride)
				case 2:
					idct2(&blk, c.pix[off:], c.stride)
				}
				if dense {
					blk = [64]int32{} // a few vector stores
				} else {
					for m := ac; m != 0; m &= m - 1 {
						blk[jpegspec.Unzig[mbits.TrailingZeros64(m)]] = 0
					}
				}
			}
		}
	}
}
