// Package fcserver is the Function Compute custom-runtime front door: an
// HTTP server that Function Compute starts in the instance and sends
// invocations to, many at once when the function's instanceConcurrency is
// above 1 (only custom runtimes have it in FC 3.0: "Feature updates in
// Function Compute 3.0"). It translates each call into one
// engine.Function call and holds no request logic: the compiled rules,
// caches, the memory budget and the keep-alive connections to OSS are the
// engine's, shared by every invocation in the process.
//
// The contract, from FC's "Custom runtime specifications", "Context and log
// format" and "Event handlers" pages:
//   - listen on 0.0.0.0:CAPort (default 9000; 127.0.0.1 fails with
//     FunctionNotStarted), ready within 120 s of start;
//   - POST /invoke: the event as the body (application/octet-stream) and
//     the common headers x-fc-request-id, x-fc-access-key-id,
//     x-fc-access-key-secret, x-fc-security-token, x-fc-function-memory,
//     x-fc-function-timeout (seconds), x-fc-region, ...; POST /initialize
//     when the function has an initializer; x-fc-control-path names which
//     (/invoke, /initialize, or /http-invoke for an HTTP trigger);
//   - answer with StatusCode and x-fc-status, 200 for success and 404 for
//     a failed invocation;
//   - write "FC Invoke Start RequestId: <id>" and "FC Invoke End
//     RequestId: <id>" to stdout around each invocation ("FC Initialize
//     ..." around the initializer);
//   - keep connections alive: FC reuses them, and its FAQ on "Process
//     exited unexpectedly" asks for keep-alive timeouts of 15 minutes or
//     more, so the server never times out an idle connection.
package fcserver

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opaprules/opaprules/engine"
)

// The common request headers FC sends a custom runtime.
const (
	HeaderRequestID       = "x-fc-request-id"
	HeaderAccessKeyID     = "x-fc-access-key-id"
	HeaderAccessKeySecret = "x-fc-access-key-secret"
	HeaderSecurityToken   = "x-fc-security-token"
	HeaderMemory          = "x-fc-function-memory"  // MB
	HeaderTimeout         = "x-fc-function-timeout" // seconds
	HeaderRegion          = "x-fc-region"
	HeaderControlPath     = "x-fc-control-path"
	// HeaderDeadline (epoch milliseconds) is what FC's runtime API gives
	// the go1 runtime; a custom runtime is documented to get only the
	// timeout, so the deadline is derived from it when this is absent.
	HeaderDeadline = "x-fc-function-deadline"
	// HeaderStatus reports the invocation's outcome to FC.
	HeaderStatus = "x-fc-status"
)

// MaxEventBytes bounds the body of /invoke. An OSS event is a few KB
// (OSS request headers are at most 8 KB); anything far larger is not one.
const MaxEventBytes = 1 << 20

// Server answers FC's custom-runtime requests. It is an http.Handler, safe
// for concurrent use.
type Server struct {
	fn     *engine.Function
	logger *slog.Logger

	outMu  sync.Mutex
	stdout io.Writer // the FC Invoke Start/End lines
}

// New returns a Server for fn, writing FC's log lines to stdout.
func New(fn *engine.Function, stdout io.Writer) *Server {
	return &Server{fn: fn, logger: fn.Logger, stdout: stdout}
}

// NewHTTPServer wraps h in an http.Server configured for FC: no read,
// write or idle timeout once a request has started (invocations and
// their keep-alive connections last as long as FC keeps them), and a bound
// only on how long a request's headers may take to arrive.
func NewHTTPServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: time.Minute,
		// IdleTimeout and ReadTimeout stay zero: with both zero an idle
		// keep-alive connection is never closed by the server, and the
		// header timeout starts only when a request's first bytes arrive.
	}
}

// ListenAddr is where fc-server listens unless told otherwise: every
// interface, on the port FC gives the custom runtime (FC_CUSTOM_LISTEN_PORT,
// documented among FC's system environment variables; FC_SERVER_PORT, what
// FC's local runtime emulator fc-docker sets), else CAPort's default 9000.
func ListenAddr(getenv func(string) string) string {
	return "0.0.0.0:" + cmp.Or(getenv("FC_CUSTOM_LISTEN_PORT"), getenv("FC_SERVER_PORT"), "9000")
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// FC names the kind of call in x-fc-control-path. Without it (an
	// emulator, or a web function's plain request), POST /invoke and POST
	// /initialize are calls, and anything else is a client's request
	// through an HTTP trigger or custom domain.
	path := r.Header.Get(HeaderControlPath)
	if path == "" {
		path = "/http-invoke"
		if r.Method == http.MethodPost && (r.URL.Path == "/invoke" || r.URL.Path == "/initialize") {
			path = r.URL.Path
		}
	}
	switch path {
	case "/invoke", "/initialize":
	case "/http-invoke":
		s.httpInvoke(w, r)
		return
	default:
		s.fail(w, http.StatusNotFound, "NotFound", fmt.Sprintf("this runtime serves event invocations (/invoke), HTTP requests (/http-invoke) and the initializer (/initialize), not %q", path))
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		s.fail(w, http.StatusMethodNotAllowed, "MethodNotAllowed", path+" takes POST")
		return
	}
	if path == "/initialize" {
		s.initialize(w, r)
		return
	}
	s.invoke(w, r)
}

