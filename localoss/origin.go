package localoss

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc64"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/opaprules/opaprules/internal/ossmeta"
)

var crcTable = crc64.MakeTable(crc64.ECMA)

// object is an opened origin object with everything its headers need.
type object struct {
	f     fs.File
	size  int64
	mtime time.Time
	etag  string // quoted
	md5   []byte // nil when beyond DigestLimit
	crc   uint64
	meta  http.Header
}

// checkKey refuses keys that cannot name a file inside the folder.
// Traversal attempts get 400 InvalidObjectName; keys that are valid for OSS
// but cannot exist as a file here ("a//b", "dir/") simply do not exist.
func checkKey(key string) *ossError {
	invalid := func(msg string) *ossError {
		e := newError(http.StatusBadRequest, "InvalidObjectName", msg)
		e.Key = key
		return e
	}
	if len(key) > 1023 {
		return invalid("The object name is longer than 1023 bytes.")
	}
	if !utf8.ValidString(key) || strings.ContainsAny(key, "\x00\\") {
		return invalid("The object name contains invalid characters.")
	}
	for _, el := range strings.Split(key, "/") {
		if el == "." || el == ".." {
			return invalid("The object name must not contain '.' or '..' path segments.")
		}
	}
	if !fs.ValidPath(key) || ossmeta.IsSidecar(key) {
		return errNoSuchKey(key)
	}
	return nil
}

// openObject opens key and gathers its metadata. The caller closes o.f.
func (s *Server) openObject(key string) (*object, *ossError) {
	f, st, err := s.openRegular(key)
	if err != nil {
		switch {
		case errors.Is(err, fs.ErrNotExist), errors.Is(err, fs.ErrInvalid), errors.Is(err, errNotRegular):
			return nil, errNoSuchKey(key)
		case errors.Is(err, fs.ErrPermission), isEscape(err):
			return nil, errAccessDenied("The object cannot be read: " + err.Error())
		}
		return nil, newError(http.StatusInternalServerError, "InternalError", err.Error())
	}
	o := &object{f: f, size: st.Size(), mtime: st.ModTime().UTC().Truncate(time.Second)}
	if o.mtime.IsZero() || o.mtime.Unix() <= 0 {
		// embed.FS and some test file systems have no times.
		o.mtime = s.started
	}
	if o.meta, err = s.readMeta(key); err != nil {
		f.Close()
		s.log.Warn("bad object metadata sidecar", slog.String("key", key), slog.Any("err", err))
		return nil, newError(http.StatusInternalServerError, "InternalError", "invalid "+key+ossmeta.Suffix+": "+err.Error())
	}
	if s.cfg.DigestLimit < 0 || o.size <= s.cfg.DigestLimit {
		d, err := s.digest(key, o, st.ModTime())
		if err != nil {
			f.Close()
			return nil, newError(http.StatusInternalServerError, "InternalError", err.Error())
		}
		o.md5, o.crc = d.md5[:], d.crc
		o.etag = `"` + strings.ToUpper(hex.EncodeToString(d.md5[:])) + `"`
	} else {
		// Shaped like a multipart ETag, which clients already treat as
		// opaque rather than as an MD5.
		sum := md5.Sum(fmt.Appendf(nil, "%s\x00%d\x00%d", key, o.size, st.ModTime().UnixNano()))
		parts := (o.size + 8<<20 - 1) / (8 << 20)
		o.etag = fmt.Sprintf(`"%s-%d"`, strings.ToUpper(hex.EncodeToString(sum[:])), parts)
	}
	return o, nil
}

func (s *Server) readMeta(key string) (http.Header, error) {
	f, _, err := s.openRegular(key + ossmeta.Suffix)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ossmeta.Decode(f)
}

// digests caches content MD5 and CRC-64/ECMA by (key, size, mtime), so
// each version of a file is read for them once.
type digestKey struct {
	key   string
	size  int64
	mtime int64
}

type digestValue struct {
	md5 [16]byte
	crc uint64
}

type digestCache struct {
	mu sync.Mutex
	m  map[digestKey]digestValue
}

const maxDigestEntries = 4096

