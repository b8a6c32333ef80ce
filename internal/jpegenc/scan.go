package jpegenc

import (
	"math/bits"

	"github.com/opaprules/opaprules/internal/jpegspec"
)

// scan is one SOS: its components (indexes into frame.comps), spectral
// band ss..se and successive approximation bits ah (previous) and al
// (this scan's point transform).
type scan struct {
	comps          []int
	ss, se, ah, al int
}

// progressiveScript is libjpeg's default progression
// (jpeg_simple_progression) for one or three components: the DC and the
// low luma band first, so an early decode already shows the picture.
func progressiveScript(ncomp int) []scan {
	if ncomp == 1 {
		y := []int{0}
		return []scan{
			{y, 0, 0, 0, 1},
			{y, 1, 5, 0, 2},
			{y, 6, 63, 0, 2},
			{y, 1, 63, 2, 1},
			{y, 0, 0, 1, 0},
			{y, 1, 63, 1, 0},
		}
	}
	all, y, cb, cr := []int{0, 1, 2}, []int{0}, []int{1}, []int{2}
	return []scan{
		{all, 0, 0, 0, 1},
		{y, 1, 5, 0, 2},
		{cr, 1, 63, 0, 1},
		{cb, 1, 63, 0, 1},
		{y, 6, 63, 0, 2},
		{y, 1, 63, 2, 1},
		{all, 0, 0, 1, 0},
		{cr, 1, 63, 1, 0},
		{cb, 1, 63, 1, 0},
		{y, 1, 63, 1, 0},
	}
}

// maxCorrBits bounds the refinement bits held back while an EOB run
// grows (libjpeg holds up to 1000 as well): past it the run is written.
const maxCorrBits = 1000

type encoder struct {
	f        *frame
	bw       bitWriter
	counting bool // first pass: count symbols, write nothing
	dc, ac   [2]*huffTable
	pred     [3]int32
	eobrun   int
	eobBits  []uint8 // correction bits that follow the pending EOB run
	blkBits  []uint8 // correction bits of the current block
}

func (e *encoder) writeHeaders(progressive bool) {
	f := e.f
	w := &e.bw
	w.buf = append(w.buf, 0xFF, 0xD8)
	ntab := 1
	if len(f.comps) > 1 {
		ntab = 2
	}
	dqt := make([]byte, 0, 65*ntab)
	for t := range ntab {
		dqt = append(dqt, byte(t))
		for _, n := range jpegspec.Unzig {
			dqt = append(dqt, byte(f.quant[t][n]))
		}
	}
	w.marker(0xDB, dqt)
	sof := []byte{8, byte(f.h >> 8), byte(f.h), byte(f.w >> 8), byte(f.w), byte(len(f.comps))}
	for _, c := range f.comps {
		sof = append(sof, c.id, byte(c.h<<4|c.v), byte(c.tab))
	}
	m := byte(0xC0)
	if progressive {
		m = 0xC2
	}
	w.marker(m, sof)
}

func (e *encoder) writeScan(s scan) {
	needDC := s.ss == 0 && s.ah == 0
	needAC := s.se > 0
	var used []*huffTable
	for i := range 2 {
		e.dc[i], e.ac[i] = nil, nil
	}
	for _, ci := range s.comps {
		t := e.f.comps[ci].tab
		if needDC && e.dc[t] == nil {
			e.dc[t] = new(huffTable)
			used = append(used, e.dc[t])
		}
		if needAC && e.ac[t] == nil {
			e.ac[t] = new(huffTable)
			used = append(used, e.ac[t])
		}
	}
	if len(used) > 0 {
		e.counting = true
		e.run(s)
		e.counting = false
		var dht []byte
		for class, tabs := range [2][2]*huffTable{e.dc, e.ac} {
			for id, t := range tabs {
				if t == nil {
					continue
				}
				t.build()
				dht = append(dht, byte(class<<4|id))
				dht = append(dht, t.bits[1:]...)
				dht = append(dht, t.vals...)
			}
		}
		e.bw.marker(0xC4, dht)
	}
	sos := []byte{byte(len(s.comps))}
	for _, ci := range s.comps {
		c := e.f.comps[ci]
		sos = append(sos, c.id, byte(c.tab<<4|c.tab))
	}
	sos = append(sos, byte(s.ss), byte(s.se), byte(s.ah<<4|s.al))
	e.bw.marker(0xDA, sos)
	e.run(s)
	e.bw.flush()
}

// run visits the scan's blocks in order, counting or writing.
func (e *encoder) run(s scan) {
	e.pred = [3]int32{}
	e.eobrun = 0
	e.eobBits = e.eobBits[:0]
	f := e.f
	var block func(c *component, i int)
	switch {
	case s.ss == 0 && s.se == 63:
		block = e.baselineBlock
	case s.ss == 0 && s.ah == 0:
		block = func(c *component, i int) { e.dcFirst(c, i, s.al) }
	case s.ss == 0:
		block = func(c *component, i int) { e.dcRefine(c, i, s.al) }
	case s.ah == 0:
		block = func(c *component, i int) { e.acFirst(c, i, s.ss, s.se, s.al) }
	default:
		block = func(c *component, i int) { e.acRefine(c, i, s.ss, s.se, s.al) }
	}
	if len(s.comps) == 1 {
		// A non-interleaved scan covers the component's own blocks only.
		c := &f.comps[s.comps[0]]
		for by := range c.nbh {
			for bx := range c.nbw {
				block(c, by*c.bw+bx)
			}
		}
	} else {
		for my := range f.mcuY {
			for mx := range f.mcuX {
				for _, ci := range s.comps {
					c := &f.comps[ci]
					for v := range c.v {
						for h := range c.h {
							block(c, (my*c.v+v)*c.bw+mx*c.h+h)
						}
					}
				}
			}
		}
	}
	if s.ss > 0 {
		e.flushEOB(e.ac[f.comps[s.comps[0]].tab])
	}
}

