package pii

import (
	"errors"
	"fmt"
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
// and patterns, and so are integer literals of eight or more digits (phone
// and card numbers are often stored as numbers): one with a hit becomes a
// string holding the replacement. Object keys are never changed.
//
// The output is the input byte for byte except for the strings and numbers
// that were redacted: whitespace, key order, escapes and number literals
// are kept. A string that is redacted is written back with only the
// escaping JSON needs.

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
	if len(out) > 63 {
		return nil, errors.New("more than 63 steps")
	}
	return out, nil
}

// pathElem is one step of where the decoder is: a key or an index.
type pathElem struct {
	key  []byte
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
		return !e.isIx && string(e.key) == s.key
	}
}

// keySelected reports whether the last step of path is a key named in
// JSONKeys; lower is scratch for case folding.
func (r *Redactor) keySelected(path []pathElem, lower *[]byte) bool {
	if len(path) == 0 || r.jsonKeys == nil {
		return false
	}
	last := path[len(path)-1]
	if last.isIx {
		return false
	}
	l := (*lower)[:0]
	for _, c := range last.key {
		if c >= utf8.RuneSelf {
			// Rare: fold as the configured names were folded.
			l = append(l[:0], strings.ToLower(string(last.key))...)
			break
		}
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		l = append(l, c)
	}
	*lower = l
	_, ok := r.jsonKeys[string(l)]
	return ok
}

// pathStates advances every JSON path by one step e. A path's state is a
// bit set over its segments: bit k means the first k segments match the
// steps so far. Tracking states step by step keeps the cost per value at
// O(paths x segments) however deep the document nests.
func (r *Redactor) pathStates(dst, prev []uint64, e pathElem) []uint64 {
	for i, jp := range r.jsonPaths {
		var next uint64
		for k := range jp {
			if prev[i]&(1<<k) == 0 {
				continue
			}
			if jp[k].rec {
				next |= 1 << k
			}
			if jp[k].matches(e) {
				next |= 1 << (k + 1)
			}
		}
		dst = append(dst, next)
	}
	return dst
}

// pathSelected reports whether some path has matched every segment.
func (r *Redactor) pathSelected(states []uint64) bool {
	for i, jp := range r.jsonPaths {
		if states[i]&(1<<len(jp)) != 0 {
			return true
		}
	}
	return false
}

// scansText reports whether free text is searched at all.
func (r *Redactor) scansText() bool { return r.enabled != 0 || len(r.patterns) > 0 }

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

// LineTooLongError is returned when an NDJSON line exceeds Config.MaxLine.
type LineTooLongError struct {
	Line  int // 1-based
	Limit int
}

func (e *LineTooLongError) Error() string {
	return fmt.Sprintf("pii: ndjson line %d is longer than %d bytes", e.Line, e.Limit)
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
