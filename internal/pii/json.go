package pii

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// JSON handling.
//
// A value is "selected" when its key is in Config.JSONKeys or its path
// matches one of Config.JSONPaths; a selected value is redacted whole:
// a string becomes the replacement of its decoded text, a number becomes
// a JSON string holding the replacement of its literal (so 4111...1111
// becomes "****...1111"), true, false and null stay as they are, and an
// object or array has each of its strings and numbers redacted so, keeping
// its shape. Strings that are not selected are run through the detectors
// and patterns. Object keys are never changed.
//
// The output is the same values, keys in the same order and number
// literals unchanged, written compactly (the input's whitespace is not
// kept), so its length usually differs from the input's.

// pathSeg is one step of a JSON path.
type pathSeg struct {
	rec  bool   // reached through "..": any depth below
	any  bool   // "*": any key or index
	key  string // a key, when !any && idx < 0
	idx  int    // an index, or -1
	isIx bool
}

type jsonPath []pathSeg

// parseJSONPath accepts $, .name, .*, ..name, ..*, [N], [*], ['name'] and
// ["name"], e.g. $.orders[*].card, $..email, $['odd.key'][0].
func parseJSONPath(p string) (jsonPath, error) {
	if !strings.HasPrefix(p, "$") {
		return nil, errors.New("must start with $")
	}
	s := p[1:]
	var out jsonPath
	for len(s) > 0 {
		var seg pathSeg
		seg.idx = -1
		switch {
		case strings.HasPrefix(s, ".."):
			seg.rec = true
			s = s[2:]
			if strings.HasPrefix(s, "[") {
				break
			}
			fallthrough
		case s[0] == '.':
			if !seg.rec {
				s = s[1:]
			}
			n := 0
			for n < len(s) && s[n] != '.' && s[n] != '[' {
				n++
			}
			if n == 0 {
				return nil, errors.New("empty name after '.'")
			}
			if s[:n] == "*" {
				seg.any = true
			} else {
				seg.key = s[:n]
			}
			s = s[n:]
			out = append(out, seg)
			continue
		case s[0] != '[':
			return nil, fmt.Errorf("unexpected %q", s[0])
		}
		// Bracket form.
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return nil, errors.New("unclosed [")
		}
		in := s[1:end]
		switch {
		case in == "*":
			seg.any = true
		case len(in) >= 2 && (in[0] == '\'' || in[0] == '"') && in[len(in)-1] == in[0]:
			seg.key = in[1 : len(in)-1]
		default:
			n, err := strconv.Atoi(in)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("bad index [%s]", in)
			}
			seg.idx, seg.isIx = n, true
		}
		s = s[end+1:]
		out = append(out, seg)
	}
	if len(out) == 0 {
		return nil, errors.New("selects the whole document; redact it as text instead")
	}
	return out, nil
}

// pathElem is one step of where the decoder is: a key or an index.
type pathElem struct {
	key  string
	idx  int
	isIx bool
}

func (s *pathSeg) matches(e pathElem) bool {
	switch {
	case s.any:
		return true
	case s.isIx:
		return e.isIx && e.idx == s.idx
	default:
		return !e.isIx && e.key == s.key
	}
}

func matchPath(p []pathSeg, a []pathElem) bool {
	if len(p) == 0 {
		return len(a) == 0
	}
	s := &p[0]
	if s.rec {
		for k := range a {
			if s.matches(a[k]) && matchPath(p[1:], a[k+1:]) {
				return true
			}
		}
		return false
	}
	return len(a) > 0 && s.matches(a[0]) && matchPath(p[1:], a[1:])
}

func (r *Redactor) selected(path []pathElem) bool {
	if len(path) == 0 {
		return false
	}
	if last := path[len(path)-1]; !last.isIx && r.jsonKeys != nil {
		if _, ok := r.jsonKeys[strings.ToLower(last.key)]; ok {
			return true
		}
	}
	for _, p := range r.jsonPaths {
		if matchPath(p, path) {
			return true
		}
	}
	return false
}

// scansText reports whether free text is searched at all.
func (r *Redactor) scansText() bool { return r.enabled != 0 || len(r.patterns) > 0 }

type jsonFrame struct {
	obj     bool
	n       int
	wantKey bool
}

// jsonState is the per-document scratch of the JSON writer.
type jsonState struct {
	r     *Redactor
	e     *engine
	w     *bufio.Writer
	stack []jsonFrame
	path  []pathElem
	whole int // stack depth at which a selected container began, or -1
	val   []byte
	enc   []byte
}

// value copies one top-level JSON value from dec to w.
func (js *jsonState) value(dec *json.Decoder) error {
	js.stack, js.path, js.whole = js.stack[:0], js.path[:0], -1
	for {
		tok, err := dec.Token()
		if err != nil {
			if err == io.EOF {
				return io.ErrUnexpectedEOF
			}
			return err
		}
		if err := js.token(tok); err != nil {
			return err
		}
		if len(js.stack) == 0 {
			return nil
		}
	}
}

func (js *jsonState) sep() {
	if k := len(js.stack); k > 0 {
		f := &js.stack[k-1]
		if !f.obj && f.n > 0 {
			js.w.WriteByte(',')
		}
	}
}

