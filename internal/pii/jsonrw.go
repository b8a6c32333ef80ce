package pii

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"unicode/utf16"
	"unicode/utf8"
)

// maxJSONDepth bounds nesting, so a hostile document cannot run the
// rewriter's recursion arbitrarily deep.
const maxJSONDepth = 10000

// jsonRW copies JSON from in to w, validating it and rewriting only the
// strings and numbers that are redacted. It reads through a bufio.Reader,
// so a document of any size streams; one string or number is held in
// memory at a time, up to Config.MaxLine bytes.
type jsonRW struct {
	r     *Redactor
	e     *window
	in    *bufio.Reader
	w     *bufio.Writer
	track bool // any JSONKeys or JSONPaths: keep the path
	scan  bool // run the detectors over strings
	path  []pathElem
	st    []uint64 // path states, len(jsonPaths) words per level of path
	keys  [][]byte // key storage per depth, reused
	whole int      // len(path) where a selected container began, or -1

	raw, txt, val, enc, lower []byte
}

func (r *Redactor) newJSONRW(in *bufio.Reader, w *bufio.Writer) *jsonRW {
	p := &jsonRW{
		r: r, e: r.newWindow(nil), in: in, w: w,
		track: len(r.jsonKeys) > 0 || len(r.jsonPaths) > 0,
		scan:  r.scansText(),
		whole: -1,
	}
	// The root: every path has matched nothing yet.
	for range r.jsonPaths {
		p.st = append(p.st, 1)
	}
	return p
}

// JSONSyntaxError reports input that is not JSON.
type JSONSyntaxError struct {
	Msg string
}

func (e *JSONSyntaxError) Error() string { return "pii: invalid JSON: " + e.Msg }

func synErr(format string, a ...any) error {
	return &JSONSyntaxError{Msg: fmt.Sprintf(format, a...)}
}

func noEOF(err error) error {
	if err == io.EOF {
		return synErr("unexpected end of input")
	}
	return err
}

// ws copies whitespace through and returns the next byte, consumed.
func (p *jsonRW) ws() (byte, error) {
	for {
		c, err := p.in.ReadByte()
		if err != nil {
			return 0, err
		}
		switch c {
		case ' ', '\t', '\n', '\r':
			p.w.WriteByte(c)
		default:
			return c, nil
		}
	}
}

// value copies one value whose first byte c has been read.
func (p *jsonRW) value(c byte, depth int) error {
	switch {
	case c == '{' || c == '[':
		if depth >= maxJSONDepth {
			return synErr("nested deeper than %d", maxJSONDepth)
		}
		began := false
		if p.whole < 0 && p.selected() {
			p.whole, began = len(p.path), true
		}
		var err error
		if c == '{' {
			err = p.object(depth)
		} else {
			err = p.array(depth)
		}
		if began {
			p.whole = -1
		}
		return err
	case c == '"':
		return p.str()
	case c == '-' || isDigit(c):
		return p.number(c)
	case c == 't':
		return p.literal("true")
	case c == 'f':
		return p.literal("false")
	case c == 'n':
		return p.literal("null")
	}
	return synErr("unexpected %q", c)
}

