package localoss

import (
	"io"
	"log/slog"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const fwdHeaderPrefix = "X-Oss-Fwd-Header-"

// allowedFwdStatus is the set of x-oss-fwd-status values WGOR accepts.
var allowedFwdStatus = map[int]bool{
	200: true, 206: true, 301: true, 302: true, 303: true, 304: true,
	400: true, 401: true, 403: true, 404: true, 405: true, 409: true,
	411: true, 412: true, 416: true, 500: true, 503: true,
}

// Headers that describe a connection rather than the response; the relay
// sets Content-Length itself and keeps its own request id.
var unforwardable = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true,
	"Transfer-Encoding": true, "Te": true, "Trailer": true, "Upgrade": true,
	"Content-Length": true, "X-Oss-Request-Id": true,
}

func fwdHeaders(in http.Header) http.Header {
	out := http.Header{}
	for k, vs := range in {
		if !strings.HasPrefix(k, fwdHeaderPrefix) {
			continue
		}
		name := textproto.CanonicalMIMEHeaderKey(k[len(fwdHeaderPrefix):])
		if name == "" || unforwardable[name] {
			continue
		}
		out[name] = vs
	}
	return out
}

// serveWGOR handles POST /?x-oss-write-get-object-response. Everything is
// checked before the token is consumed, so a handler can retry a request it
// got wrong; once accepted, the response to the WGOR is delayed until its
// body has been relayed to the client.
func (s *Server) serveWGOR(w http.ResponseWriter, r *http.Request, q url.Values, rid string) {
	reject := func(reason RejectReason, e *ossError) {
		s.stats.reject(reason)
		s.log.Warn("WriteGetObjectResponse rejected", slog.String("request_id", rid),
			slog.String("reason", string(reason)), slog.String("code", e.Code), slog.String("message", e.Message))
		drainBody(w, r)
		writeError(w, r, rid, e)
	}
	if r.Method != http.MethodPost {
		e := newError(http.StatusMethodNotAllowed, "MethodNotAllowed", "WriteGetObjectResponse must be a POST.")
		e.Method = r.Method
		reject(RejectMethod, e)
		return
	}
	if s.authEnabled() {
		// The official signers name no bucket for this call, so they all
		// sign the resource "/": V1 as "/?x-oss-write-get-object-response"
		// (oss2 auth.py, whose sub-resource list has it; the Java SDK's
		// SignParameters.SIGNED_PARAMTERS; alibabacloud-oss-go-sdk-v2
		// oss/signer/v1.go with the operation's SubResource), V4 with the
		// canonical URI "/" (oss2 ProviderAuthV4.__get_canonical_uri, Java
		// OSSOperation.createSigner, Go v2 signer/v4.go). Only those are
		// accepted, so a handler that passes here would pass on OSS. The
		// Go v1 SDK's V1 signer leaves the sub-resource out (see
		// TestSDKV1OmitsWGORSubResource) and is refused.
		id, e := s.authenticate(r, q, authInput{resources: []string{"/"}, wgor: true})
		if e == nil && id == nil {
			e = errAccessDenied("WriteGetObjectResponse requests must be signed.")
		}
		if e != nil {
			reject(RejectSignature, e)
			return
		}
	}
	route := r.Header.Get("x-oss-request-route")
	token := r.Header.Get("x-oss-request-token")
	fwd := r.Header.Get("x-oss-fwd-status")
	for _, hv := range [][2]string{{"x-oss-request-route", route}, {"x-oss-request-token", token}, {"x-oss-fwd-status", fwd}} {
		if hv[1] == "" {
			reject(RejectMissingHeader, errInvalidArgument("The "+hv[0]+" header is required."))
			return
		}
	}
	if r.ContentLength < 0 {
		reject(RejectContentLength, newError(http.StatusLengthRequired, "MissingContentLength", "You must provide the Content-Length HTTP header."))
		return
	}
	status, err := strconv.Atoi(fwd)
	if err != nil || !allowedFwdStatus[status] {
		reject(RejectStatus, errInvalidArgument("x-oss-fwd-status "+fwd+" is not an allowed status code."))
		return
	}
	ex, reason, e := s.claim(token, route, r.Host)
	if e != nil {
		reject(reason, e)
		return
	}
	s.stats.wgorAccepted.Add(1)
	d := &delivery{status: status, header: fwdHeaders(r.Header), length: r.ContentLength, body: r.Body, done: make(chan error, 1)}
	ex.deliver <- d
	if err := <-d.done; err != nil {
		var e *ossError
		if _, ok := err.(*relayReadError); ok {
			e = newError(http.StatusBadRequest, "IncompleteBody", "The request body ended before Content-Length bytes: "+err.Error())
		} else {
			e = newError(http.StatusInternalServerError, "ClientConnectionClosed", "The client went away before the whole response was relayed: "+err.Error())
			drainBody(w, r)
		}
		writeError(w, r, rid, e)
		return
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}

// drainDeadline bounds how long drainBody waits for a body to arrive.
const drainDeadline = 10 * time.Second

// drainBody reads what is left of a WGOR body before an error answer.
// Answering first is legal HTTP, but aliyun-oss-go-sdk v3.0.2 then reads its
// progress counter in Conn.Do while its transport goroutine is still
// writing the body through it, which the race detector reports in every
// handler test that provokes an error. net/http drains small bodies by
// itself; this covers large ones.
func drainBody(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(drainDeadline))
	_, _ = io.Copy(io.Discard, r.Body)
	// An unconfigured http.Server never resets read deadlines, and the
	// connection may serve further requests.
	_ = rc.SetReadDeadline(time.Time{})
}
