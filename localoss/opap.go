package localoss

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

// inputURLExpiry is how long an event's inputOssUrl stays valid.
const inputURLExpiry = time.Hour

// Tokens of finished exchanges are kept this long so that a reuse is
// reported as such rather than as an unknown token.
const (
	tombstoneTTL  = 10 * time.Minute
	sweepInterval = time.Minute
)

// exchange is one GetObject through an access point, from invocation until
// its WGOR has been relayed or the client request has given up.
type exchange struct {
	token, route string
	// claimed and closed are guarded by Server.mu. Exactly one of them ever
	// becomes true: a WGOR claims the exchange, or the client side closes it
	// (timeout, no response, client gone).
	claimed, closed bool
	endedAt         time.Time
	deliver         chan *delivery // capacity 1: the claiming WGOR never blocks on it
}

// delivery hands an accepted WGOR to the client request's goroutine, which
// alone may write to the client's ResponseWriter.
type delivery struct {
	status int
	header http.Header
	length int64
	body   io.Reader
	done   chan error // capacity 1; the relay outcome
}

// newToken returns a single-use token shaped like OSS's ("OSSV1#" and
// base64 with '+' and '/'), so that handlers are exercised with the
// characters that need care in headers and logs.
func newToken() string {
	var b [50]byte
	for {
		_, _ = rand.Read(b[:])
		t := base64.StdEncoding.EncodeToString(b[:])
		if strings.Contains(t, "+") && strings.Contains(t, "/") {
			return "OSSV1#" + t
		}
	}
}

func (s *Server) register(route string) *exchange {
	ex := &exchange{token: newToken(), route: route, deliver: make(chan *delivery, 1)}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Sub(s.lastSweep) > sweepInterval {
		s.lastSweep = now
		for tok, old := range s.exchanges {
			if (old.claimed || old.closed) && now.Sub(old.endedAt) > tombstoneTTL {
				delete(s.exchanges, tok)
			}
		}
	}
	s.exchanges[ex.token] = ex
	return ex
}

// abandon closes ex from the client side. It returns false when a WGOR has
// already claimed it; the delivery is then on its way and must be taken.
func (s *Server) abandon(ex *exchange) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ex.claimed {
		return false
	}
	ex.closed, ex.endedAt = true, time.Now()
	return true
}

// claim marks the exchange of token as answered by a WGOR sent to host with
// the given route header.
func (s *Server) claim(token, route, host string) (*exchange, RejectReason, *ossError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ex := s.exchanges[token]
	switch {
	case ex == nil:
		return nil, RejectUnknownToken, errAccessDenied("The request token is not valid.")
	case ex.claimed:
		return nil, RejectReusedToken, errAccessDenied("The request token has already been used.")
	case ex.closed:
		return nil, RejectExpiredToken, errAccessDenied("The request token has expired: the GetObject request it belongs to has ended.")
	case route != ex.route:
		return nil, RejectRoute, errInvalidArgument("x-oss-request-route " + route + " does not match the route of the token (" + ex.route + ").")
	case !strings.EqualFold(host, ex.route):
		return nil, RejectRoute, errInvalidArgument("The request was sent to " + host + ", not to the route of the token (" + ex.route + ").")
	}
	ex.claimed, ex.endedAt = true, time.Now()
	return ex, "", nil
}

// event is the JSON document the function receives.
type event struct {
	GetObjectContext struct {
		InputOssURL string `json:"inputOssUrl"`
		OutputRoute string `json:"outputRoute"`
		OutputToken string `json:"outputToken"`
	} `json:"getObjectContext"`
	Configuration struct {
		AccessPointName  string `json:"accessPointName"`
		AccessPointAlias string `json:"accessPointAlias"`
		Payload          string `json:"payload"`
	} `json:"configuration"`
	UserRequest struct {
		URL     string            `json:"url"`
		Headers map[string]string `json:"headers"`
	} `json:"userRequest"`
	UserIdentity    *eventIdentity `json:"userIdentity,omitempty"`
	XOssRequestID   string         `json:"xOssRequestId"`
	ProtocolVersion string         `json:"protocolVersion"`
}

type eventIdentity struct {
	Type        string `json:"type"`
	AccessKeyID string `json:"accessKeyId"`
}

// Headers that carry credentials are not passed to the function.
var hiddenRequestHeaders = map[string]bool{
	"Authorization": true, "X-Oss-Security-Token": true,
}

