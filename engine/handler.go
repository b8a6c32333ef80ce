// Package engine answers one Object FC Access Point invocation: it decodes
// the event, asks the rules for a plan, reads the original object when the
// plan needs it, runs the actions, and sends exactly one
// WriteGetObjectResponse. Function Compute and the local server (serve)
// both call Handler.Invoke, so a curl against `opaprules serve` exercises
// the same code path as production.
package engine

import (
	"compress/gzip"
	"compress/zlib"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/opaprules/opaprules/actions"
	"github.com/opaprules/opaprules/rules"
)

// Config is what a Handler needs besides the event.
type Config struct {
	Rules  *rules.RuleSet
	Logger *slog.Logger
	// Bucket, Endpoint and Region name where objects are read from when an
	// event carries no inputOssUrl, and where other objects (watermark
	// images) come from. Region also scopes V4 signatures.
	Bucket   string
	Endpoint string
	Region   string
	// RouteScheme is how outputRoute is reached: "https" (default) or
	// "http" (the local server).
	RouteScheme string
	// HTTPClient carries every origin read and WriteGetObjectResponse;
	// keeping one lets connections be reused across invocations.
	HTTPClient *http.Client
	// DeadlineMargin is how long before the invocation's deadline the
	// watchdog answers 503 RequestTimeout if nothing was answered yet.
	DeadlineMargin time.Duration
	// LogEvent logs each raw event, secrets masked (OPAPRULES_LOG_EVENT=1).
	LogEvent bool
}

// Handler serves invocations. It is safe for concurrent use.
type Handler struct {
	cfg     Config
	forward []string
}

// New checks the configuration and returns a Handler.
func New(cfg Config) (*Handler, error) {
	if cfg.Rules == nil {
		return nil, errors.New("engine: no rules")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.RouteScheme == "" {
		cfg.RouteScheme = "https"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = DefaultHTTPClient()
	}
	if cfg.DeadlineMargin == 0 {
		cfg.DeadlineMargin = time.Second
	}
	if cfg.Region == "" {
		cfg.Region = "cn-hangzhou"
	}
	forward := slices.Clone(actions.ForwardedHeaders)
	for _, h := range cfg.Rules.Settings.ExtraForwardHeaders {
		if !actions.IsForwarded(h) {
			forward = append(forward, http.CanonicalHeaderKey(h))
		}
	}
	return &Handler{cfg: cfg, forward: forward}, nil
}

// DefaultHTTPClient is tuned for talking to OSS from one function instance:
// connections kept for reuse, no overall timeout (a large object streams
// for as long as it takes; contexts bound the work instead).
func DefaultHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 32
	t.ResponseHeaderTimeout = 30 * time.Second
	// Bodies are copied from the origin straight into the upload; larger
	// buffers mean fewer system calls per megabyte.
	t.WriteBufferSize = 256 << 10
	t.ReadBufferSize = 256 << 10
	t.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	return &http.Client{Transport: t, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Invoke handles one event. It returns once the response is sent. An error
// means the client may not have received an answer (no route in the event,
// or WriteGetObjectResponse failed); a request answered with an error
// status is a successful invocation.
func (h *Handler) Invoke(ctx context.Context, event []byte, creds Credentials) (err error) {
	lg := &requestLog{start: time.Now()}
	defer func() { lg.emit(h.cfg.Logger, err) }()
	if h.cfg.LogEvent {
		h.cfg.Logger.Info("event", "event", maskedEvent(event))
	}

	ev, evErr := decodeEvent(event)
	if errors.Is(evErr, errNoRoute) {
		return evErr
	}
	requestID := ev.RequestID
	if requestID == "" {
		requestID = newRequestID()
	}
	lg.set(func(l *requestLog) { l.requestID = requestID })
	w := &wgor{
		ctx:      context.WithoutCancel(ctx),
		endpoint: h.cfg.RouteScheme + "://" + ev.GetObjectContext.OutputRoute,
		route:    ev.GetObjectContext.OutputRoute,
		token:    ev.GetObjectContext.OutputToken,
		region:   h.cfg.Region,
		creds:    creds,
		client:   h.cfg.HTTPClient,
		forward:  h.forward,
	}
	out := newResponder(func(r response) error {
		t := time.Now()
		defer func() { lg.stage("respond", t) }()
		lg.set(func(l *requestLog) { l.status, l.bytesOut = r.status, r.size })
		return w.send(r)
	})
	// fail answers with an error unless the request was answered already.
	fail := func(e *actions.Error) {
		if out.claim() {
			lg.set(func(l *requestLog) { l.code = e.Code })
			_ = out.deliver(errorResponse(e, requestID, h.errorCacheControl))
		}
	}

	// The watchdog answers 503 RequestTimeout when the invocation's deadline
	// (less a margin) or the plan's own timeout comes first; serve arms the
	// latter. Either way the client is answered, and Invoke returns without
	// waiting for an action that ignores its context.
	work, cancel := context.WithCancel(ctx)
	defer cancel()
	wd := &watchdog{out: out, cancel: cancel, fired: make(chan struct{}), answer: func() {
		e := &actions.Error{Status: 503, Code: CodeRequestTimeout, Message: "the transformation did not finish in time; retry later"}
		lg.set(func(l *requestLog) { l.code, l.failure = e.Code, errors.Join(l.failure, errors.New("timed out")) })
		_ = out.deliver(errorResponse(e, requestID, h.errorCacheControl))
	}}
	if dl, ok := ctx.Deadline(); ok {
		defer wd.arm(time.Until(dl) - h.cfg.DeadlineMargin)()
	}

	served := make(chan struct{})
	go func() {
		defer close(served)
		defer func() {
			if v := recover(); v != nil {
				perr := &PanicError{Where: "the handler", Value: v, Stack: debug.Stack()}
				lg.set(func(l *requestLog) { l.panicked = perr })
				fail(clientError(perr))
			}
		}()
		if evErr != nil {
			lg.set(func(l *requestLog) { l.failure = evErr })
			fail(&actions.Error{Status: 400, Code: CodeMalformedEvent, Message: evErr.Error()})
			return
		}
		req, reqErr := ev.request()
		if reqErr != nil {
			lg.set(func(l *requestLog) { l.failure = reqErr })
			fail(&actions.Error{Status: 400, Code: CodeMalformedEvent, Message: reqErr.Error()})
			return
		}
		lg.set(func(l *requestLog) { l.key, l.accessPoint = req.Key, req.AccessPoint })
		lg.stage("decode", lg.start)
		o := &origin{client: h.cfg.HTTPClient, bucket: h.cfg.Bucket, endpoint: h.cfg.Endpoint, region: h.cfg.Region, creds: creds, inputURL: ev.GetObjectContext.InputOSSURL}
		if serveErr := h.serve(work, req, o, out, wd, lg, requestID); serveErr != nil {
			lg.set(func(l *requestLog) { l.failure = serveErr })
			fail(clientError(asTimeout(serveErr, work)))
		}
	}()
	select {
	case <-served:
	case <-wd.fired:
	}
	// The request's own failure is in the log line; Function Compute only
	// hears of an invocation that could not answer at all.
	return out.wait()
}

// watchdog answers for a request that ran out of time.
type watchdog struct {
	out    *responder
	cancel context.CancelFunc
	answer func()
	once   sync.Once
	fired  chan struct{}
}

// arm makes the watchdog fire after d; the returned func disarms it.
func (w *watchdog) arm(d time.Duration) func() {
	t := time.AfterFunc(max(d, 0), w.fire)
	return func() { t.Stop() }
}

func (w *watchdog) fire() {
	if !w.out.claim() {
		return
	}
	w.cancel()
	w.answer()
	w.once.Do(func() { close(w.fired) })
}

// asTimeout reports a request whose context ran out as a 503 RequestTimeout.
func asTimeout(err error, ctx context.Context) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return &actions.Error{Status: 503, Code: CodeRequestTimeout, Message: "the transformation did not finish in time; retry later", Cause: err}
	}
	return err
}

