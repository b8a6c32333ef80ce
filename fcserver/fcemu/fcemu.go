// Package fcemu plays Function Compute's side of the custom-runtime
// contract, for tests and benchmarks: it posts POST /initialize and POST
// /invoke to a runtime's HTTP server with the common request headers FC
// documents ("Custom runtime specifications", "Context and log format"),
// one request id and one set of credentials per invocation, and records
// what each call returned. It holds no knowledge of opaprules.
package fcemu

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Credentials are the STS credentials FC hands one invocation.
type Credentials struct {
	AccessKeyID, AccessKeySecret, SecurityToken string
}

// Emulator sends FC's requests to one runtime instance.
type Emulator struct {
	// URL is the runtime's base URL, "http://host:port".
	URL string
	// Region, MemoryMB and Timeout describe the function as FC would:
	// x-fc-region, x-fc-function-memory, x-fc-function-timeout.
	Region   string
	MemoryMB int
	Timeout  time.Duration
	// Credentials returns the credentials of the n-th invocation (from 1).
	Credentials func(n int64) Credentials
	// Client sends the calls (default: one with keep-alive and a timeout
	// of Timeout plus 5 s, as FC gives up on an invocation).
	Client *http.Client

	seq       atomic.Int64
	inflight  atomic.Int64
	peak      atomic.Int64
	mu        sync.Mutex
	calls     []Call
	clientSet sync.Once
}

// Call is one request FC sent and what the runtime answered.
type Call struct {
	Path        string // /invoke or /initialize
	RequestID   string
	Credentials Credentials
	Status      int    // the HTTP status
	FCStatus    string // x-fc-status
	Body        string
	Err         error // transport error
}

// Failed reports whether FC would record the invocation as failed.
func (c Call) Failed() bool {
	return c.Err != nil || c.Status != http.StatusOK || c.FCStatus != "200"
}

// Initialize calls the initializer, as FC does once when an instance starts.
func (e *Emulator) Initialize(ctx context.Context) Call {
	return e.call(ctx, "/initialize", nil)
}

// Invoke sends one event synchronously.
func (e *Emulator) Invoke(ctx context.Context, event []byte) Call {
	return e.call(ctx, "/invoke", event)
}

// InvokeFunc adapts Invoke to a synchronous-invoke callback (such as
// localoss.Config.Invoke): a failed invocation is an error.
func (e *Emulator) InvokeFunc(ctx context.Context, event []byte) error {
	c := e.Invoke(ctx, event)
	if c.Err != nil {
		return c.Err
	}
	if c.Failed() {
		return fmt.Errorf("invocation %s failed: %d x-fc-status %q: %s", c.RequestID, c.Status, c.FCStatus, c.Body)
	}
	return nil
}

// Calls returns every call so far, in the order they completed.
func (e *Emulator) Calls() []Call {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Call(nil), e.calls...)
}

// PeakInFlight is the most invocations that were outstanding at once.
func (e *Emulator) PeakInFlight() int64 { return e.peak.Load() }

func (e *Emulator) client() *http.Client {
	e.clientSet.Do(func() {
		if e.Client == nil {
			t := http.DefaultTransport.(*http.Transport).Clone()
			t.MaxIdleConnsPerHost = 256
			e.Client = &http.Client{Transport: t, Timeout: e.Timeout + 5*time.Second}
		}
	})
	return e.Client
}

func (e *Emulator) call(ctx context.Context, path string, body []byte) Call {
	n := e.seq.Add(1)
	c := Call{Path: path, RequestID: fmt.Sprintf("1-%08x-%08x-fcemu%06d", time.Now().Unix(), n*2654435761&0xffffffff, n)}
	if e.Credentials != nil {
		c.Credentials = e.Credentials(n)
	}
	now := e.inflight.Add(1)
	defer e.inflight.Add(-1)
	for {
		p := e.peak.Load()
		if now <= p || e.peak.CompareAndSwap(p, now) {
			break
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL+path, bytes.NewReader(body))
	if err != nil {
		c.Err = err
		return e.record(c)
	}
	h := req.Header
	h.Set("Content-Type", "application/octet-stream")
	h.Set("x-fc-request-id", c.RequestID)
	h.Set("x-fc-control-path", path)
	h.Set("x-fc-access-key-id", c.Credentials.AccessKeyID)
	h.Set("x-fc-access-key-secret", c.Credentials.AccessKeySecret)
	h.Set("x-fc-security-token", c.Credentials.SecurityToken)
	h.Set("x-fc-function-name", "opaprules")
	h.Set("x-fc-function-handler", "index.handler")
	h.Set("x-fc-function-memory", strconv.Itoa(e.MemoryMB))
	h.Set("x-fc-function-timeout", strconv.Itoa(int(e.Timeout/time.Second)))
	h.Set("x-fc-initialization-timeout", "30")
	h.Set("x-fc-region", e.Region)
	h.Set("x-fc-account-id", "1234567890123456")
	h.Set("x-fc-qualifier", "LATEST")
	h.Set("x-fc-retry-count", "0")
	resp, err := e.client().Do(req)
	if err != nil {
		c.Err = err
		return e.record(c)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	c.Status, c.FCStatus, c.Body, c.Err = resp.StatusCode, resp.Header.Get("x-fc-status"), string(b), err
	return e.record(c)
}

func (e *Emulator) record(c Call) Call {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls = append(e.calls, c)
	return c
}
