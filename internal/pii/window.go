package pii

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"io"
	"slices"
	"unicode/utf8"
)

const (
	// backHold: a built-in match can start this far before the scan
	// position (an e-mail's local part, found from its '@').
	backHold = maxLocal + 2
	// keepCtx: bytes kept before the scan position for left-context checks.
	keepCtx = 128
)

// window runs a Redactor over one stream through a sliding window. Window
// positions are indexes into buf; buf[0] is the stream's first byte until
// the window first slides.
//
// Built-in matches and pattern matches are found separately, then
// resolved: in order of start, a match is kept unless it overlaps one kept
// before it; at equal starts built-ins come first, then patterns in
// configuration order. A match is resolved once nothing that could start
// before it is still to be found, and output is written up to there.
type window struct {
	r   *Redactor
	src io.Reader
	buf []byte

	bst    scanState
	segPos int     // patterns have run on everything before this
	cands  []match // found, not yet resolved
	accEnd int     // end of the last kept match
	emit   int     // next byte to write out
	eof    bool
	done   bool
	err    error
	hits   int // matches kept since reset

	out    []byte // output not yet handed out
	outOff int

	mac hash.Hash
	sum []byte
}

func (r *Redactor) newWindow(src io.Reader) *window {
	e := &window{r: r, src: src}
	if src != nil {
		e.buf = make([]byte, 0, r.chunk+max(r.lookahead+keepCtx, r.segMax+r.patOver)+keepCtx)
	}
	return e
}

// reset prepares e to redact buf as a whole, in place of a stream.
func (e *window) reset(buf []byte) {
	e.buf = buf
	e.bst = scanState{}
	e.segPos, e.accEnd, e.emit = 0, 0, 0
	e.cands = e.cands[:0]
	e.eof, e.done = true, false
	e.hits = 0
}

// appendText appends the redaction of text to dst, using e's scratch.
func (e *window) appendText(dst, text []byte) []byte {
	e.reset(text)
	e.out = dst
	e.round(true)
	dst = e.out
	e.out = nil
	e.buf = nil
	return dst
}

// round finds and resolves what the window allows and writes output.
func (e *window) round(final bool) {
	r := e.r
	b := e.buf
	stop := len(b)
	if !final {
		stop -= r.lookahead
	}
	if r.enabled == 0 {
		e.bst.pos = max(e.bst.pos, stop)
	} else if e.bst.pos < stop {
		e.cands = r.scanBuiltin(b, &e.bst, stop, e.cands)
	}
	front := len(b)
	if !final {
		front = min(e.bst.pos, stop) - backHold
	}
	if len(r.patterns) > 0 {
		e.runPatterns(final)
		front = min(front, e.segPos)
	}
	if front <= e.emit {
		return
	}
	slices.SortFunc(e.cands, func(x, y match) int {
		if x.s != y.s {
			return x.s - y.s
		}
		return x.det - y.det
	})
	k := 0
	for _, c := range e.cands {
		if c.s >= front {
			e.cands[k] = c
			k++
			continue
		}
		if c.s < e.accEnd || c.s < e.emit {
			continue
		}
		e.out = append(e.out, b[e.emit:c.s]...)
		e.out = e.replacement(e.out, b[c.s:c.e], c.det)
		e.emit, e.accEnd = c.e, c.e
		e.hits++
	}
	e.cands = e.cands[:k]
	if e.emit < front {
		e.out = append(e.out, b[e.emit:front]...)
		e.emit = front
	}
}

// runPatterns runs the operator patterns over whole segments of the
// window. A segment ends at a newline, so (patterns being line-bound) where
// exactly it ends changes nothing; a line longer than segMax is cut every
// segMax bytes, each piece searched patOver bytes further so a match
// crossing the cut is still found once.
func (e *window) runPatterns(final bool) {
	r := e.r
	b := e.buf
	for e.segPos < len(b) {
		avail := len(b) - e.segPos
		if final && avail <= r.segMax {
			e.patternSegment(e.segPos, len(b), len(b))
			e.segPos = len(b)
			return
		}
		w := min(avail, r.segMax)
		if nl := bytes.LastIndexByte(b[e.segPos:e.segPos+w], '\n'); nl >= 0 {
			end := e.segPos + nl + 1
			e.patternSegment(e.segPos, end, end)
			e.segPos = end
			continue
		}
		if !final && avail < r.segMax+r.patOver {
			return
		}
		accept := e.segPos + r.segMax
		last := e.patternSegment(e.segPos, min(len(b), accept+r.patOver), accept)
		e.segPos = max(accept, last)
	}
}