// sym counts or writes symbol s of table t followed by the n bits of v.
func (e *encoder) sym(t *huffTable, s uint8, v uint32, n uint) {
	if e.counting {
		t.freq[s]++
		return
	}
	e.bw.put(uint32(t.code[s])<<n|v, uint(t.size[s])+n)
}

func (e *encoder) bit(b uint8) {
	if !e.counting {
		e.bw.put(uint32(b), 1)
	}
}

func (e *encoder) dcDiff(c *component, v int32) {
	ci := c.id - 1
	d := v - e.pred[ci]
	e.pred[ci] = v
	n, x := magnitude(d)
	e.sym(e.dc[c.tab], uint8(n), x, n)
}

func (e *encoder) baselineBlock(c *component, i int) {
	b := &c.coef[i]
	e.dcDiff(c, int32(b[0]))
	ac := e.ac[c.tab]
	m := c.mask[i] &^ 1
	last := 0
	for m != 0 {
		k := bits.TrailingZeros64(m)
		m &= m - 1
		r := k - last - 1
		for r >= 16 {
			e.sym(ac, 0xF0, 0, 0)
			r -= 16
		}
		n, x := magnitude(int32(b[k]))
		e.sym(ac, uint8(r<<4)|uint8(n), x, n)
		last = k
	}
	if last != 63 {
		e.sym(ac, 0x00, 0, 0)
	}
}

// The DC point transform is an arithmetic shift (T.81 G.1.2.1).
func (e *encoder) dcFirst(c *component, i int, al int) {
	e.dcDiff(c, int32(c.coef[i][0])>>al)
}

func (e *encoder) dcRefine(c *component, i int, al int) {
	e.bit(uint8(c.coef[i][0]>>al) & 1)
}

// flushEOB writes the pending EOB run, then the correction bits held back
// for its blocks.
func (e *encoder) flushEOB(ac *huffTable) {
	if e.eobrun > 0 {
		n := uint(bits.Len(uint(e.eobrun))) - 1
		e.sym(ac, uint8(n<<4), uint32(e.eobrun)&(1<<n-1), n)
		e.eobrun = 0
	}
	for _, b := range e.eobBits {
		e.bit(b)
	}
	e.eobBits = e.eobBits[:0]
}

// The AC point transform divides the magnitude (T.81 G.1.2.2).
func (e *encoder) acFirst(c *component, i int, ss, se, al int) {
	b := &c.coef[i]
	ac := e.ac[c.tab]
	r := 0
	for k := ss; k <= se; k++ {
		v := int32(b[k])
		a := v
		if a < 0 {
			a = -a
		}
		a >>= al
		if a == 0 {
			r++
			continue
		}
		e.flushEOB(ac)
		for r >= 16 {
			e.sym(ac, 0xF0, 0, 0)
			r -= 16
		}
		n := uint(bits.Len32(uint32(a)))
		x := uint32(a)
		if v < 0 {
			x = ^x & (1<<n - 1)
		}
		e.sym(ac, uint8(r<<4)|uint8(n), x, n)
		r = 0
	}
	if r > 0 {
		e.eobrun++
		if e.eobrun == 0x7FFF {
			e.flushEOB(ac)
		}
	}
}

// acRefine adds bit al to every coefficient of the band (T.81 G.1.2.3):
// coefficients that become non-zero are coded like a first scan with
// magnitude 1; those already non-zero get a correction bit, held back
// until the next symbol (or the EOB run) that they follow in the stream.
func (e *encoder) acRefine(c *component, i int, ss, se, al int) {
	b := &c.coef[i]
	ac := e.ac[c.tab]
	var abs [64]int32
	eob := -1 // the last coefficient that becomes non-zero here
	for k := ss; k <= se; k++ {
		a := int32(b[k])
		if a < 0 {
			a = -a
		}
		a >>= al
		abs[k] = a
		if a == 1 {
			eob = k
		}
	}
	r := 0
	blk := e.blkBits[:0]
	for k := ss; k <= se; k++ {
		a := abs[k]
		if a == 0 {
			r++
			continue
		}
		for r > 15 && k <= eob {
			e.flushEOB(ac)
			e.sym(ac, 0xF0, 0, 0)
			r -= 16
			for _, x := range blk {
				e.bit(x)
			}
			blk = blk[:0]
		}
		if a > 1 {
			blk = append(blk, uint8(a&1))
			continue
		}
		e.flushEOB(ac)
		sign := uint32(0)
		if b[k] > 0 {
			sign = 1
		}
		e.sym(ac, uint8(r<<4|1), sign, 1)
		for _, x := range blk {
			e.bit(x)
		}
		blk = blk[:0]
		r = 0
	}
	if r > 0 || len(blk) > 0 {
		e.eobrun++
		e.eobBits = append(e.eobBits, blk...)
		if e.eobrun == 0x7FFF || len(e.eobBits) > maxCorrBits-64+1 {
			e.flushEOB(ac)
		}
	}
	e.blkBits = blk[:0]
}
