package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/opaprules/opaprules/actions"
)

// Tools that read only the parts of an object they need (ffmpeg taking
// one frame of a video) get a URL instead of the bytes: a server on the
// loopback interface, alive while the action's context is, that answers
// GET and HEAD with Range from the original. For an invocation it relays
// each request to OSS (the event's presigned inputOssUrl, or a URL the
// SDK signs), so a frame at 1 s of a 1 GB video costs the few megabytes
// the tool asks for, never the whole object; for a local run it serves
// the file. The bytes it relays count as the request's bytes_in, and the
// tool never sees a signature or needs TLS of its own.

// objectFetcher is the fetcher the plan's actions get: inv.fetcher for
// other objects (watermark images), and URLs for tools.
func (inv *invocation) objectFetcher() actions.Fetcher {
	return urlFetcher{others: inv.fetcher, inv: inv}
}

type urlFetcher struct {
	others actions.Fetcher
	inv    *invocation
}

func (f urlFetcher) Fetch(ctx context.Context, key string, maxBytes int64) ([]byte, error) {
	if f.others == nil {
		return nil, fmt.Errorf("fetching %q: no other objects here: %w", key, fs.ErrNotExist)
	}
	return f.others.Fetch(ctx, key, maxBytes)
}

// URL serves key ("" for the request's own object) on the loopback
// interface until ctx ends.
func (f urlFetcher) URL(ctx context.Context, key string) (string, error) {
	var h http.Handler
	name := key
	switch src := f.inv.source.(type) {
	case *origin:
		upstream, signed, err := src.objectURL(f.inv, key)
		if err != nil {
			return "", err
		}
		if name == "" {
			name = f.inv.req.Key
		}
		rl := &relay{client: src.client, upstream: upstream, signed: signed, count: f.count}
		if o := f.inv.src; key == "" && o != nil {
			// The original was opened before the plan ran, for its ETag
			// (its first byte only, when the plan starts with this tool:
			// openOriginHeaders); the tool reads it by ranges instead, so
			// that read stops here rather than fill buffers until the
			// plan ends.
			if size := o.meta().Size; size > 0 && (o.status == http.StatusOK || o.status == http.StatusPartialContent) {
				rl.size.Store(size)
			}
			o.Close()
		}
		h = rl
	case *fileSource:
		if key != "" {
			return "", fmt.Errorf("a local run serves only the request's own object, not %q", key)
		}
		name = src.name
		h = &fileServer{src: src, count: f.count}
	default:
		return "", errors.New("this original cannot be served by URL")
	}
	return serveLoopback(ctx, path.Base(name), h)
}

func (f urlFetcher) count(n int64) {
	f.inv.log.set(func(l *requestLog) { l.bytesIn += n })
}

// objectURL is where key is read from, and the request headers its
// signature covers, as origin.open reads the request's object.
func (o *origin) objectURL(inv *invocation, key string) (string, http.Header, error) {
	var query url.Values
	if key == "" {
		key = inv.req.Key
		if o.inputURL != "" {
			key = ""
		}
		query, _ = url.ParseQuery(inv.req.RawQuery)
	}
	u, err := o.signedURL(key, query)
	if err != nil {
		return "", nil, err
	}
	signed := http.Header{}
	for _, name := range signedHeaders(u) {
		if v := inv.req.Header.Get(name); v != "" {
			signed.Set(name, v)
		}
	}
	return u, signed, nil
}

// serveLoopback serves h at an unguessable path on 127.0.0.1 until ctx
// ends.
func serveLoopback(ctx context.Context, name string, h http.Handler) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	var token [16]byte
	_, _ = rand.Read(token[:])
	prefix := "/" + hex.EncodeToString(token[:]) + "/"
	mux := http.NewServeMux()
	mux.Handle(prefix, h)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
	go func() { _ = srv.Serve(smallSendBuffer{ln}) }()
	context.AfterFunc(ctx, func() { _ = srv.Close() })
	// The name keeps the key's extension, which some demuxers look at.
	return "http://" + ln.Addr().String() + prefix + url.PathEscape(name), nil
}

