package localoss

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// evalPreconditions applies RFC 9110 section 13.2.2 to a GET/HEAD of an
// existing object: If-Match, else If-Unmodified-Since (412); then
// If-None-Match, else If-Modified-Since (304). It returns 0 when the request
// proceeds, and the header that failed for a 412.
func evalPreconditions(r *http.Request, etag string, mtime time.Time) (status int, condition string) {
	if im := r.Header.Get("If-Match"); im != "" {
		if !etagListMatches(im, etag, false) {
			return http.StatusPreconditionFailed, "If-Match"
		}
	} else if t, ok := headerTime(r, "If-Unmodified-Since"); ok && mtime.After(t) {
		return http.StatusPreconditionFailed, "If-Unmodified-Since"
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		if etagListMatches(inm, etag, true) {
			return http.StatusNotModified, ""
		}
	} else if t, ok := headerTime(r, "If-Modified-Since"); ok && !mtime.After(t) {
		return http.StatusNotModified, ""
	}
	return 0, ""
}

// ifRangeHolds reports whether a Range header may be honoured: If-Range is
// absent, or names the current ETag (strongly) or exactly the current
// Last-Modified.
func ifRangeHolds(r *http.Request, etag string, mtime time.Time) bool {
	ir := strings.TrimSpace(r.Header.Get("If-Range"))
	if ir == "" || r.Header.Get("Range") == "" {
		return true
	}
	if strings.HasPrefix(ir, `"`) || strings.HasPrefix(ir, "W/") {
		return !strings.HasPrefix(ir, "W/") && ir == etag
	}
	t, err := http.ParseTime(ir)
	return err == nil && t.Equal(mtime)
}

func headerTime(r *http.Request, name string) (time.Time, bool) {
	v := r.Header.Get(name)
	if v == "" {
		return time.Time{}, false
	}
	t, err := http.ParseTime(v)
	return t, err == nil
}

// etagListMatches reports whether the If-Match/If-None-Match list matches
// etag (quoted, strong). "*" matches any existing object. Weak comparison
// ignores the W/ prefix; strong comparison never matches a weak tag.
func etagListMatches(list, etag string, weak bool) bool {
	if strings.TrimSpace(list) == "*" {
		return true
	}
	for _, tag := range scanETags(list) {
		isWeak := strings.HasPrefix(tag, "W/")
		if isWeak && !weak {
			continue
		}
		if strings.TrimPrefix(tag, "W/") == etag {
			return true
		}
	}
	return false
}

// scanETags splits an entity-tag list. Commas may appear inside quotes, so
// a plain split on commas is not enough.
func scanETags(list string) []string {
	var out []string
	for i := 0; i < len(list); {
		c := list[i]
		if c == ' ' || c == '\t' || c == ',' {
			i++
			continue
		}
		start := i
		if strings.HasPrefix(list[i:], "W/") {
			i += 2
		}
		if i >= len(list) || list[i] != '"' {
			// Not an entity-tag: skip to the next element.
			for i < len(list) && list[i] != ',' {
				i++
			}
			continue
		}
		end := strings.IndexByte(list[i+1:], '"')
		if end < 0 {
			break
		}
		i += end + 2
		out = append(out, list[start:i])
	}
	return out
}

type rangeResult int

const (
	rangeNone          rangeResult = iota // serve the whole object (200)
	rangePartial                          // serve [start, end] (206)
	rangeUnsatisfiable                    // 416
)

// parseRange applies OSS's Range rules for an object of size bytes.
//
// OSS supports one range. Malformed headers, multiple ranges and first >
// last are ignored. By default OSS also ignores ranges that do not fit the
// object (200, whole object); with standard (x-oss-range-behavior:
// standard) a last byte past the end is truncated and a first byte past it
// (or any range of an empty object, or a zero-length suffix) is answered
// 416, as RFC 9110 prescribes.
func parseRange(h string, size int64, standard bool) (start, end int64, res rangeResult) {
	spec, ok := strings.CutPrefix(strings.TrimSpace(h), "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return 0, 0, rangeNone
	}
	first, last, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return 0, 0, rangeNone
	}
	unsatisfiable := rangeNone
	if standard {
		unsatisfiable = rangeUnsatisfiable
	}
	if first == "" {
		n, err := parseDigits(last)
		if err != nil {
			return 0, 0, rangeNone
		}
		if n == 0 || size == 0 {
			return 0, 0, unsatisfiable
		}
		if n > size {
			if !standard {
				return 0, 0, rangeNone
			}
			n = size
		}
		return size - n, size - 1, rangePartial
	}
	a, err := parseDigits(first)
	if err != nil {
		return 0, 0, rangeNone
	}
	b := size - 1
	if last != "" {
		if b, err = parseDigits(last); err != nil || b < a {
			return 0, 0, rangeNone
		}
	}
	if a >= size {
		return 0, 0, unsatisfiable
	}
	if b >= size {
		if !standard {
			return 0, 0, rangeNone
		}
		b = size - 1
	}
	return a, b, rangePartial
}

// parseDigits parses a non-negative decimal without the sign strconv
// would accept.
func parseDigits(s string) (int64, error) {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, strconv.ErrSyntax
	}
	return strconv.ParseInt(s, 10, 64)
}