func (p *jsonRW) object(depth int) error {
	p.w.WriteByte('{')
	c, err := p.ws()
	if err != nil {
		return noEOF(err)
	}
	if c == '}' {
		p.w.WriteByte('}')
		return nil
	}
	for {
		if c != '"' {
			return synErr("object key must be a string, found %q", c)
		}
		if err := p.readString(); err != nil {
			return err
		}
		hasBS, err := p.checkString()
		if err != nil {
			return err
		}
		p.w.WriteByte('"')
		p.w.Write(p.raw)
		p.w.WriteByte('"')
		if p.track {
			for len(p.keys) <= depth {
				p.keys = append(p.keys, nil)
			}
			k := p.keys[depth][:0]
			if hasBS {
				k, _ = decodeJSONString(k, p.raw)
			} else {
				k = append(k, p.raw...)
			}
			p.keys[depth] = k
			p.push(pathElem{key: k})
		}
		if c, err = p.ws(); err != nil {
			return noEOF(err)
		}
		if c != ':' {
			return synErr("expected ':' after object key, found %q", c)
		}
		p.w.WriteByte(':')
		if c, err = p.ws(); err != nil {
			return noEOF(err)
		}
		if err := p.value(c, depth+1); err != nil {
			return err
		}
		if p.track {
			p.pop()
		}
		if c, err = p.ws(); err != nil {
			return noEOF(err)
		}
		switch c {
		case ',':
			p.w.WriteByte(',')
			if c, err = p.ws(); err != nil {
				return noEOF(err)
			}
		case '}':
			p.w.WriteByte('}')
			return nil
		default:
			return synErr("expected ',' or '}' in object, found %q", c)
		}
	}
}

func (p *jsonRW) array(depth int) error {
	p.w.WriteByte('[')
	c, err := p.ws()
	if err != nil {
		return noEOF(err)
	}
	if c == ']' {
		p.w.WriteByte(']')
		return nil
	}
	if p.track {
		p.push(pathElem{isIx: true})
	}
	for i := 0; ; i++ {
		if p.track && i > 0 {
			p.setIndex(i)
		}
		if err := p.value(c, depth+1); err != nil {
			return err
		}
		if c, err = p.ws(); err != nil {
			return noEOF(err)
		}
		switch c {
		case ',':
			p.w.WriteByte(',')
			if c, err = p.ws(); err != nil {
				return noEOF(err)
			}
		case ']':
			p.w.WriteByte(']')
			if p.track {
				p.pop()
			}
			return nil
		default:
			return synErr("expected ',' or ']' in array, found %q", c)
		}
	}
}

// isWhole reports whether the scalar at the current path is redacted whole.
func (p *jsonRW) isWhole() bool {
	return p.whole >= 0 || p.selected()
}

func (p *jsonRW) selected() bool {
	if !p.track || len(p.path) == 0 {
		return false
	}
	n := len(p.r.jsonPaths)
	return p.r.keySelected(p.path, &p.lower) || n > 0 && p.r.pathSelected(p.st[len(p.st)-n:])
}

// push enters step e.
func (p *jsonRW) push(e pathElem) {
	p.path = append(p.path, e)
	if n := len(p.r.jsonPaths); n > 0 {
		p.st = p.r.pathStates(p.st, p.st[len(p.st)-n:], e)
	}
}

// pop leaves the innermost step.
func (p *jsonRW) pop() {
	p.path = p.path[:len(p.path)-1]
	p.st = p.st[:len(p.st)-len(p.r.jsonPaths)]
}

// setIndex moves the innermost step, an array slot, to index i.
func (p *jsonRW) setIndex(i int) {
	p.pop()
	p.push(pathElem{isIx: true, idx: i})
}

func (p *jsonRW) str() error {
	if err := p.readString(); err != nil {
		return err
	}
	hasBS, err := p.checkString()
	if err != nil {
		return err
	}
	whole := p.isWhole()
	if !whole && !p.scan {
		p.writeRaw()
		return nil
	}
	text := p.raw
	if hasBS {
		text = p.txt // decoded by checkString
	}
	if whole {
		p.val = p.e.replacement(p.val[:0], text, detField)
	} else {
		p.val = p.e.appendText(p.val[:0], text)
		if p.e.hits == 0 {
			p.writeRaw()
			return nil
		}
	}
	p.enc = appendJSONString(p.enc[:0], p.val)
	p.w.Write(p.enc)
	return nil
}

func (p *jsonRW) writeRaw() {
	p.w.WriteByte('"')
	p.w.Write(p.raw)
	p.w.WriteByte('"')
}