// smallSendBuffer gives each connection a 64 KiB send buffer. Loopback
// buffers otherwise grow to megabytes: a tool that reads 100 KB and hangs
// up would leave several MB read from the origin for nothing.
type smallSendBuffer struct{ net.Listener }

func (l smallSendBuffer) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(64 << 10)
	}
	return c, err
}

// relay answers a tool's request with the origin's bytes for the same
// range, read in pieces (256 KiB, doubling up to 4 MiB while the tool
// keeps reading): what is read from the origin ahead of the tool is at
// most one piece and the loopback buffers, however much of the object
// the tool's open-ended Range (bytes=N-) covers.
type relay struct {
	client   *http.Client
	upstream string
	signed   http.Header
	count    func(int64)
	// size is the object's, once known (0 before).
	size atomic.Int64
}

const (
	firstPiece = 256 << 10
	maxPiece   = 4 << 20
)

// relayedHeaders are the origin's headers a tool needs to read by ranges.
var relayedHeaders = []string{"Content-Type", "Content-Length", "Content-Range", "Accept-Ranges", "ETag", "Last-Modified"}

func (r *relay) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		http.Error(w, "GET or HEAD", http.StatusMethodNotAllowed)
		return
	}
	start, end, ranged := parseToolRange(req.Header.Get("Range"))
	if req.Method == http.MethodHead || !ranged && req.Header.Get("Range") != "" {
		r.pass(w, req) // HEAD, or a range form tools do not send: as it is
		return
	}
	piece := int64(firstPiece)
	resp, size, err := r.piece(req.Context(), start, piece, end)
	if err != nil {
		http.Error(w, "the origin could not be reached", http.StatusBadGateway)
		return
	}
	if resp == nil {
		w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", size))
		w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
		return
	}
	defer func() { resp.Body.Close() }()
	if resp.StatusCode != http.StatusPartialContent {
		// The origin does not answer ranges, or refused: as it answered.
		r.copyHeaders(w, resp)
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, &countingBody{r: resp.Body, count: r.count})
		return
	}
	last := size - 1
	if end >= 0 && end < last {
		last = end
	}
	for _, name := range []string{"Content-Type", "Accept-Ranges", "ETag", "Last-Modified"} {
		if v := resp.Header.Get(name); v != "" {
			w.Header().Set(name, v)
		}
	}
	w.Header().Set("Content-Length", strconv.FormatInt(last-start+1, 10))
	status := http.StatusPartialContent
	if ranged {
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, last, size))
	} else {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	for off := start; ; {
		n, err := io.Copy(w, &countingBody{r: resp.Body, count: r.count})
		off += n
		// A failed write is the tool hanging up: stop reading there.
		if err != nil || off > last {
			return
		}
		resp.Body.Close()
		piece = min(2*piece, maxPiece)
		if resp, err = r.get(req.Context(), off, min(off+piece, last+1)-1); err != nil {
			return
		}
		if resp.StatusCode != http.StatusPartialContent {
			return // the object changed or went away: cut the answer short
		}
	}
}

// piece starts reading bytes start to start+piece-1 (no further than end
// when end ≥ 0), never past the object's end: OSS answers a range that
// runs past it with the whole object (a 200), unless asked for the
// standard behaviour with a header a presigned URL may not carry. It
// returns nil and the size when start is at or past the end.
func (r *relay) piece(ctx context.Context, start, piece, end int64) (*http.Response, int64, error) {
	for range 2 {
		size := r.size.Load()
		stop := start + piece - 1
		if end >= 0 {
			stop = min(stop, end)
		}
		if size > 0 {
			if start >= size {
				return nil, size, nil
			}
			stop = min(stop, size-1)
		}
		resp, err := r.get(ctx, start, stop)
		if err != nil {
			return nil, 0, err
		}
		if total, ok := contentRangeTotal(resp); ok {
			r.size.Store(total)
			return resp, total, nil
		}
		if resp.StatusCode == http.StatusOK && resp.ContentLength > 0 && size <= 0 {
			// The whole object for a range past its end: now its size
			// is known, ask again within it.
			r.size.Store(resp.ContentLength)
			resp.Body.Close()
			continue
		}
		return resp, size, nil
	}
	return nil, 0, errors.New("the origin keeps answering ranges with the whole object")
}

