package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"

	"github.com/opaprules/opaprules/actions"
)

// Credentials sign requests to OSS: in Function Compute, the function
// role's STS credentials from the invocation context.
type Credentials struct {
	AccessKeyID     string
	AccessKeySecret string
	SecurityToken   string
}

// sink delivers the one response of an invocation: WriteGetObjectResponse
// for Function Compute, memory or a file for a local run.
type sink interface {
	send(response) error
}

var _ sink = (*wgor)(nil)

// response is one answer to the client.
type response struct {
	status int
	header http.Header
	body   io.Reader // nil for no body
	size   int64
	// err is the error this response reports, for local runs to show.
	err *actions.Error
}

// responder sends exactly one WriteGetObjectResponse per invocation.
// Whoever claims it first (the request's own flow, the deadline watchdog,
// or the panic handler) answers; later answers are dropped and reported.
// Once a body is streaming, a failure aborts the upload: the client sees a
// truncated response, never a second one.
type responder struct {
	mu      sync.Mutex
	claimed bool
	done    chan struct{}
	err     error
	sent    response

	send func(response) error
}

var errAlreadyAnswered = errors.New("the request was already answered")

func newResponder(send func(response) error) *responder {
	return &responder{send: send, done: make(chan struct{})}
}

// claim reports whether the caller may answer.
func (r *responder) claim() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.claimed {
		return false
	}
	r.claimed = true
	return true
}

// respond answers, unless someone already has.
func (r *responder) respond(resp response) error {
	if !r.claim() {
		return errAlreadyAnswered
	}
	return r.deliver(resp)
}

// deliver sends a response the caller has claimed.
func (r *responder) deliver(resp response) error {
	defer close(r.done)
	r.sent = resp
	r.err = r.send(resp)
	return r.err
}

// wait blocks until the claimed response has been sent, so an invocation
// never returns (and lets Function Compute freeze the instance) halfway
// through an upload.
func (r *responder) wait() error {
	r.mu.Lock()
	claimed := r.claimed
	r.mu.Unlock()
	if !claimed {
		return errors.New("no response was sent")
	}
	<-r.done
	return r.err
}

// errorResponse renders err for the client.
func errorResponse(e *actions.Error, requestID string, cacheControl func(int) string) response {
	body := renderError(e, requestID)
	h := http.Header{}
	h.Set("Content-Type", "application/xml")
	if cc := cacheControl(e.Status); cc != "" {
		h.Set("Cache-Control", cc)
	}
	return response{status: e.Status, header: h, body: bytes.NewReader(body), size: int64(len(body)), err: e}
}

// wgor sends responses with the OSS API WriteGetObjectResponse through the
// SDK: V4 signing with the region, because the SDK's V1 signer leaves the
// x-oss-write-get-object-response sub-resource out of what it signs, and
// Alibaba's own V1 signers (oss2, the Java SDK, the Go v2 SDK) put it in.
// With no bucket named, the v1 SDK's V4 signer takes the canonical URI "/"
// and the query "x-oss-write-get-object-response" (conn.go,
// getResourceV4), as those signers do; naming a bucket would sign
// "/<bucket>/", which OSS would refuse. localoss accepts only these shapes.
type wgor struct {
	// ctx bounds the upload: the invocation's context, which the
	// request's own cancellation (the watchdog's) does not end.
	ctx      context.Context
	endpoint string // scheme://outputRoute
	route    string
	token    string
	region   string
	creds    Credentials
	client   *http.Client
	// forward lists the response headers sent as x-oss-fwd-header-*.
	forward []string
}

func (w *wgor) send(resp response) error {
	// The SDK's CRC64 of the upload is only checked by its typed
	// operations, never for Conn.Do: computing it would cost a pass over
	// every byte for nothing.
	opts := []oss.ClientOption{oss.AuthVersion(oss.AuthV4), oss.Region(w.region), oss.HTTPClient(w.client), oss.EnableCRC(false)}
	if w.creds.SecurityToken != "" {
		opts = append(opts, oss.SecurityToken(w.creds.SecurityToken))
	}
	client, err := oss.New(w.endpoint, w.creds.AccessKeyID, w.creds.AccessKeySecret, opts...)
	if err != nil {
		return fmt.Errorf("WriteGetObjectResponse client: %w", err)
	}
	headers := map[string]string{
		"x-oss-request-route": w.route,
		"x-oss-request-token": w.token,
		"x-oss-fwd-status":    strconv.Itoa(resp.status),
	}
	for _, name := range w.forward {
		if v := resp.header.Get(name); v != "" {
			headers["x-oss-fwd-header-"+name] = v
		}
	}
	// The SDK sets Content-Length only for readers whose length it can
	// tell; an io.LimitedReader is one, and it also stops an origin that
	// sends more than it announced.
	var data io.Reader
	if resp.size > 0 && resp.body != nil {
		data = &io.LimitedReader{R: safeReader{resp.body}, N: resp.size}
	}
	r, err := client.Conn.DoWithContext(w.ctx, http.MethodPost, "", "", map[string]interface{}{"x-oss-write-get-object-response": nil}, headers, data, 0, nil)
	if r != nil && r.Body != nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 64<<10))
		r.Body.Close()
	}
	if err != nil {
		return fmt.Errorf("WriteGetObjectResponse: %w", err)
	}
	if lr, ok := data.(*io.LimitedReader); ok && lr.N > 0 {
		return fmt.Errorf("WriteGetObjectResponse: body ended %d bytes short", lr.N)
	}
	return nil
}

// safeReader turns a panic inside a body reader into a read error. Bodies
// are read on the HTTP transport's goroutine, where a panic would take the
// whole process down with every other request on the instance.
type safeReader struct{ r io.Reader }

func (s safeReader) Read(p []byte) (n int, err error) {
	defer func() {
		if v := recover(); v != nil {
			n, err = 0, &PanicError{Where: "reading the response body", Value: v, Stack: debug.Stack()}
		}
	}()
	return s.r.Read(p)
}