func (js *jsonState) token(tok json.Token) error {
	r := js.r
	if d, ok := tok.(json.Delim); ok {
		switch d {
		case '{', '[':
			js.sep()
			if js.whole < 0 && r.selected(js.path) {
				js.whole = len(js.stack)
			}
			js.w.WriteByte(byte(d))
			js.stack = append(js.stack, jsonFrame{obj: d == '{', wantKey: d == '{'})
			if d == '[' {
				js.path = append(js.path, pathElem{isIx: true})
			}
		default:
			f := js.stack[len(js.stack)-1]
			js.stack = js.stack[:len(js.stack)-1]
			if !f.obj {
				js.path = js.path[:len(js.path)-1]
			}
			js.w.WriteByte(byte(d))
			if js.whole >= len(js.stack) {
				js.whole = -1
			}
			js.afterValue()
		}
		return nil
	}
	if k := len(js.stack); k > 0 && js.stack[k-1].obj && js.stack[k-1].wantKey {
		key, _ := tok.(string)
		f := &js.stack[k-1]
		if f.n > 0 {
			js.w.WriteByte(',')
		}
		js.enc = appendJSONString(js.enc[:0], []byte(key))
		js.w.Write(js.enc)
		js.w.WriteByte(':')
		f.wantKey = false
		js.path = append(js.path, pathElem{key: key})
		return nil
	}
	js.sep()
	whole := js.whole >= 0 || r.selected(js.path)
	switch v := tok.(type) {
	case string:
		switch {
		case whole:
			js.val = js.e.replacement(js.val[:0], []byte(v), detField)
		case r.scansText():
			js.val = js.e.appendText(js.val[:0], []byte(v))
		default:
			js.val = append(js.val[:0], v...)
		}
		js.enc = appendJSONString(js.enc[:0], js.val)
		js.w.Write(js.enc)
	case json.Number:
		if whole {
			js.val = js.e.replacement(js.val[:0], []byte(v), detField)
			js.enc = appendJSONString(js.enc[:0], js.val)
			js.w.Write(js.enc)
		} else {
			js.w.WriteString(string(v))
		}
	case bool:
		if v {
			js.w.WriteString("true")
		} else {
			js.w.WriteString("false")
		}
	case nil:
		js.w.WriteString("null")
	default:
		return fmt.Errorf("pii: unexpected JSON token %T", tok)
	}
	js.afterValue()
	return nil
}

// afterValue closes the key of an object member once its value is written.
func (js *jsonState) afterValue() {
	k := len(js.stack)
	if k == 0 {
		return
	}
	f := &js.stack[k-1]
	f.n++
	if f.obj {
		f.wantKey = true
		js.path = js.path[:len(js.path)-1]
	} else {
		js.path[len(js.path)-1].idx++
	}
}

// appendJSONString appends s as a JSON string literal. Invalid UTF-8
// becomes U+FFFD, as encoding/json does; HTML characters are left alone.
func appendJSONString(dst []byte, s []byte) []byte {
	const hexd = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexd[c>>4], hexd[c&0xf])
			}
			i++
			start = i
			continue
		}
		rn, size := utf8.DecodeRune(s[i:])
		if rn == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

func (r *Redactor) newJSONState(w *bufio.Writer) *jsonState {
	return &jsonState{r: r, e: r.newEngine(nil), w: w, whole: -1}
}

// redactJSON copies a JSON document (or several, written one after
// another) from src to w.
func (r *Redactor) redactJSON(w *bufio.Writer, src io.Reader) error {
	dec := json.NewDecoder(src)
	dec.UseNumber()
	js := r.newJSONState(w)
	for first := true; ; first = false {
		if !dec.More() {
			// More is false at EOF and at a stray closing delimiter; Token
			// tells them apart.
			if _, err := dec.Token(); err != io.EOF {
				if err == nil {
					err = errors.New("pii: unexpected closing delimiter")
				}
				return err
			}
			if first {
				return io.ErrUnexpectedEOF
			}
			return nil
		}
		if !first {
			w.WriteByte('\n')
		}
		if err := js.value(dec); err != nil {
			return err
		}
	}
}

// LineTooLongError is returned when an NDJSON line exceeds Config.MaxLine.
type LineTooLongError struct {
	Line  int // 1-based
	Limit int
}

func (e *LineTooLongError) Error() string {
	return fmt.Sprintf("pii: ndjson line %d is longer than %d bytes", e.Line, e.Limit)
}

// redactNDJSON redacts one JSON value per line, keeping blank lines and
// each line's terminator ("\n" or "\r\n"); a line that is not one JSON
// value is an error.
func (r *Redactor) redactNDJSON(w *bufio.Writer, src io.Reader) error {
	br := bufio.NewReaderSize(src, 64<<10)
	js := r.newJSONState(w)
	var line []byte
	var rd bytes.Reader
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
		if len(bytes.TrimSpace(body)) == 0 {
			w.Write(line)
		} else {
			rd.Reset(body)
			dec := json.NewDecoder(&rd)
			dec.UseNumber()
			if verr := js.value(dec); verr != nil {
				return fmt.Errorf("pii: ndjson line %d: %w", ln, verr)
			}
			if _, terr := dec.Token(); terr != io.EOF {
				return fmt.Errorf("pii: ndjson line %d: more than one JSON value", ln)
			}
			w.Write(term)
		}
		if err == io.EOF {
			return nil
		}
	}
}

func splitTerm(line []byte) (body, term []byte) {
	n := len(line)
	if n > 0 && line[n-1] == '\n' {
		n--
		if n > 0 && line[n-1] == '\r' {
			n--
		}
	}
	return line[:n], line[n:]
}
