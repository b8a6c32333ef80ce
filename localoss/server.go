package localoss

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

// Server is a local OSS bucket behind Object FC Access Points. It is an
// http.Handler serving every role; see the package documentation.
type Server struct {
	cfg          Config
	cred         credentials
	fsys         fs.FS
	root         *os.Root
	log          *slog.Logger
	started      time.Time
	defaultAlias string

	baseCtx context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	mu        sync.Mutex
	exchanges map[string]*exchange
	lastSweep time.Time

	digests digestCache
	stats   counters
}

// New validates cfg, applies defaults and opens the origin.
func New(cfg Config) (*Server, error) {
	if err := cfg.applyDefaults(); err != nil {
		return nil, err
	}
	s := &Server{
		cfg:       cfg,
		cred:      credentials{cfg.AccessKeyID, cfg.AccessKeySecret, cfg.SecurityToken},
		fsys:      cfg.FS,
		log:       cfg.Logger,
		started:   time.Now().UTC().Truncate(time.Second),
		exchanges: map[string]*exchange{},
	}
	if cfg.Dir != "" {
		root, err := os.OpenRoot(cfg.Dir)
		if err != nil {
			return nil, fmt.Errorf("localoss: open origin folder: %w", err)
		}
		s.root = root
		s.fsys = root.FS()
	}
	s.defaultAlias = s.Alias(cfg.DefaultAccessPoint)
	s.baseCtx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// Close cancels the context of running invocations, waits for them to
// return and releases the origin folder. Stop the HTTP server first.
func (s *Server) Close() error {
	s.cancel()
	s.wg.Wait()
	if s.root != nil {
		return s.root.Close()
	}
	return nil
}

// Origin is the bucket's objects as a file system, the object key being
// the name: what GetObject of the origin reads. It is valid until Close.
func (s *Server) Origin() fs.FS { return s.fsys }

func (s *Server) now() time.Time { return s.cfg.Now() }

// authEnabled reports whether credentials are configured; without them the
// server checks no signatures at all.
func (s *Server) authEnabled() bool { return s.cred.id != "" }

const wgorSubResource = "x-oss-write-get-object-response"

// ServeHTTP routes r to the WGOR API, the origin or an access point.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rid := newRequestID()
	rec := &recorder{ResponseWriter: w}
	start := time.Now()
	defer func() {
		s.log.LogAttrs(r.Context(), slog.LevelDebug, "request",
			slog.String("request_id", rid), slog.String("method", r.Method),
			slog.String("host", r.Host), slog.String("uri", r.RequestURI),
			slog.Int("status", rec.status()), slog.Int64("bytes", rec.n),
			slog.Duration("elapsed", time.Since(start)))
	}()
	h := rec.Header()
	h.Set("Server", "AliyunOSS")
	h.Set("x-oss-request-id", rid)

	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		writeError(rec, r, rid, errInvalidArgument("The query string is malformed."))
		return
	}
	if q.Has(wgorSubResource) {
		s.serveWGOR(rec, r, q, rid)
		return
	}
	t := s.resolve(r)
	switch {
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		e := newError(http.StatusMethodNotAllowed, "MethodNotAllowed", "The specified method is not allowed against this resource.")
		e.Method, e.ResourceType = r.Method, "Object"
		h.Set("Allow", "GET, HEAD")
		writeError(rec, r, rid, e)
	case t.role == roleBucket:
		s.serveOrigin(rec, r, q, t, rid, s.authEnabled())
	case r.Method == http.MethodHead:
		// A real OPAP hands everything but GetObject to its supporting
		// access point, which reads the bucket directly.
		s.serveOrigin(rec, r, q, t, rid, s.cfg.RequireClientAuth)
	default:
		s.serveInvoke(rec, r, q, t, rid)
	}
}

// newRequestID returns an id shaped like OSS's: 24 upper-case hex digits.
func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

// advertised returns the host:port the function reaches this server at.
func (s *Server) advertised(r *http.Request) string {
	if s.cfg.Endpoint != "" {
		return s.cfg.Endpoint
	}
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok && a != nil {
		return a.String()
	}
	return r.Host
}

// recorder remembers the status and body size for the access log while
// keeping the ResponseWriter's sendfile path (ReadFrom) and Flush usable.
type recorder struct {
	http.ResponseWriter
	code int
	n    int64
}

func (w *recorder) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

func (w *recorder) ReadFrom(src io.Reader) (int64, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	var n int64
	var err error
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(writerOnly{w.ResponseWriter}, src)
	}
	w.n += n
	return n, err
}

func (w *recorder) Flush() {
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *recorder) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

// writerOnly hides ReadFrom so io.Copy does not recurse into it.
type writerOnly struct{ io.Writer }

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// isEscape reports whether err is os.Root refusing a path (a symlink)
// leading out of the folder; the error has no exported sentinel.
func isEscape(err error) bool {
	return err != nil && strings.Contains(err.Error(), "path escapes from parent")
}

// abort ends the response without completing it: the client sees a reset
// or truncated body instead of a well-formed short one. net/http recovers
// this panic silently.
func abort() { panic(http.ErrAbortHandler) }
