package engine

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RFC 9110 §13 for responses the handler makes itself (transformed
// objects), where the origin's answers to the client's conditionals would
// be about other bytes.

// precondition returns 412, 304 or 0 (go ahead) for a GET of a
// representation with the given ETag and last-modified time.
func precondition(h http.Header, etag string, modified time.Time) int {
	if im := h.Get("If-Match"); im != "" {
		if !etagListMatch(im, etag, true) {
			return http.StatusPreconditionFailed
		}
	} else if ius, err := http.ParseTime(h.Get("If-Unmodified-Since")); err == nil && !modified.IsZero() {
		if modified.Truncate(time.Second).After(ius) {
			return http.StatusPreconditionFailed
		}
	}
	if inm := h.Get("If-None-Match"); inm != "" {
		if etagListMatch(inm, etag, false) {
			return http.StatusNotModified
		}
	} else if ims, err := http.ParseTime(h.Get("If-Modified-Since")); err == nil && !modified.IsZero() {
		if !modified.Truncate(time.Second).After(ims) {
			return http.StatusNotModified
		}
	}
	return 0
}

// etagListMatch compares etag with a header's list ("*" or entity tags).
// The strong comparison is for If-Match, the weak one for If-None-Match.
func etagListMatch(list, etag string, strong bool) bool {
	if etag == "" {
		return false
	}
	if strings.TrimSpace(list) == "*" {
		return true
	}
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimSpace(t)
		weakT := strings.HasPrefix(t, "W/")
		weakE := strings.HasPrefix(etag, "W/")
		if strong && (weakT || weakE) {
			continue
		}
		if strings.TrimPrefix(t, "W/") == strings.TrimPrefix(etag, "W/") {
			return true
		}
	}
	return false
}

// byteRange is a satisfiable single range of a body of known size.
type byteRange struct{ start, length int64 }

func (r byteRange) contentRange(size int64) string {
	return fmt.Sprintf("bytes %d-%d/%d", r.start, r.start+r.length-1, size)
}

// parseRange reads a Range header for a body of size bytes. ok is false
// when the header is absent, malformed or asks for several ranges, which
// RFC 9110 lets a server answer with the whole body. unsatisfiable is set
// for a well-formed range that selects nothing (416).
func parseRange(h http.Header, size int64, etag string, modified time.Time) (r byteRange, ok, unsatisfiable bool) {
	spec := h.Get("Range")
	if spec == "" {
		return r, false, false
	}
	if ir := h.Get("If-Range"); ir != "" {
		if strings.HasPrefix(ir, `"`) || strings.HasPrefix(ir, "W/") {
			if ir != etag || strings.HasPrefix(ir, "W/") {
				return r, false, false
			}
		} else if t, err := http.ParseTime(ir); err != nil || !t.Equal(modified.Truncate(time.Second)) {
			return r, false, false
		}
	}
	set, found := strings.CutPrefix(strings.TrimSpace(spec), "bytes=")
	if !found || strings.Contains(set, ",") {
		return r, false, false
	}
	first, last, found := strings.Cut(strings.TrimSpace(set), "-")
	if !found {
		return r, false, false
	}
	first, last = strings.TrimSpace(first), strings.TrimSpace(last)
	if first == "" {
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n < 0 {
			return r, false, false
		}
		if n == 0 || size == 0 {
			return r, true, true
		}
		n = min(n, size)
		return byteRange{size - n, n}, true, false
	}
	start, err := strconv.ParseInt(first, 10, 64)
	if err != nil || start < 0 {
		return r, false, false
	}
	end := size - 1
	if last != "" {
		e, err := strconv.ParseInt(last, 10, 64)
		if err != nil || e < start {
			return r, false, false
		}
		end = min(e, size-1)
	}
	if start >= size {
		return r, true, true
	}
	return byteRange{start, end - start + 1}, true, false
}