// get asks the origin for bytes start to end (inclusive).
func (r *relay) get(ctx context.Context, start, end int64) (*http.Response, error) {
	up, err := http.NewRequestWithContext(ctx, http.MethodGet, r.upstream, nil)
	if err != nil {
		return nil, err
	}
	for name, v := range r.signed {
		up.Header[name] = v
	}
	up.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", start, end))
	up.Header.Set("Accept-Encoding", "identity")
	return r.client.Do(up)
}

// pass relays one request unchanged.
func (r *relay) pass(w http.ResponseWriter, req *http.Request) {
	up, err := http.NewRequestWithContext(req.Context(), req.Method, r.upstream, nil)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	for name, v := range r.signed {
		up.Header[name] = v
	}
	if v := req.Header.Get("Range"); v != "" {
		up.Header.Set("Range", v)
	}
	up.Header.Set("Accept-Encoding", "identity")
	resp, err := r.client.Do(up)
	if err != nil {
		http.Error(w, "the origin could not be reached", http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	r.copyHeaders(w, resp)
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, &countingBody{r: resp.Body, count: r.count})
}

func (r *relay) copyHeaders(w http.ResponseWriter, resp *http.Response) {
	for _, name := range relayedHeaders {
		if v := resp.Header.Get(name); v != "" {
			w.Header().Set(name, v)
		}
	}
}

// parseToolRange reads the single range tools send: bytes=N- or
// bytes=N-M (end -1 when open). No Range: from 0, unranged.
func parseToolRange(h string) (start, end int64, ranged bool) {
	if h == "" {
		return 0, -1, false
	}
	spec, ok := strings.CutPrefix(h, "bytes=")
	a, b, dash := strings.Cut(spec, "-")
	if !ok || !dash || strings.Contains(spec, ",") {
		return 0, -1, false
	}
	start, err := strconv.ParseInt(a, 10, 64)
	if err != nil || start < 0 {
		return 0, -1, false
	}
	end = -1
	if b != "" {
		if end, err = strconv.ParseInt(b, 10, 64); err != nil || end < start {
			return 0, -1, false
		}
	}
	return start, end, true
}

// contentRangeTotal reads the object's size from a 206's Content-Range.
func contentRangeTotal(resp *http.Response) (int64, bool) {
	if resp.StatusCode != http.StatusPartialContent {
		return 0, false
	}
	_, total, ok := strings.Cut(resp.Header.Get("Content-Range"), "/")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(total, 10, 64)
	return n, err == nil && n > 0
}

// fileServer serves a local run's file with Range (http.ServeContent).
type fileServer struct {
	src   *fileSource
	count func(int64)
}

func (s *fileServer) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	file, err := s.src.openFile()
	if err != nil {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	defer file.Close()
	rs, ok := file.(io.ReadSeeker)
	if !ok {
		http.Error(w, "this file cannot be read by ranges", http.StatusNotImplemented)
		return
	}
	var modified time.Time
	if st, err := file.Stat(); err == nil {
		modified = st.ModTime()
	}
	http.ServeContent(&countingWriter{ResponseWriter: w, count: s.count}, req, path.Base(s.src.name), modified, rs)
}

type countingBody struct {
	r     io.Reader
	count func(int64)
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.count(int64(n))
	}
	return n, err
}

type countingWriter struct {
	http.ResponseWriter
	count func(int64)
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.ResponseWriter.Write(p)
	if n > 0 {
		c.count(int64(n))
	}
	return n, err
}

// Interface guards.
var _ actions.URLFetcher = urlFetcher{}
