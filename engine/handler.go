// Package engine answers one Object FC Access Point invocation: it decodes
// the event, asks the rules for a plan, reads the original object when the
// plan needs it, runs the actions, and sends exactly one
// WriteGetObjectResponse. Function Compute and the local server (serve)
// both call Handler.Invoke, so a curl against `opaprules serve` exercises
// the same code path as production; dry-run, rule tests and the playground
// enter the same steps through Handler.RunLocal.
package engine

import (
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
	// RouteScheme is how outputRoute is reached: DefaultRouteScheme
	// (http, as every official sample does) unless set.
	RouteScheme string
	// HTTPClient carries every origin read and WriteGetObjectResponse;
	// keeping one lets connections be reused across invocations.
	HTTPClient *http.Client
	// DeadlineMargin is how long before the invocation's deadline the
	// watchdog answers 503 RequestTimeout if nothing was answered yet.
	DeadlineMargin time.Duration
	// LogEvent logs each raw event, secrets masked (OPAPRULES_LOG_EVENT=1).
	LogEvent bool
	// HTTPAccessPoint is the access point requests through the HTTP front
	// door (ServeHTTP) count as, for rules scoped with access_points; ""
	// for none (OPAPRULES_ACCESS_POINT).
	HTTPAccessPoint string
}

// Handler serves invocations. It is safe for concurrent use.
type Handler struct {
	cfg         Config
	forward     []string
	shortEvents *eventLimiter
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
		cfg.RouteScheme = DefaultRouteScheme
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
	limiter := &eventLimiter{last: map[slog.Level]time.Time{}, suppressed: map[slog.Level]int{}}
	return &Handler{cfg: cfg, forward: forward, shortEvents: limiter}, nil
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
	lg := &requestLog{start: time.Now(), fcRequestID: fcRequestID(ctx)}
	defer func() { lg.emit(h.cfg.Logger, err) }()
	if h.cfg.LogEvent {
		h.cfg.Logger.Info("event", "event", maskedEvent(event))
	}

	// 1. Decode the event. Without a route nobody can be answered; any
	// other flaw is answered 400 MalformedEvent. Either way, and when the
	// event lacks what the rules could read, the masked event is logged.
	ev, decodeErr := decodeEvent(event)
	var req *rules.Request
	if decodeErr == nil {
		req, decodeErr = ev.request(h.cfg.Bucket, h.cfg.Rules.Settings.Trusted())
	}
	if level, problem := shortfall(ev, req, decodeErr); problem != "" {
		h.reportShortEvent(level, problem, event, time.Now())
	}
	if errors.Is(decodeErr, errNoRoute) {
		return decodeErr
	}
	lg.stage("decode", lg.start)

	o := &origin{client: h.cfg.HTTPClient, bucket: h.cfg.Bucket, endpoint: h.cfg.Endpoint, region: h.cfg.Region, creds: creds, inputURL: ev.GetObjectContext.InputOSSURL}
	inv := h.newInvocation(ev.RequestID, req, lg, &wgor{
		ctx:      context.WithoutCancel(ctx),
		endpoint: h.cfg.RouteScheme + "://" + ev.GetObjectContext.OutputRoute,
		route:    ev.GetObjectContext.OutputRoute,
		token:    ev.GetObjectContext.OutputToken,
		region:   h.cfg.Region,
		creds:    creds,
		client:   h.cfg.HTTPClient,
		forward:  h.forward,
	})
	inv.source, inv.fetcher = o, fetcher{o}
	return inv.run(ctx, decodeErr)
}

// invocation is one request on its way through the handler: the steps of
// docs/design.md ("One request") are its methods, in that order. Step 1,
// decoding, happens before it exists (Invoke for an event, RunLocal for a
// local request); step 7 ends each of steps 4 to 6.
type invocation struct {
	h   *Handler
	id  string
	req *rules.Request
	// ctx bounds the request's work; the watchdog cancels it.
	ctx context.Context
	out *responder
	wd  *watchdog
	log *requestLog

	source  source          // the original; nil: predict the answer instead
	fetcher actions.Fetcher // other objects, such as watermark images
	explain bool            // keep a trace of every rule (local runs)
	// fallback is why settings.fallback stands in for the original; "" when
	// it does not.
	fallback string
	// vary collects the request headers the answer depends on.
	vary *varySet

	src   *originResponse // the original, once opened
	plan  *rules.Plan
	trace *rules.Trace
}

