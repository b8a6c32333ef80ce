package jpegdec

import (
	"image"
	"image/color"
	"io"
)

// Marker codes (ITU T.81 table B.1) that the parser distinguishes.
const (
	mSOF0  = 0xc0
	mSOF1  = 0xc1
	mSOF2  = 0xc2
	mDHT   = 0xc4
	mRST0  = 0xd0
	mRST7  = 0xd7
	mSOI   = 0xd8
	mEOI   = 0xd9
	mSOS   = 0xda
	mDQT   = 0xdb
	mDNL   = 0xdc
	mDRI   = 0xdd
	mAPP0  = 0xe0
	mAPP1  = 0xe1
	mAPP14 = 0xee
	mCOM   = 0xfe
)

var errTruncated = FormatError("unexpected end of data")

// source serves the header parser either from an in-memory copy of the whole
// input (r == nil, used by Decode so the entropy decoder gets a flat slice) or
// from a reader, buffering only one segment at a time (DecodeConfig).
type source struct {
	r   io.Reader
	buf []byte
	pos int
}

// need makes n bytes available at buf[pos:].
func (s *source) need(n int) error {
	if len(s.buf)-s.pos >= n {
		return nil
	}
	if s.r == nil {
		return errTruncated
	}
	rem := copy(s.buf, s.buf[s.pos:])
	s.buf, s.pos = s.buf[:rem], 0
	if cap(s.buf) < n {
		nb := make([]byte, rem, max(n, 4096))
		copy(nb, s.buf)
		s.buf = nb
	}
	m, err := io.ReadAtLeast(s.r, s.buf[rem:cap(s.buf)], n-rem)
	s.buf = s.buf[:rem+m]
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return errTruncated
	}
	return err
}

func (s *source) readN(n int) ([]byte, error) {
	if err := s.need(n); err != nil {
		return nil, err
	}
	b := s.buf[s.pos : s.pos+n]
	s.pos += n
	return b, nil
}