// serve is one request after decoding: plan, origin, actions, response.
func (h *Handler) serve(ctx context.Context, req *rules.Request, o *origin, out *responder, wd *watchdog, lg *requestLog, requestID string) error {
	rs := h.cfg.Rules
	areq := &actions.Request{ID: requestID, Key: req.Key, Method: req.Method, AccessPoint: req.AccessPoint, Header: req.Header}

	// 1. Metadata first, only when a condition or template reads object.*.
	var src *originResponse
	defer func() { src.Close() }()
	if rs.ReadsObject(req.AccessPoint, req.AccessPointAlias) {
		t := time.Now()
		var err error
		if src, err = o.open(ctx, req, nil); err != nil {
			return err
		}
		lg.stage("origin", t)
		req.Object = src.meta()
	}

	// 2. The plan.
	t := time.Now()
	plan, err := rs.Evaluate(req)
	lg.stage("evaluate", t)
	if err != nil {
		return err
	}
	lg.set(func(l *requestLog) {
		l.rules = plan.Rules
		for _, s := range plan.Steps {
			l.actions = append(l.actions, s.Name)
		}
	})

	// 3. deny and redirect answer without the object.
	if plan.Terminal {
		obj := actions.NewObject(areq, nil, 0, http.Header{}, plan.Limits)
		if err := Run(ctx, plan, obj); err != nil {
			return err
		}
		return out.respond(response{status: obj.Status, header: obj.Header})
	}

	// 4. Nothing changes the bytes: stream the origin through, letting it
	// answer Range and conditionals itself.
	if !plan.Transforms() {
		if src != nil && hasAny(req.Header, conditionalHeaders) {
			src.Close()
			src = nil
		}
		if src == nil {
			t := time.Now()
			if src, err = o.open(ctx, req, passthroughHeaders(req.Header)); err != nil {
				return err
			}
			lg.stage("origin", t)
		}
		defer func() { lg.set(func(l *requestLog) { l.bytesIn = src.read.n }) }()
		obj := actions.NewObject(areq, src.body, src.length, src.header.Clone(), plan.Limits)
		defer obj.Close()
		if err := Run(ctx, plan, obj); err != nil {
			return err
		}
		// OSS always sends Content-Length; should an origin not, the body
		// is spooled to learn it, as WriteGetObjectResponse needs it first.
		body, n, err := obj.Result(ctx)
		if err != nil {
			return err
		}
		return out.respond(response{status: src.status, header: obj.Header, body: body, size: n})
	}

	// 5. A transformation: the whole original, whatever the client's
	// Range, and preconditions checked against the derived ETag before any
	// work is done.
	if src == nil {
		t := time.Now()
		if src, err = o.open(ctx, req, nil); err != nil {
			return err
		}
		lg.stage("origin", t)
	}
	defer func() { lg.set(func(l *requestLog) { l.bytesIn = src.read.n }) }()
	etag := derivedETag(src.header.Get("ETag"), plan, areq)
	modified, _ := http.ParseTime(src.header.Get("Last-Modified"))
	if status := precondition(req.Header, etag, modified); status != 0 {
		hdr := http.Header{}
		setIf(hdr, "ETag", etag)
		setIf(hdr, "Last-Modified", src.header.Get("Last-Modified"))
		if status == http.StatusPreconditionFailed {
			return out.respond(errorResponse(&actions.Error{Status: status, Code: "PreconditionFailed", Message: "At least one of the pre-conditions you specified did not hold."}, requestID, h.errorCacheControl))
		}
		return out.respond(response{status: status, header: hdr})
	}
	body, size, err := decodedBody(src)
	if err != nil {
		return err
	}
	header := src.header.Clone()
	header.Del("Content-Encoding")
	obj := actions.NewObject(areq, body, size, header, plan.Limits)
	obj.Fetcher = fetcher{o}
	defer obj.Close()

	t = time.Now()
	defer wd.arm(plan.Limits.Timeout)()
	if err := Run(ctx, plan, obj); err != nil {
		return err
	}
	result, n, err := obj.Result(ctx)
	lg.stage("transform", t)
	if err != nil {
		return err
	}

	hdr := obj.Header
	hdr.Del("ETag")
	setIf(hdr, "ETag", etag)
	hdr.Set("Accept-Ranges", "bytes")
	status := obj.Status
	if r, ok, unsatisfiable := parseRange(req.Header, n, etag, modified); ok && status == http.StatusOK {
		if unsatisfiable {
			e := errorResponse(&actions.Error{Status: 416, Code: "InvalidRange", Message: "The requested range is not satisfiable"}, requestID, h.errorCacheControl)
			e.header.Set("Content-Range", fmt.Sprintf("bytes */%d", n))
			return out.respond(e)
		}
		if _, err := io.CopyN(io.Discard, result, r.start); err != nil {
			return err
		}
		hdr.Set("Content-Range", r.contentRange(n))
		result, n, status = io.LimitReader(result, r.length), r.length, http.StatusPartialContent
	}
	return out.respond(response{status: status, header: hdr, body: result, size: n})
}