// patternSegment adds the pattern matches in b[s:end] that start before
// accept, and returns the furthest end among them.
func (e *window) patternSegment(s, end, accept int) int {
	seg := e.buf[s:end]
	last := s
	for pi := range e.r.patterns {
		p := &e.r.patterns[pi]
		if p.prefix != nil && bytes.Index(seg, p.prefix) < 0 {
			continue
		}
		for _, loc := range p.re.FindAllIndex(seg, -1) {
			ms, me := s+loc[0], s+loc[1]
			if ms >= accept {
				break
			}
			if me > ms {
				e.cands = append(e.cands, match{ms, me, numBuiltin + pi})
				last = max(last, me)
			}
		}
	}
	return last
}

// replacement appends what value v, found by det, becomes.
func (e *window) replacement(out, v []byte, det int) []byte {
	r := e.r
	switch r.style {
	case StyleMask:
		keep := len(v)
		for n := 0; n < r.keepLast && keep > 0; n++ {
			_, size := utf8.DecodeLastRune(v[:keep])
			keep -= size
		}
		for range keep {
			out = append(out, r.mask)
		}
		return append(out, v[keep:]...)
	case StyleReplace:
		return append(out, r.replace...)
	case StyleEntity:
		out = append(out, '[')
		out = append(out, r.entity(det)...)
		return append(out, ']')
	case StyleHash:
		if e.mac == nil {
			e.mac = hmac.New(sha256.New, r.hashKey)
		}
		e.mac.Reset()
		e.mac.Write(v)
		e.sum = e.mac.Sum(e.sum[:0])
		out = append(out, '[')
		out = append(out, r.entity(det)...)
		out = append(out, ':')
		if r.hashB64 {
			var enc [43]byte
			base64.RawURLEncoding.Encode(enc[:], e.sum)
			out = append(out, enc[:r.hashLen]...)
		} else {
			var enc [64]byte
			hex.Encode(enc[:], e.sum)
			out = append(out, enc[:r.hashLen]...)
		}
		return append(out, ']')
	}
	return append(out, v...)
}

// step reads once and, when the window has enough new bytes (or the
// stream ended), runs a round.
func (e *window) step() {
	r := e.r
	if !e.eof {
		if cap(e.buf)-len(e.buf) < r.chunk {
			e.slide()
		}
		if room := e.buf[len(e.buf):cap(e.buf)]; len(room) > 0 {
			n, err := e.src.Read(room)
			e.buf = e.buf[:len(e.buf)+n]
			if err == io.EOF {
				e.eof = true
			} else if err != nil {
				e.err, e.done = err, true
				return
			}
		}
	}
	if e.eof || len(e.buf)-e.bst.pos >= r.lookahead+r.minFill || len(e.buf) == cap(e.buf) {
		e.round(e.eof)
		if e.eof {
			e.done = true
		}
	}
}

// slide drops the bytes nothing will look at again.
func (e *window) slide() {
	keep := min(e.emit, e.bst.pos-keepCtx)
	if len(e.r.patterns) > 0 {
		keep = min(keep, e.segPos)
	}
	if keep <= 0 {
		return
	}
	n := copy(e.buf, e.buf[keep:])
	e.buf = e.buf[:n]
	e.bst.pos -= keep
	e.bst.lastEnd = max(0, e.bst.lastEnd-keep)
	e.segPos -= keep
	e.emit -= keep
	e.accEnd = max(0, e.accEnd-keep)
	k := 0
	for _, c := range e.cands {
		if c.s >= keep {
			e.cands[k] = match{c.s - keep, c.e - keep, c.det}
			k++
		}
	}
	e.cands = e.cands[:k]
}

// reader is the streaming form of a window.
type reader struct{ e *window }

// Reader returns a reader of src's text with every value found replaced.
// With StyleMask its output has exactly src's length. It works in a fixed
// window (about 100 KiB, more if patterns declare a large MaxLength),
// whatever src's size; values split across src's reads are found all the
// same. It reads src in 64 KiB pieces and holds output back until a piece
// is scanned, so it suits files and streams, not interactive input.
func (r *Redactor) Reader(src io.Reader) io.Reader { return &reader{r.newWindow(src)} }

func (rd *reader) Read(p []byte) (int, error) {
	e := rd.e
	for e.outOff == len(e.out) {
		if e.done {
			if e.err != nil {
				return 0, e.err
			}
			return 0, io.EOF
		}
		e.out, e.outOff = e.out[:0], 0
		e.step()
	}
	n := copy(p, e.out[e.outOff:])
	e.outOff += n
	return n, nil
}

// WriteTo saves a copy when the caller uses io.Copy.
func (rd *reader) WriteTo(w io.Writer) (int64, error) {
	e := rd.e
	var total int64
	for {
		if e.outOff < len(e.out) {
			n, err := w.Write(e.out[e.outOff:])
			total += int64(n)
			e.outOff += n
			if err != nil {
				return total, err
			}
		}
		if e.done {
			return total, e.err
		}
		e.out, e.outOff = e.out[:0], 0
		e.step()
	}
}