// line writes one FC log line to stdout; concurrent invocations must not
// interleave inside a line.
func (s *Server) line(format string, args ...any) {
	s.outMu.Lock()
	defer s.outMu.Unlock()
	fmt.Fprintf(s.stdout, format+"\n", args...)
}

func (s *Server) initialize(w http.ResponseWriter, r *http.Request) {
	rid := r.Header.Get(HeaderRequestID)
	s.line("FC Initialize Start RequestId: %s", rid)
	defer s.line("FC Initialize End RequestId: %s", rid)
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, MaxEventBytes))
	// A codec that does not warm is compiled on first use instead: worth a
	// log line (Initialize writes it), not a failed instance.
	_ = s.fn.Initialize()
	w.Header().Set(HeaderStatus, "200")
	w.WriteHeader(http.StatusOK)
}

func (s *Server) invoke(w http.ResponseWriter, r *http.Request) {
	rid := r.Header.Get(HeaderRequestID)
	s.line("FC Invoke Start RequestId: %s", rid)
	defer s.line("FC Invoke End RequestId: %s", rid)
	defer func() {
		// engine.Handler recovers its own panics; this covers the rest of
		// the path, so one invocation cannot end the others.
		if v := recover(); v != nil {
			s.logger.Error("panic in fc-server", "fc_request_id", rid, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			s.fail(w, http.StatusNotFound, "Panic", fmt.Sprint(v))
		}
	}()

	event, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxEventBytes))
	if err != nil {
		s.fail(w, http.StatusNotFound, "EventTooLarge", "reading the event: "+err.Error())
		return
	}
	ctx := r.Context()
	if dl, ok := Deadline(r.Header, time.Now()); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl)
		defer cancel()
	}
	ctx = engine.WithFCRequestID(ctx, rid)
	if err := s.fn.Invoke(ctx, event, Credentials(r.Header), Instance(r.Header)); err != nil {
		// The client may have had no answer: FC records the failure.
		s.logger.Error("invocation failed", "fc_request_id", rid, "error", err.Error())
		s.fail(w, http.StatusNotFound, "InvocationFailed", err.Error())
		return
	}
	w.Header().Set(HeaderStatus, "200")
	w.WriteHeader(http.StatusOK)
}

// httpInvoke answers a client's request that came through an HTTP trigger
// or a custom domain: the same rules, the answer in the HTTP response
// itself (engine.Handler.ServeHTTP).
func (s *Server) httpInvoke(w http.ResponseWriter, r *http.Request) {
	rid := r.Header.Get(HeaderRequestID)
	s.line("FC Invoke Start RequestId: %s", rid)
	defer s.line("FC Invoke End RequestId: %s", rid)
	ctx := r.Context()
	if dl, ok := Deadline(r.Header, time.Now()); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl)
		defer cancel()
	}
	if err := s.fn.ServeHTTP(ctx, w, r, Credentials(r.Header), Instance(r.Header)); err != nil {
		// The client may have had a truncated answer; nothing more can be
		// sent on this response.
		s.logger.Error("HTTP request failed", "fc_request_id", rid, "error", err.Error())
	}
}

// fail answers FC with a failed invocation: the status, x-fc-status 404 and
// the error in the shape FC's built-in runtimes report one.
func (s *Server) fail(w http.ResponseWriter, status int, kind, message string) {
	body, _ := json.Marshal(map[string]string{"errorType": kind, "errorMessage": message})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set(HeaderStatus, "404")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// Credentials are the invocation's STS credentials: the function role's,
// which sign WriteGetObjectResponse and origin reads.
func Credentials(h http.Header) engine.Credentials {
	return engine.Credentials{
		AccessKeyID:     h.Get(HeaderAccessKeyID),
		AccessKeySecret: h.Get(HeaderAccessKeySecret),
		SecurityToken:   h.Get(HeaderSecurityToken),
	}
}

// Instance is the instance as the headers describe it, falling back on
// FC's system environment variables FC_REGION and FC_FUNCTION_MEMORY_SIZE.
func Instance(h http.Header) engine.Instance {
	return engine.Instance{
		Region:   cmp.Or(h.Get(HeaderRegion), os.Getenv("FC_REGION")),
		MemoryMB: cmp.Or(h.Get(HeaderMemory), os.Getenv("FC_FUNCTION_MEMORY_SIZE")),
	}
}

// Deadline is when FC gives up on the invocation: x-fc-function-deadline
// when present, else now plus x-fc-function-timeout seconds.
func Deadline(h http.Header, now time.Time) (time.Time, bool) {
	if ms, err := strconv.ParseInt(strings.TrimSpace(h.Get(HeaderDeadline)), 10, 64); err == nil && ms > 0 {
		return time.UnixMilli(ms), true
	}
	secs, err := strconv.ParseFloat(strings.TrimSpace(h.Get(HeaderTimeout)), 64)
	if err != nil || secs <= 0 {
		return time.Time{}, false
	}
	return now.Add(time.Duration(secs * float64(time.Second))), true
}