// passthroughHeaders are the client headers an unchanged object forwards:
// Range (a single one: OSS and RFC 9110 answer several with the whole
// object anyway) and the conditionals.
func passthroughHeaders(h http.Header) []string {
	if strings.Contains(h.Get("Range"), ",") {
		return slices.DeleteFunc(slices.Clone(conditionalHeaders), func(s string) bool { return s == "Range" || s == "If-Range" })
	}
	return conditionalHeaders
}

// decodedBody undoes an origin Content-Encoding before actions see bytes.
// A decompressed body's length is unknown until it is read.
func decodedBody(src *originResponse) (io.Reader, int64, error) {
	switch coding := strings.ToLower(strings.TrimSpace(src.header.Get("Content-Encoding"))); coding {
	case "", "identity":
		return src.body, src.length, nil
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(src.body)
		if err != nil {
			return nil, 0, &actions.Error{Status: 400, Code: actions.CodeUnsupported, Message: "the object says Content-Encoding: gzip but is not gzip data", Cause: err}
		}
		return zr, -1, nil
	case "deflate":
		zr, err := zlib.NewReader(src.body)
		if err != nil {
			return nil, 0, &actions.Error{Status: 400, Code: actions.CodeUnsupported, Message: "the object says Content-Encoding: deflate but is not zlib data", Cause: err}
		}
		return zr, -1, nil
	default:
		return nil, 0, &actions.Error{Status: 400, Code: CodeUnsupportedCoding,
			Message: fmt.Sprintf("the object is stored with Content-Encoding %q, which cannot be transformed; only gzip and deflate are decoded", coding)}
	}
}

func (h *Handler) errorCacheControl(status int) string {
	if status >= 500 {
		return h.cfg.Rules.Settings.ErrorCacheControl5xx
	}
	return h.cfg.Rules.Settings.ErrorCacheControl4xx
}

func hasAny(h http.Header, names []string) bool {
	return slices.ContainsFunc(names, func(n string) bool { return h.Get(n) != "" })
}

func setIf(h http.Header, name, v string) {
	if v != "" {
		h.Set(name, v)
	}
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}