func (s *Server) buildEvent(r *http.Request, q url.Values, t target, who *identity, ex *exchange, rid string) ([]byte, error) {
	var ev event
	base := "http://" + ex.route
	extra := url.Values{}
	if v := q.Get("versionId"); v != "" {
		extra.Set("versionId", v)
	}
	if s.authEnabled() {
		ev.GetObjectContext.InputOssURL = presignV4(base, s.cfg.Bucket, t.key, extra, s.cred, s.cfg.Region, s.now(), inputURLExpiry)
	} else {
		u := base + escapeV4Path("/"+s.cfg.Bucket+"/"+t.key)
		if len(extra) > 0 {
			u += "?" + extra.Encode()
		}
		ev.GetObjectContext.InputOssURL = u
	}
	ev.GetObjectContext.OutputRoute = ex.route
	ev.GetObjectContext.OutputToken = ex.token
	ev.Configuration.AccessPointName = t.accessPoint
	ev.Configuration.AccessPointAlias = t.alias
	ev.Configuration.Payload = s.cfg.Payload

	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host, p := r.Host, r.URL.EscapedPath()
	if t.aliasPathStyle {
		// Real OSS is reached virtual-host style; present the request as if
		// it had been, so the path is the key.
		host = t.alias + "." + r.Host
		p = strings.TrimPrefix(p, "/"+t.alias)
		if !strings.HasPrefix(p, "/") {
			p = "/" + p
		}
	}
	u := scheme + "://" + host + p
	if r.URL.RawQuery != "" {
		u += "?" + r.URL.RawQuery
	}
	ev.UserRequest.URL = u
	hdrs := map[string]string{"Host": r.Host}
	for k, vs := range r.Header {
		if !hiddenRequestHeaders[k] {
			hdrs[k] = strings.Join(vs, ", ")
		}
	}
	if s.cfg.ForwardedFor {
		if peer, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			if prev := hdrs["X-Forwarded-For"]; prev != "" {
				peer = prev + ", " + peer
			}
			hdrs["X-Forwarded-For"] = peer
		}
	}
	ev.UserRequest.Headers = hdrs
	if who != nil {
		typ := "AccessKey"
		if who.STS {
			typ = "STSToken"
		}
		ev.UserIdentity = &eventIdentity{Type: typ, AccessKeyID: who.AccessKeyID}
	}
	ev.XOssRequestID = rid
	ev.ProtocolVersion = "1.00"

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// URLs are easier to read in logs without \u0026.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&ev); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// serveInvoke handles GetObject through an access point: invoke the
// function and relay its WGOR.
func (s *Server) serveInvoke(w http.ResponseWriter, r *http.Request, q url.Values, t target, rid string) {
	s.stats.clientGets.Add(1)
	var who *identity
	if s.cfg.RequireClientAuth {
		id, e := s.authenticate(r, q, authInput{resources: t.resources})
		if e == nil && id == nil {
			e = errAccessDenied("Anonymous access to an Object FC Access Point is not allowed.")
		}
		if e != nil {
			writeError(w, r, rid, e)
			return
		}
		who = id
	}
	if t.key == "" {
		writeError(w, r, rid, newError(http.StatusNotImplemented, "NotImplemented", "localoss serves objects only; it does not list buckets."))
		return
	}
	// Keys that merely cannot exist are the function's business (it will
	// get a 404 from inputOssUrl); traversal attempts are refused here.
	if e := checkKey(t.key); e != nil && e.Status == http.StatusBadRequest {
		writeError(w, r, rid, e)
		return
	}
	if s.cfg.Invoke == nil {
		writeError(w, r, rid, newError(http.StatusServiceUnavailable, "ServiceUnavailable", "No function is configured for this access point (Config.Invoke is nil)."))
		return
	}
	ex := s.register(s.advertised(r))
	ev, err := s.buildEvent(r, q, t, who, ex, rid)
	if err != nil {
		s.abandon(ex)
		writeError(w, r, rid, newError(http.StatusInternalServerError, "InternalError", err.Error()))
		return
	}
	log := s.log.With(slog.String("request_id", rid), slog.String("key", t.key), slog.String("access_point", t.accessPoint))
	log.Debug("invoking function", slog.String("event", string(ev)))

	ctx, cancel := context.WithCancel(s.baseCtx)
	invokeDone := make(chan error, 1)
	s.stats.invocations.Add(1)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer cancel()
		err := s.invoke(ctx, ev)
		if err != nil {
			// Counted here: the client side may have stopped listening.
			s.stats.invokeErrors.Add(1)
			log.Warn("function failed", slog.Any("err", err))
		}
		invokeDone <- err
	}()

	timer := time.NewTimer(s.cfg.InvokeTimeout)
	defer timer.Stop()
	timeout, clientGone := timer.C, r.Context().Done()
	var d *delivery
	for d == nil {
		select {
		case d = <-ex.deliver:
		case err := <-invokeDone:
			invokeDone = nil
			if !s.abandon(ex) {
				continue
			}
			if err != nil {
				writeError(w, r, rid, newError(http.StatusInternalServerError, "FunctionInvocationFailed", "The function failed: "+err.Error()))
				return
			}
			s.stats.noResponses.Add(1)
			log.Warn("function returned without WriteGetObjectResponse")
			writeError(w, r, rid, newError(http.StatusInternalServerError, "NoWriteGetObjectResponse", "The function returned without calling WriteGetObjectResponse."))
			return
		case <-timeout:
			timeout = nil
			if !s.abandon(ex) {
				continue
			}
			cancel()
			s.stats.invokeTimeouts.Add(1)
			log.Warn("no WriteGetObjectResponse in time", slog.Duration("timeout", s.cfg.InvokeTimeout))
			writeError(w, r, rid, newError(http.StatusGatewayTimeout, "InvokeTimeout",
				fmt.Sprintf("The function did not call WriteGetObjectResponse within %v.", s.cfg.InvokeTimeout)))
			return
		case <-clientGone:
			clientGone = nil
			if !s.abandon(ex) {
				continue
			}
			cancel()
			log.Debug("client went away before the function answered")
			return
		}
	}
	// The WGOR request waits on d.done; it must hear back even if the
	// relay panics.
	answered := false
	defer func() {
		if !answered {
			d.done <- errors.New("relay aborted")
		}
	}()
	err = s.relay(w, d)
	d.done <- err
	answered = true
	if err != nil {
		s.stats.relayFailures.Add(1)
		var re *relayReadError
		if errors.As(err, &re) {
			log.Warn("WriteGetObjectResponse body ended early; aborting the client response", slog.Any("err", err))
			_ = http.NewResponseController(w).Flush()
			abort()
		}
		log.Debug("client went away during the relay", slog.Any("err", err))
	}
}