func (h *Handler) newInvocation(id string, req *rules.Request, lg *requestLog, to sink) *invocation {
	if id == "" {
		id = newRequestID()
	}
	lg.set(func(l *requestLog) {
		l.requestID = id
		if req != nil {
			l.key, l.accessPoint = req.Key, req.AccessPoint
		}
	})
	inv := &invocation{h: h, id: id, req: req, log: lg, vary: &varySet{}}
	if req != nil {
		inv.vary.add(h.cfg.Rules.Vary(req.AccessPoint, req.AccessPointAlias)...)
	}
	inv.out = newResponder(func(r response) error {
		t := time.Now()
		defer func() { lg.stage("respond", t) }()
		lg.set(func(l *requestLog) { l.status, l.bytesOut = r.status, r.size })
		if v := inv.vary.header(); v != "" {
			if r.header == nil {
				r.header = http.Header{}
			}
			r.header.Set("Vary", v)
		}
		return to.send(r)
	})
	return inv
}

// run serves the request on its own goroutine and returns once it is
// answered. The watchdog answers 503 RequestTimeout when the invocation's
// deadline (less a margin) or the plan's own timeout comes first, so run
// returns without waiting for an action that ignores its context; a panic
// is answered 500.
func (inv *invocation) run(ctx context.Context, decodeErr error) error {
	work, cancel := context.WithCancel(ctx)
	defer cancel()
	inv.ctx = work
	inv.wd = &watchdog{out: inv.out, cancel: cancel, fired: make(chan struct{}), answer: func() {
		e := &actions.Error{Status: 503, Code: actions.CodeRequestTimeout, Message: "the transformation did not finish in time; retry later"}
		inv.log.set(func(l *requestLog) { l.code, l.failure = e.Code, errors.Join(l.failure, errors.New("timed out")) })
		_ = inv.out.deliver(inv.errorResponse(e))
	}}
	if dl, ok := ctx.Deadline(); ok {
		defer inv.wd.arm(time.Until(dl) - inv.h.cfg.DeadlineMargin)()
	}

	served := make(chan struct{})
	go func() {
		defer close(served)
		defer func() {
			if v := recover(); v != nil {
				perr := &PanicError{Where: "the handler", Value: v, Stack: debug.Stack()}
				inv.log.set(func(l *requestLog) { l.panicked = perr })
				inv.fail(clientError(perr))
			}
		}()
		err := decodeErr
		if _, ok := actions.AsError(err); err != nil && !ok {
			err = &actions.Error{Status: 400, Code: actions.CodeMalformedEvent, Message: err.Error(), Cause: err}
		} else if err == nil {
			err = inv.serve()
		}
		if why := inv.fallbackFor(err); why != "" {
			if ferr := inv.serveFallback(why); ferr != nil {
				err = errors.Join(err, fmt.Errorf("the fallback failed too: %w", ferr))
			} else {
				inv.log.set(func(l *requestLog) { l.failure = err })
				err = nil
			}
		}
		if err != nil {
			inv.log.set(func(l *requestLog) { l.failure = err })
			inv.fail(clientError(asTimeout(err, work)))
		}
	}()
	select {
	case <-served:
	case <-inv.wd.fired:
	}
	// The request's own failure is in the log line; the caller only hears
	// of an invocation that could not answer at all.
	return inv.out.wait()
}

// serve is steps 2 to 7 for a decoded request.
func (inv *invocation) serve() error {
	defer inv.closeOrigin()
	if err := inv.readMetadataFirst(); err != nil {
		return err
	}
	if err := inv.makePlan(); err != nil {
		return err
	}
	switch {
	case inv.plan.Terminal:
		return inv.answerTerminal()
	case inv.source == nil:
		return inv.predict()
	case inv.plan.Fallback != "":
		return inv.serveFallback(inv.plan.Fallback)
	case !inv.plan.Transforms():
		return inv.passThrough()
	}
	return inv.transform()
}

// 2. Read the original first, for its metadata and its picture's header,
// only when a condition or template reads object.* or image.*: most rule
// sets never pay for it. The same read then serves the rest of the
// request.
func (inv *invocation) readMetadataFirst() error {
	if inv.source == nil {
		return nil
	}
	object, image := inv.h.cfg.Rules.Reads(inv.req.AccessPoint, inv.req.AccessPointAlias)
	object = object && inv.req.Object == nil
	image = image && inv.req.Image == nil
	if !object && !image {
		return nil
	}
	if err := inv.openOrigin(nil); err != nil {
		return err
	}
	if object {
		inv.req.Object = inv.src.meta()
	}
	if image {
		inv.req.Image = inv.src.imageMeta()
	}
	return nil
}