// readString reads a string's raw content, the opening quote already read,
// into p.raw (without quotes).
func (p *jsonRW) readString() error {
	p.raw = p.raw[:0]
	for {
		chunk, err := p.in.ReadSlice('"')
		if err == bufio.ErrBufferFull {
			p.raw = append(p.raw, chunk...)
			if len(p.raw) > p.r.maxLine {
				return &JSONSyntaxError{Msg: fmt.Sprintf("string longer than %d bytes", p.r.maxLine)}
			}
			continue
		}
		if err != nil {
			return noEOF(err)
		}
		p.raw = append(p.raw, chunk[:len(chunk)-1]...)
		bs := 0
		for bs < len(p.raw) && p.raw[len(p.raw)-1-bs] == '\\' {
			bs++
		}
		if bs%2 == 1 {
			p.raw = append(p.raw, '"')
			continue
		}
		if len(p.raw) > p.r.maxLine {
			return &JSONSyntaxError{Msg: fmt.Sprintf("string longer than %d bytes", p.r.maxLine)}
		}
		return nil
	}
}

// checkString validates p.raw and reports whether it has escapes.
func (p *jsonRW) checkString() (bool, error) {
	hasBS := false
	for _, c := range p.raw {
		if c < 0x20 {
			return false, synErr("control character %q in string", c)
		}
		if c == '\\' {
			hasBS = true
		}
	}
	if hasBS {
		var err error
		if p.txt, err = decodeJSONString(p.txt[:0], p.raw); err != nil {
			return false, err
		}
	}
	return hasBS, nil
}

// decodeJSONString appends the text of raw string content to dst. Lone
// surrogates become U+FFFD, as encoding/json decodes them.
func decodeJSONString(dst, raw []byte) ([]byte, error) {
	for i := 0; i < len(raw); {
		j := bytes.IndexByte(raw[i:], '\\')
		if j < 0 {
			return append(dst, raw[i:]...), nil
		}
		dst = append(dst, raw[i:i+j]...)
		i += j
		if i+1 >= len(raw) {
			return dst, synErr("bad escape")
		}
		switch c := raw[i+1]; c {
		case '"', '\\', '/':
			dst = append(dst, c)
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r1, ok := hex4(raw[i+2:])
			if !ok {
				return dst, synErr("bad \\u escape")
			}
			i += 6
			if utf16.IsSurrogate(r1) {
				if i+1 < len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
					if r2, ok := hex4(raw[i+2:]); ok {
						if rr := utf16.DecodeRune(r1, r2); rr != utf8.RuneError {
							dst = utf8.AppendRune(dst, rr)
							i += 6
							continue
						}
					}
				}
				r1 = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r1)
			continue
		default:
			return dst, synErr("bad escape \\%c", c)
		}
		i += 2
	}
	return dst, nil
}

func hex4(s []byte) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range s[:4] {
		var v byte
		switch {
		case c >= '0' && c <= '9':
			v = c - '0'
		case c >= 'a' && c <= 'f':
			v = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			v = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(v)
	}
	return r, true
}

// number copies a number whose first byte c has been read.
func (p *jsonRW) number(c byte) error {
	num := append(p.raw[:0], c)
	for {
		c, err := p.in.ReadByte()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if !(isDigit(c) || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
			p.in.UnreadByte()
			break
		}
		num = append(num, c)
		if len(num) > 4096 {
			return synErr("number too long")
		}
	}
	p.raw = num
	if !validNumber(num) {
		// The literal is not quoted: it may be personal data, and this
		// message ends up in logs.
		return synErr("bad number literal of %d bytes", len(num))
	}
	if p.isWhole() {
		p.val = p.e.replacement(p.val[:0], num, detField)
		p.enc = appendJSONString(p.enc[:0], p.val)
		p.w.Write(p.enc)
		return nil
	}
	// Phone numbers, card numbers and IDs are often stored as JSON
	// numbers; a long integer gets the detectors like a string would, and
	// a hit becomes a string holding the replacement.
	if p.scan && len(num) >= 8 && isInteger(num) {
		p.val = p.e.appendText(p.val[:0], num)
		if p.e.hits > 0 {
			p.enc = appendJSONString(p.enc[:0], p.val)
			p.w.Write(p.enc)
			return nil
		}
	}
	p.w.Write(num)
	return nil
}