func (s *Server) digest(key string, o *object, mtime time.Time) (digestValue, error) {
	k := digestKey{key, o.size, mtime.UnixNano()}
	c := &s.digests
	c.mu.Lock()
	d, ok := c.m[k]
	c.mu.Unlock()
	if ok {
		return d, nil
	}
	// Read through ReadAt when possible so the handle's offset stays at 0
	// for the response; otherwise use a second handle.
	var src io.Reader
	if ra, ok := o.f.(io.ReaderAt); ok {
		src = io.NewSectionReader(ra, 0, o.size)
	} else {
		f, _, err := s.openRegular(key)
		if err != nil {
			return d, err
		}
		defer f.Close()
		src = io.LimitReader(f, o.size)
	}
	mh, ch := md5.New(), crc64.New(crcTable)
	if _, err := io.Copy(io.MultiWriter(mh, ch), src); err != nil {
		return d, err
	}
	copy(d.md5[:], mh.Sum(nil))
	d.crc = ch.Sum64()
	c.mu.Lock()
	if c.m == nil {
		c.m = map[digestKey]digestValue{}
	}
	if len(c.m) >= maxDigestEntries {
		for old := range c.m {
			delete(c.m, old)
			break
		}
	}
	c.m[k] = d
	c.mu.Unlock()
	return d, nil
}