// 3. The plan: the rules, compiled once per process, evaluated for this
// request.
func (inv *invocation) makePlan() error {
	return inv.timed("evaluate", func() (err error) {
		if inv.explain {
			inv.plan, inv.trace, err = inv.h.cfg.Rules.Explain(inv.req)
		} else {
			inv.plan, err = inv.h.cfg.Rules.Evaluate(inv.req)
		}
		if err != nil {
			return err
		}
		inv.log.set(func(l *requestLog) {
			l.rules = inv.plan.Rules
			for _, s := range inv.plan.Steps {
				l.actions = append(l.actions, s.Name)
			}
		})
		inv.vary.add(varyOf(inv.plan, inv.actionRequest())...)
		return nil
	})
}

// 4. deny and redirect answer without the original.
func (inv *invocation) answerTerminal() error {
	obj := inv.newObject(nil, 0, http.Header{})
	if err := Run(inv.ctx, inv.plan, obj); err != nil {
		return err
	}
	return inv.respond(response{status: obj.Status, header: obj.Header})
}

// 5. Nothing changes the bytes: the original streams through, and the
// origin answers Range and conditionals itself.
func (inv *invocation) passThrough() error {
	if inv.src != nil && hasAny(inv.req.Header, conditionalHeaders) {
		// Opened for its metadata without the client's conditionals.
		inv.closeOrigin()
	}
	if inv.src == nil {
		if err := inv.openOrigin(passthroughHeaders(inv.req.Header)); err != nil {
			return err
		}
	}
	obj := inv.newObject(inv.src.body, inv.src.length, inv.src.header.Clone())
	defer obj.Close()
	if err := Run(inv.ctx, inv.plan, obj); err != nil {
		return err
	}
	// OSS always sends Content-Length; should an origin not, the body is
	// spooled to learn it, as WriteGetObjectResponse needs it first.
	body, n, err := obj.Result(inv.ctx)
	if err != nil {
		return err
	}
	return inv.respond(response{status: inv.src.status, header: obj.Header, body: body, size: n})
}

// 6. A transformation: the whole original, whatever the client's Range;
// preconditions are checked against the derived ETag before any work is
// done, and the Range applies to the result.
func (inv *invocation) transform() error {
	if inv.src == nil {
		open := inv.openOrigin
		if readsOriginalByURL(inv.plan) {
			open = inv.openOriginHeaders
		}
		if err := open(nil); err != nil {
			return err
		}
	}
	areq := inv.actionRequest()
	etag := derivedETag(inv.src.header.Get("ETag"), inv.plan, areq)
	lastModified := inv.src.header.Get("Last-Modified")
	modified, _ := http.ParseTime(lastModified)
	if status := precondition(inv.req.Header, etag, modified); status != 0 {
		if status == http.StatusPreconditionFailed {
			return inv.respond(inv.errorResponse(&actions.Error{Status: status, Code: actions.CodePreconditionFailed, Message: "At least one of the pre-conditions you specified did not hold."}))
		}
		hdr := http.Header{}
		setIf(hdr, "ETag", etag)
		setIf(hdr, "Last-Modified", lastModified)
		return inv.respond(response{status: status, header: hdr})
	}

	body, size, err := decodedBody(inv.ctx, inv.src, inv.plan.Limits)
	if err != nil {
		return err
	}
	header := inv.src.header.Clone()
	header.Del("Content-Encoding")
	header.Del("Content-Range") // of the original's read; the answer's is set below
	obj := inv.newObject(body, size, header)
	obj.Fetcher = inv.objectFetcher()
	defer obj.Close()
	defer inv.wd.arm(inv.plan.Limits.Timeout)()
	var (
		result io.Reader
		n      int64
	)
	err = inv.timed("transform", func() (err error) {
		if err = Run(inv.ctx, inv.plan, obj); err == nil {
			result, n, err = obj.Result(inv.ctx)
		}
		return err
	})
	if err != nil {
		return err
	}

	hdr := obj.Header
	hdr.Del("ETag")
	setIf(hdr, "ETag", etag)
	hdr.Set("Accept-Ranges", "bytes")
	status := obj.Status
	if inv.fallback != "" {
		status = inv.fallbackAnswer(hdr, status)
	}
	if r, ok, unsatisfiable := parseRange(inv.req.Header, n, etag, modified); ok && status == http.StatusOK {
		if unsatisfiable {
			e := inv.errorResponse(&actions.Error{Status: 416, Code: actions.CodeInvalidRange, Message: "The requested range is not satisfiable"})
			e.header.Set("Content-Range", fmt.Sprintf("bytes */%d", n))
			return inv.respond(e)
		}
		if _, err := io.CopyN(io.Discard, result, r.start); err != nil {
			return err
		}
		hdr.Set("Content-Range", r.contentRange(n))
		result, n, status = io.LimitReader(result, r.length), r.length, http.StatusPartialContent
	}
	return inv.respond(response{status: status, header: hdr, body: result, size: n})
}