// isInteger reports whether a number literal has only digits.
func isInteger(num []byte) bool {
	for _, c := range num {
		if !isDigit(c) {
			return false
		}
	}
	return true
}

// validNumber checks JSON's number grammar:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func validNumber(s []byte) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		st := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i == st {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		st := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i == st {
			return false
		}
	}
	return i == len(s)
}

func (p *jsonRW) literal(word string) error {
	for k := 1; k < len(word); k++ {
		c, err := p.in.ReadByte()
		if err != nil {
			return noEOF(err)
		}
		if c != word[k] {
			return synErr("bad literal, expected %q", word)
		}
	}
	p.w.WriteString(word)
	return nil
}

// redactJSON copies a JSON document (or several in a row) from src to w.
func (r *Redactor) redactJSON(w *bufio.Writer, src io.Reader) error {
	p := r.newJSONRW(bufio.NewReaderSize(src, 64<<10), w)
	copyBOM(p.in, w)
	for first := true; ; first = false {
		c, err := p.ws()
		if err == io.EOF {
			if first {
				return synErr("empty input")
			}
			return nil
		}
		if err != nil {
			return err
		}
		if err := p.value(c, 0); err != nil {
			return err
		}
	}
}

// redactNDJSON redacts one JSON value per line, keeping blank lines and
// each line's terminator ("\n" or "\r\n"); a line that is not one JSON
// value is an error.
func (r *Redactor) redactNDJSON(w *bufio.Writer, src io.Reader) error {
	br := bufio.NewReaderSize(src, 64<<10)
	var lineRd bytes.Reader
	p := r.newJSONRW(bufio.NewReaderSize(&lineRd, 64<<10), w)
	var line []byte
	for ln := 1; ; ln++ {
		line = line[:0]
		var err error
		for {
			var frag []byte
			frag, err = br.ReadSlice('\n')
			if len(line)+len(frag) > r.maxLine+2 {
				return &LineTooLongError{Line: ln, Limit: r.maxLine}
			}
			line = append(line, frag...)
			if err != bufio.ErrBufferFull {
				break
			}
		}
		if err != nil && err != io.EOF {
			return err
		}
		if len(line) == 0 {
			return nil
		}
		body, term := splitTerm(line)
		if len(body) > r.maxLine {
			return &LineTooLongError{Line: ln, Limit: r.maxLine}
		}
		if ln == 1 && bytes.HasPrefix(body, bom) {
			// Some editors start a file with a byte order mark.
			w.Write(bom)
			body = body[len(bom):]
		}
		if len(bytes.TrimSpace(body)) == 0 {
			w.Write(body)
			w.Write(term)
		} else {
			lineRd.Reset(body)
			p.in.Reset(&lineRd)
			c, _ := p.ws()
			if verr := p.value(c, 0); verr != nil {
				return fmt.Errorf("pii: ndjson line %d: %w", ln, verr)
			}
			if c, werr := p.ws(); werr != io.EOF {
				if werr == nil {
					werr = synErr("unexpected %q after the value", c)
				}
				return fmt.Errorf("pii: ndjson line %d: %w", ln, werr)
			}
			w.Write(term)
		}
		if err == io.EOF {
			return nil
		}
	}
}

var bom = []byte("\ufeff")

// copyBOM copies a leading UTF-8 byte order mark, which JSON's grammar
// does not allow but some editors write.
func copyBOM(in *bufio.Reader, w *bufio.Writer) {
	if b, _ := in.Peek(len(bom)); bytes.Equal(b, bom) {
		in.Discard(len(bom))
		w.Write(bom)
	}
}