// serveOrigin answers GetObject/HeadObject from the folder with OSS
// semantics. needAuth says whether an anonymous request is refused.
func (s *Server) serveOrigin(w http.ResponseWriter, r *http.Request, q url.Values, t target, rid string, needAuth bool) {
	if r.Method == http.MethodHead {
		s.stats.originHeads.Add(1)
	} else {
		s.stats.originGets.Add(1)
	}
	var cutAfter int64
	if s.cfg.OriginFault != nil {
		if f := s.cfg.OriginFault(r.Method, t.key); f != nil {
			if sleepCtx(r.Context(), f.Delay) != nil {
				return
			}
			if f.Drop {
				abort()
			}
			if f.Status != 0 {
				writeError(w, r, rid, faultError(f, t.key))
				return
			}
			cutAfter = f.CutAfter
		}
	}
	if needAuth && s.authEnabled() {
		id, e := s.authenticate(r, q, authInput{resources: t.resources})
		if e == nil && id == nil {
			e = errAccessDenied("You have no right to access this object because of bucket acl.")
		}
		if e != nil {
			writeError(w, r, rid, e)
			return
		}
	}
	if t.key == "" {
		writeError(w, r, rid, newError(http.StatusNotImplemented, "NotImplemented", "localoss serves objects only; it does not list buckets."))
		return
	}
	if e := checkKey(t.key); e != nil {
		writeError(w, r, rid, e)
		return
	}
	if v := q.Get("versionId"); v != "" && v != "null" {
		e := newError(http.StatusNotFound, "NoSuchVersion", "The specified version does not exist.")
		e.Key = t.key
		writeError(w, r, rid, e)
		return
	}
	o, e := s.openObject(t.key)
	if e != nil {
		writeError(w, r, rid, e)
		return
	}
	defer o.f.Close()

	h := w.Header()
	switch status, cond := evalPreconditions(r, o.etag, o.mtime); status {
	case http.StatusNotModified:
		h.Set("ETag", o.etag)
		h.Set("Last-Modified", o.mtime.Format(http.TimeFormat))
		for _, k := range []string{"Cache-Control", "Expires"} {
			if v := o.meta.Get(k); v != "" {
				h.Set(k, v)
			}
		}
		w.WriteHeader(http.StatusNotModified)
		return
	case http.StatusPreconditionFailed:
		e := newError(http.StatusPreconditionFailed, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold.")
		e.Condition = cond
		writeError(w, r, rid, e)
		return
	}

	start, length, status := int64(0), o.size, http.StatusOK
	if r.Method == http.MethodGet && ifRangeHolds(r, o.etag, o.mtime) {
		standard := s.cfg.StandardRange || strings.EqualFold(r.Header.Get("x-oss-range-behavior"), "standard")
		a, b, res := parseRange(r.Header.Get("Range"), o.size, standard)
		switch res {
		case rangeUnsatisfiable:
			h.Set("Content-Range", "bytes */"+strconv.FormatInt(o.size, 10))
			writeError(w, r, rid, newError(http.StatusRequestedRangeNotSatisfiable, "InvalidRange", "The requested range cannot be satisfied"))
			return
		case rangePartial:
			start, length, status = a, b-a+1, http.StatusPartialContent
			h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", a, b, o.size))
		}
	}

	s.setObjectHeaders(h, t.key, o, status == http.StatusOK)
	if r.Method == http.MethodGet {
		applyResponseOverrides(h, q)
	}
	h.Set("Content-Length", strconv.FormatInt(length, 10))
	w.WriteHeader(status)
	if r.Method == http.MethodHead || length == 0 {
		return
	}
	s.sendBody(w, r, t.key, o, start, length, cutAfter)
}

// sendBody streams [start, start+length) of o. io.CopyN hands the
// ResponseWriter an *io.LimitedReader over the *os.File, which is what
// lets net/http use sendfile.
func (s *Server) sendBody(w http.ResponseWriter, r *http.Request, key string, o *object, start, length, cutAfter int64) {
	var src io.Reader = o.f
	if start > 0 {
		if sk, ok := o.f.(io.Seeker); ok {
			if _, err := sk.Seek(start, io.SeekStart); err != nil {
				s.log.Warn("origin seek failed", slog.String("key", key), slog.Any("err", err))
				abort()
			}
		} else if _, err := io.CopyN(io.Discard, o.f, start); err != nil {
			s.log.Warn("origin skip failed", slog.String("key", key), slog.Any("err", err))
			abort()
		}
	}
	n := length
	if cutAfter > 0 && cutAfter < n {
		n = cutAfter
	}
	written, err := io.CopyN(w, src, n)
	s.stats.originBytes.Add(written)
	if err != nil {
		if r.Context().Err() == nil {
			s.log.Warn("origin body copy failed", slog.String("key", key), slog.Int64("written", written), slog.Any("err", err))
		}
		abort()
	}
	if n < length {
		// Let the partial body out first, so the client sees a cut stream
		// rather than no response.
		_ = http.NewResponseController(w).Flush()
		abort()
	}
}

func (s *Server) setObjectHeaders(h http.Header, key string, o *object, whole bool) {
	ct := mime.TypeByExtension(path.Ext(key))
	if ct == "" {
		ct = "application/octet-stream"
	}
	h.Set("Content-Type", ct)
	h.Set("ETag", o.etag)
	h.Set("Last-Modified", o.mtime.Format(http.TimeFormat))
	h.Set("Accept-Ranges", "bytes")
	h.Set("x-oss-object-type", "Normal")
	h.Set("x-oss-storage-class", "Standard")
	if o.md5 != nil {
		// OSS reports the whole object's CRC even for a range; Content-MD5
		// only describes a whole body.
		h.Set("x-oss-hash-crc64ecma", strconv.FormatUint(o.crc, 10))
		if whole {
			h.Set("Content-MD5", base64.StdEncoding.EncodeToString(o.md5))
		}
	}
	for k, v := range o.meta {
		h[k] = v
	}
}

// applyResponseOverrides honours the response-* query parameters of
// GetObject.
func applyResponseOverrides(h http.Header, q url.Values) {
	for param, header := range map[string]string{
		"response-content-type":        "Content-Type",
		"response-content-language":    "Content-Language",
		"response-expires":             "Expires",
		"response-cache-control":       "Cache-Control",
		"response-content-disposition": "Content-Disposition",
		"response-content-encoding":    "Content-Encoding",
	} {
		if v := q.Get(param); v != "" {
			h.Set(header, v)
		}
	}
}

func faultError(f *Fault, key string) *ossError {
	code, msg := f.Code, f.Message
	if code == "" {
		switch f.Status {
		case http.StatusForbidden:
			code = "AccessDenied"
		case http.StatusNotFound:
			code = "NoSuchKey"
		case http.StatusTooManyRequests:
			code = "TooManyRequests"
		case http.StatusServiceUnavailable:
			code = "ServiceUnavailable"
		default:
			if f.Status >= 500 {
				code = "InternalError"
			} else {
				code = "InvalidRequest"
			}
		}
	}
	if msg == "" {
		msg = "Injected by localoss OriginFault: " + http.StatusText(f.Status)
	}
	e := newError(f.Status, code, msg)
	e.Key = key
	return e
}