func (s *source) skip(n int) error {
	for n > 0 {
		k := min(n, 4096)
		if _, err := s.readN(k); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

func (s *source) readByte() (byte, error) {
	if s.pos >= len(s.buf) {
		if err := s.need(1); err != nil {
			return 0, err
		}
	}
	b := s.buf[s.pos]
	s.pos++
	return b, nil
}

// component is one colour channel as declared by SOF.
type component struct {
	id   byte
	h, v int // sampling factors
	tq   uint8

	// Geometry. bw×bh is the MCU-padded block grid (what interleaved scans
	// and the plane cover); rbw×rbh the blocks that hold real samples (what
	// non-interleaved scans code).
	bw, bh   int
	rbw, rbh int

	// Output plane at the reduced scale, covering the padded block grid.
	// shift is this component's own scale (log2): the decoder's, or less
	// for chroma decoded sharper (Options.SharpChroma); slots are the
	// coefficients its IDCT reads.
	pix    []byte
	stride int
	shift  uint
	slots  *slotMap

	// Progressive state: nslots coefficients per block (only the ones the
	// reduced IDCT reads) and a bitmap of which zig-zag positions are
	// non-zero (needed by refinement scans even for dropped positions).
	coefs  []int16
	nz     []uint64
	dcSeen bool // a DC scan has covered this component

	pred int32 // DC predictor
}

// scanComp is one component's entry in an SOS header.
type scanComp struct {
	ci     int // index into decoder.comp
	td, ta uint8
}

type scanHeader struct {
	n      int
	comps  [4]scanComp
	ss, se int
	ah, al uint
}

type decoder struct {
	src source

	shift       uint // log2 of the scale
	sharpChroma bool
	maxPixels   int64

	width, height int
	ncomp         int
	comp          [4]component
	sofSeen       bool
	progressive   bool
	hmax, vmax    int
	mcusX, mcusY  int

	quant    [4][64]int32 // zig-zag order
	quantSet [4]bool
	dcHuff   [4]huffTable
	acHuff   [4]acTable

	restartInterval int

	jfif           bool
	adobe          bool
	adobeTransform byte
	exif           []byte
	orientation    int

	nscans    int
	allocated bool

	// Bit reader state for the current entropy-coded segment (see bits.go).
	bits   uint64
	nbits  uint
	fake   int // zero bytes made up past a marker or the end of input
	eobrun int
	err    error
}

// readHeaders parses markers up to (not including) the first SOS.
func (d *decoder) readHeaders() error {
	if err := d.readSOI(); err != nil {
		return err
	}
	for {
		m, err := d.nextMarker()
		if err != nil {
			return err
		}
		if m == mSOS {
			if !d.sofSeen {
				return FormatError("SOS before SOF")
			}
			return nil
		}
		if m == mEOI {
			return FormatError("no image data")
		}
		if err := d.processMarker(m); err != nil {
			return err
		}
	}
}

func (d *decoder) readSOI() error {
	b, err := d.src.readN(2)
	if err != nil {
		return err
	}
	if b[0] != 0xff || b[1] != mSOI {
		return FormatError("missing SOI marker")
	}
	return nil
}

// nextMarker returns the next marker code, skipping fill bytes and, like
// libjpeg and image/jpeg, any garbage between segments.
func (d *decoder) nextMarker() (byte, error) {
	for {
		b, err := d.src.readByte()
		if err != nil {
			return 0, err
		}
		if b != 0xff {
			continue
		}
		for b == 0xff {
			if b, err = d.src.readByte(); err != nil {
				return 0, err
			}
		}
		if b != 0 {
			return b, nil
		}
	}
}

// segment reads a marker segment's payload (after the length field).
func (d *decoder) segment() ([]byte, error) {
	b, err := d.src.readN(2)
	if err != nil {
		return nil, err
	}
	n := int(b[0])<<8 | int(b[1])
	if n < 2 {
		return nil, FormatError("bad segment length")
	}
	return d.src.readN(n - 2)
}

func (d *decoder) skipSegment() error {
	b, err := d.src.readN(2)
	if err != nil {
		return err
	}
	n := int(b[0])<<8 | int(b[1])
	if n < 2 {
		return FormatError("bad segment length")
	}
	return d.src.skip(n - 2)
}

// processMarker handles every marker except SOI, SOS and EOI.
func (d *decoder) processMarker(m byte) error {
	switch {
	case m == mSOF0 || m == mSOF1 || m == mSOF2:
		p, err := d.segment()
		if err != nil {
			return err
		}
		return d.processSOF(p, m == mSOF2)
	case m == 0xc3 || (m >= 0xc5 && m <= 0xc7) || (m >= 0xcd && m <= 0xcf):
		return UnsupportedError("lossless or hierarchical JPEG")
	case (m >= 0xc9 && m <= 0xcb) || m == 0xcc: // SOF9-11, DAC
		return UnsupportedError("arithmetic coding")
	case m == mDHT:
		p, err := d.segment()
		if err != nil {
			return err
		}
		return d.processDHT(p)
	case m == mDQT:
		p, err := d.segment()
		if err != nil {
			return err
		}
		return d.processDQT(p)
	case m == mDRI:
		p, err := d.segment()
		if err != nil {
			return err
		}
		if len(p) != 2 {
			return FormatError("bad DRI length")
		}
		d.restartInterval = int(p[0])<<8 | int(p[1])
		return nil
	case m == mDNL:
		return UnsupportedError("DNL marker")
	case m == mAPP0, m == mAPP1, m == mAPP14:
		p, err := d.segment()
		if err != nil {
			return err
		}
		d.processAPP(m, p)
		return nil
	case m >= mRST0 && m <= mRST7:
		// A stray restart marker outside a scan carries no payload.
		return nil
	case m >= 0xc0:
		// Other APPn, COM, JPGn and reserved markers: skip.
		return d.skipSegment()
	default:
		return FormatError("unknown marker")
	}
}

func (d *decoder) processAPP(m byte, p []byte) {
	switch m {
	case mAPP0:
		if len(p) >= 5 && string(p[:5]) == "JFIF\x00" {
			d.jfif = true
		}
	case mAPP1:
		if d.exif == nil && len(p) >= 6 && string(p[:6]) == "Exif\x00\x00" {
			d.exif = append([]byte(nil), p[6:]...)
			d.orientation = exifOrientation(d.exif)
		}
	case mAPP14:
		if len(p) >= 12 && string(p[:5]) == "Adobe" {
			d.adobe = true
			d.adobeTransform = p[11]
		}
	}
}

func (d *decoder) processDQT(p []byte) error {
	for len(p) > 0 {
		pq, tq := p[0]>>4, p[0]&15
		if tq > 3 {
			return FormatError("bad DQT table id")
		}
		p = p[1:]
		q := &d.quant[tq]
		switch pq {
		case 0:
			if len(p) < 64 {
				return FormatError("short DQT")
			}
			for i := range q {
				q[i] = int32(p[i])
			}
			p = p[64:]
		case 1:
			if len(p) < 128 {
				return FormatError("short DQT")
			}
			for i := range q {
				q[i] = int32(p[2*i])<<8 | int32(p[2*i+1])
			}
			p = p[128:]
		default:
			return FormatError("bad DQT precision")
		}
		d.quantSet[tq] = true
	}
	return nil
}

func (d *decoder) processDHT(p []byte) error {
	for len(p) > 0 {
		if len(p) < 17 {
			return FormatError("short DHT")
		}
		tc, th := p[0]>>4, p[0]&15
		if tc > 1 || th > 3 {
			return FormatError("bad DHT table id")
		}
		var counts [16]int
		total := 0
		for i := range counts {
			counts[i] = int(p[1+i])
			total += counts[i]
		}
		p = p[17:]
		if total > 256 || total > len(p) {
			return FormatError("bad DHT length")
		}
		var err error
		if tc == 0 {
			err = d.dcHuff[th].build(&counts, p[:total])
		} else {
			err = d.acHuff[th].build(&counts, p[:total])
		}
		if err != nil {
			return err
		}
		p = p[total:]
	}
	return nil
}

func (d *decoder) processSOF(p []byte, progressive bool) error {
	if d.sofSeen {
		return FormatError("multiple SOF markers")
	}
	if len(p) < 6 {
		return FormatError("short SOF")
	}
	if p[0] != 8 {
		return UnsupportedError("precision other than 8 bits")
	}
	d.height = int(p[1])<<8 | int(p[2])
	d.width = int(p[3])<<8 | int(p[4])
	if d.height == 0 {
		return UnsupportedError("DNL-defined height")
	}
	if d.width == 0 {
		return FormatError("zero width")
	}
	n := int(p[5])
	if n != 1 && n != 3 && n != 4 {
		return UnsupportedError("component count")
	}
	if len(p) != 6+3*n {
		return FormatError("bad SOF length")
	}
	d.ncomp = n
	d.progressive = progressive
	d.hmax, d.vmax = 1, 1
	for i := 0; i < n; i++ {
		c := &d.comp[i]
		c.id = p[6+3*i]
		for j := 0; j < i; j++ {
			if d.comp[j].id == c.id {
				return FormatError("repeated component id")
			}
		}
		c.h, c.v = int(p[7+3*i]>>4), int(p[7+3*i]&15)
		if c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4 {
			return FormatError("bad sampling factor")
		}
		if n == 1 {
			// A single component is non-interleaved by definition, so its
			// nominal factors mean nothing (T.81 A.2).
			c.h, c.v = 1, 1
		}
		c.tq = p[8+3*i]
		if c.tq > 3 {
			return FormatError("bad quantization table id")
		}
		d.hmax, d.vmax = max(d.hmax, c.h), max(d.vmax, c.v)
	}
	d.mcusX = ceilDiv(d.width, 8*d.hmax)
	d.mcusY = ceilDiv(d.height, 8*d.vmax)
	for i := 0; i < n; i++ {
		c := &d.comp[i]
		c.bw, c.bh = d.mcusX*c.h, d.mcusY*c.v
		c.rbw = ceilDiv(ceilDiv(d.width*c.h, d.hmax), 8)
		c.rbh = ceilDiv(ceilDiv(d.height*c.v, d.vmax), 8)
	}
	d.sofSeen = true
	return nil
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// chromaBoost is how many halvings of the scale component c can undo
// (Options.SharpChroma): as many as the scale has, and as its subsampling
// allows on both axes at once, since the reduced IDCTs are square. Like
// libjpeg, which scales chroma up by IDCT rather than by upsampling, a
// 1/2 decode of 4:2:0 gets full-resolution chroma, matching its luma.
func (d *decoder) chromaBoost(c *component) uint {
	if d.hmax%c.h != 0 || d.vmax%c.v != 0 {
		return 0
	}
	rh, rv := d.hmax/c.h, d.vmax/c.v
	b := uint(0)
	for b < d.shift && rh%2 == 0 && rv%2 == 0 {
		b++
		rh, rv = rh/2, rv/2
	}
	return b
}

// effH and effV are c's sampling factors as its plane holds it: its
// declared ones, multiplied back up by its chroma boost.
func (d *decoder) effH(c *component) int { return c.h << (d.shift - c.shift) }
func (d *decoder) effV(c *component) int { return c.v << (d.shift - c.shift) }

func (d *decoder) isRGB() bool {
	if d.ncomp != 3 || d.jfif {
		return false
	}
	if d.adobe {
		return d.adobeTransform == 0
	}
	return d.comp[0].id == 'R' && d.comp[1].id == 'G' && d.comp[2].id == 'B'
}

func (d *decoder) config() Config {
	cfg := Config{
		Width:       d.width,
		Height:      d.height,
		Components:  d.ncomp,
		Progressive: d.progressive,
		Orientation: d.orientation,
		EXIF:        d.exif,
	}
	if cfg.Orientation == 0 {
		cfg.Orientation = 1
	}
	switch {
	case d.ncomp == 1:
		cfg.ColorModel = color.GrayModel
	case d.ncomp == 4:
		cfg.ColorModel = color.CMYKModel
	case d.isRGB():
		cfg.ColorModel = color.RGBAModel
	default:
		cfg.ColorModel = color.YCbCrModel
	}
	return cfg
}

// readSOS parses a scan header and checks it against the frame.
func (d *decoder) readSOS() (*scanHeader, error) {
	p, err := d.segment()
	if err != nil {
		return nil, err
	}
	if len(p) < 1 {
		return nil, FormatError("short SOS")
	}
	var s scanHeader
	s.n = int(p[0])
	if s.n < 1 || s.n > d.ncomp || len(p) != 4+2*s.n {
		return nil, FormatError("bad SOS length")
	}
	blocks := 0
	for i := 0; i < s.n; i++ {
		id, t := p[1+2*i], p[2+2*i]
		ci := -1
		for j := 0; j < d.ncomp; j++ {
			if d.comp[j].id == id {
				ci = j
			}
		}
		if ci < 0 {
			return nil, FormatError("unknown component in SOS")
		}
		for j := 0; j < i; j++ {
			if s.comps[j].ci == ci {
				return nil, FormatError("repeated component in SOS")
			}
		}
		s.comps[i] = scanComp{ci: ci, td: t >> 4, ta: t & 15}
		if s.comps[i].td > 3 || s.comps[i].ta > 3 {
			return nil, FormatError("bad Huffman table id")
		}
		blocks += d.comp[ci].h * d.comp[ci].v
	}
	if s.n > 1 && blocks > 10 {
		return nil, FormatError("too many blocks per MCU")
	}
	q := p[1+2*s.n:]
	s.ss, s.se = int(q[0]), int(q[1])
	s.ah, s.al = uint(q[2]>>4), uint(q[2]&15)
	if !d.progressive {
		// Sequential scans are always the full band; some encoders write
		// junk in these fields, which T.81 says to ignore.
		s.ss, s.se, s.ah, s.al = 0, 63, 0, 0
		for i := 0; i < s.n; i++ {
			if !d.dcHuff[s.comps[i].td].defined || !d.acHuff[s.comps[i].ta].defined {
				return nil, FormatError("undefined Huffman table")
			}
		}
		return &s, nil
	}
	if s.ss > s.se || s.se > 63 || s.al > 13 || s.ah > 13 || (s.ah != 0 && s.ah != s.al+1) {
		return nil, FormatError("bad progressive scan parameters")
	}
	if s.ss == 0 {
		if s.se != 0 {
			return nil, FormatError("DC scan with AC coefficients")
		}
		for i := 0; i < s.n; i++ {
			c := &d.comp[s.comps[i].ci]
			if s.ah == 0 && !d.dcHuff[s.comps[i].td].defined {
				return nil, FormatError("undefined Huffman table")
			}
			if s.ah != 0 && !c.dcSeen {
				return nil, FormatError("DC refinement before first DC scan")
			}
		}
	} else {
		if s.n != 1 {
			return nil, FormatError("interleaved AC scan")
		}
		if !d.comp[s.comps[0].ci].dcSeen {
			return nil, FormatError("AC scan before DC scan")
		}
		if !d.acHuff[s.comps[0].ta].defined {
			return nil, FormatError("undefined Huffman table")
		}
	}
	return &s, nil
}

// errImpossibleSize is returned when the input cannot hold the blocks the
// header declares.
var errImpossibleSize = FormatError("image larger than the data could encode")

// allocate sizes the output planes (and, for progressive files, the
// coefficient store) once the first scan starts, after checking the header
// against MaxPixels and against the amount of input left.
func (d *decoder) allocate() error {
	if d.maxPixels > 0 && int64(d.width)*int64(d.height) > d.maxPixels {
		return &LimitError{Width: d.width, Height: d.height, MaxPixels: d.maxPixels}
	}
	var blocks int64
	for i := 0; i < d.ncomp; i++ {
		blocks += int64(d.comp[i].rbw) * int64(d.comp[i].rbh)
	}
	// Every coded block costs at least one bit in some scan.
	if blocks > 8*int64(len(d.src.buf)-d.src.pos) {
		return errImpossibleSize
	}
	for i := 0; i < d.ncomp; i++ {
		c := &d.comp[i]
		c.shift = d.shift
		if d.sharpChroma {
			c.shift -= d.chromaBoost(c)
		}
		c.slots = &slotMaps[c.shift]
		bs := 8 >> c.shift
		c.stride = c.bw * bs
		c.pix = make([]byte, c.stride*c.bh*bs)
		if d.progressive {
			c.coefs = make([]int16, c.bw*c.bh*c.slots.n)
			c.nz = make([]uint64, c.bw*c.bh)
		}
	}
	d.allocated = true
	return nil
}

// decode runs the whole marker loop and assembles the image.
func (d *decoder) decode() (image.Image, error) {
	if err := d.readHeaders(); err != nil {
		return nil, err
	}
	// readHeaders stopped after an SOS marker.
	for {
		if err := d.doScan(); err != nil {
			return nil, err
		}
		m, err := d.nextMarker()
		for err == nil && m != mSOS && m != mEOI {
			if err = d.processMarker(m); err == nil {
				m, err = d.nextMarker()
			}
		}
		if err != nil {
			return nil, err
		}
		if m == mEOI {
			break
		}
	}
	if d.progressive {
		d.reconstruct()
	}
	return d.assemble()
}

func (d *decoder) doScan() error {
	d.nscans++
	if d.nscans > maxScans {
		return FormatError("too many scans")
	}
	s, err := d.readSOS()
	if err != nil {
		return err
	}
	if !d.allocated {
		if err := d.allocate(); err != nil {
			return err
		}
	}
	for i := 0; i < s.n; i++ {
		if !d.quantSet[d.comp[s.comps[i].ci].tq] && !d.progressive {
			return FormatError("undefined quantization table")
		}
	}
	d.resetBits()
	if d.progressive {
		err = d.progressiveScan(s)
	} else {
		err = d.sequentialScan(s)
	}
	if err != nil {
		return err
	}
	return nil
}