// predict answers a local request that has no original: the status and
// headers the plan implies (see Implied).
func (inv *invocation) predict() error {
	origin := http.Header{}
	if o := inv.req.Object; o != nil {
		setIf(origin, "Content-Type", o.ContentType)
		setIf(origin, "ETag", o.ETag)
		if !o.LastModified.IsZero() {
			origin.Set("Last-Modified", o.LastModified.UTC().Format(http.TimeFormat))
		}
	}
	areq := inv.actionRequest()
	status, hdr, err := Implied(inv.plan, areq, origin)
	if err != nil {
		return err
	}
	if inv.plan.Transforms() {
		hdr.Del("ETag")
		setIf(hdr, "ETag", derivedETag(origin.Get("ETag"), inv.plan, areq))
	}
	return inv.respond(response{status: status, header: hdr})
}

// 7. Respond: exactly once, whoever gets there first.
func (inv *invocation) respond(r response) error { return inv.out.respond(r) }

// fail answers with an error unless the request was answered already.
func (inv *invocation) fail(e *actions.Error) {
	if inv.out.claim() {
		inv.log.set(func(l *requestLog) { l.code = e.Code })
		_ = inv.out.deliver(inv.errorResponse(e))
	}
}

func (inv *invocation) errorResponse(e *actions.Error) response {
	return errorResponse(e, inv.id, inv.h.errorCacheControl)
}

// openOrigin starts the read of the original. forward lists the client's
// headers the origin should answer itself (Range and the conditionals of a
// passthrough).
func (inv *invocation) openOrigin(forward []string) error {
	return inv.timed("origin", func() (err error) {
		inv.src, err = inv.source.open(inv.ctx, inv.req, forward)
		return err
	})
}

// openOriginHeaders starts a read of the original's first byte only, for
// its headers (ETag, Last-Modified, type and size), when the plan's first
// step reads the original by ranges itself.
func (inv *invocation) openOriginHeaders([]string) error {
	head := *inv.req
	head.Header = inv.req.Header.Clone()
	head.Header.Set("Range", "bytes=0-0")
	head.Header.Del("If-Range")
	return inv.timed("origin", func() (err error) {
		inv.src, err = inv.source.open(inv.ctx, &head, []string{"Range"})
		return err
	})
}

// readsOriginalByURL reports whether the plan's first transform step
// reads the original through a URL (actions.URLReader).
func readsOriginalByURL(plan *rules.Plan) bool {
	for _, s := range plan.Steps {
		if s.Class == actions.Transform {
			r, ok := s.Action.(actions.URLReader)
			return ok && r.ReadsOriginalByURL()
		}
	}
	return false
}

// closeOrigin ends the read of the original, counting what was read.
func (inv *invocation) closeOrigin() {
	if inv.src == nil {
		return
	}
	inv.src.Close()
	n := inv.src.read.n
	inv.log.set(func(l *requestLog) { l.bytesIn += n })
	inv.src = nil
}

func (inv *invocation) actionRequest() *actions.Request {
	return &actions.Request{ID: inv.id, Key: inv.req.Key, Method: inv.req.Method, AccessPoint: inv.req.AccessPoint, Header: inv.req.Header}
}

func (inv *invocation) newObject(body io.Reader, size int64, header http.Header) *actions.Object {
	return actions.NewObject(inv.actionRequest(), body, size, header, inv.plan.Limits)
}

// timed runs f as the named stage of the request's log line.
func (inv *invocation) timed(stage string, f func() error) error {
	t := time.Now()
	defer inv.log.stage(stage, t)
	return f()
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