// invoke calls the function, turning a panic into an error so that one bad
// handler run does not take the server down.
func (s *Server) invoke(ctx context.Context, ev []byte) (err error) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("function panicked", slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
			err = fmt.Errorf("function panicked: %v", p)
		}
	}()
	return s.cfg.Invoke(ctx, ev)
}

// relayReadError marks a failure reading the WGOR body, as opposed to
// writing to the client.
type relayReadError struct{ err error }

func (e *relayReadError) Error() string {
	return "reading WriteGetObjectResponse body: " + e.err.Error()
}
func (e *relayReadError) Unwrap() error { return e.err }

type trackedReader struct {
	r   io.Reader
	err error
}

func (t *trackedReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF {
		t.err = err
	}
	return n, err
}

// relay writes the WGOR's status, headers and body to the client, streaming
// the body as it arrives.
func (s *Server) relay(w http.ResponseWriter, d *delivery) error {
	h := w.Header()
	for k, vs := range d.header {
		h[k] = vs
	}
	if _, ok := d.header["Content-Type"]; !ok {
		// Stop net/http from sniffing one: the client gets what the
		// function sent.
		h["Content-Type"] = nil
	}
	if d.status == http.StatusNotModified {
		w.WriteHeader(d.status)
		_, err := io.Copy(io.Discard, d.body)
		if err != nil {
			return &relayReadError{err}
		}
		return nil
	}
	h.Set("Content-Length", strconv.FormatInt(d.length, 10))
	w.WriteHeader(d.status)
	src := &trackedReader{r: d.body}
	n, err := io.Copy(w, src)
	switch {
	case src.err != nil:
		return &relayReadError{src.err}
	case err != nil:
		return err
	case n != d.length:
		return &relayReadError{fmt.Errorf("got %d of %d bytes", n, d.length)}
	}
	return nil
}
