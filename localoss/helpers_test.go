package localoss

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
)

const (
	testAK     = "LTAI5tLocalossTestKey"
	testSK     = "localoss-test-secret-0123456789abcdef"
	testRegion = "cn-hangzhou"
	testSTS    = "CAIS+sts/token#with==odd/chars"
)

// testClock lets a test move the server's clock.
type testClock struct{ off atomic.Int64 }

func (c *testClock) Now() time.Time        { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *testClock) Shift(d time.Duration) { c.off.Add(int64(d)) }

type fixture struct {
	t     *testing.T
	srv   *Server
	hs    *httptest.Server
	dir   string
	addr  string // 127.0.0.1:port
	clock *testClock
}

// newFixture starts a Server over a temp folder holding files, behind a
// real HTTP listener.
func newFixture(t *testing.T, cfg Config, files map[string]string) *fixture {
	t.Helper()
	f := &fixture{t: t, clock: &testClock{}}
	if cfg.FS == nil {
		f.dir = t.TempDir()
		for name, content := range files {
			f.write(name, content)
		}
		cfg.Dir = f.dir
	}
	if cfg.Now == nil {
		cfg.Now = f.clock.Now
	}
	if cfg.Logger == nil && testing.Verbose() {
		cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	// Listen first so that Config can name the port ("{port}" in Endpoint).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.addr = ln.Addr().String()
	_, port, _ := strings.Cut(f.addr, ":")
	cfg.Endpoint = strings.ReplaceAll(cfg.Endpoint, "{port}", port)
	srv, err := New(cfg)
	if err != nil {
		ln.Close()
		t.Fatalf("New: %v", err)
	}
	f.srv = srv
	f.hs = httptest.NewUnstartedServer(srv)
	f.hs.Listener.Close()
	f.hs.Listener = ln
	f.hs.Start()
	t.Cleanup(func() {
		f.hs.Close()
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return f
}

func (f *fixture) write(name, content string) {
	f.t.Helper()
	p := filepath.Join(f.dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// do sends a request to the fixture and returns status, headers and body.
func (f *fixture) do(method, target string, hdr map[string]string) (*http.Response, []byte) {
	f.t.Helper()
	req, err := http.NewRequest(method, f.hs.URL+target, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	return doRequest(f.t, req)
}

func doRequest(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", req.Method, req.URL, err)
	}
	return resp, body
}

// ossErr is the test's own view of an OSS error document.
type ossErr struct {
	Code, Message, RequestId, HostId, Key, StringToSign, CanonicalRequest, Condition string
}

func parseErr(t *testing.T, body []byte) ossErr {
	t.Helper()
	var e ossErr
	if err := xml.Unmarshal(body, &e); err != nil {
		t.Fatalf("not an OSS error document: %v\n%s", err, body)
	}
	return e
}

// sdkClient builds an SDK client; dialTo, when set, sends every connection
// to that address, so virtual-host and CNAME endpoints with made-up names
// reach the test server.
func sdkClient(t *testing.T, endpoint, dialTo string, opts ...oss.ClientOption) *oss.Client {
	t.Helper()
	if dialTo != "" {
		d := &net.Dialer{Timeout: 5 * time.Second}
		hc := &http.Client{Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return d.DialContext(ctx, network, dialTo)
			},
		}}
		opts = append(opts, oss.HTTPClient(hc))
	}
	c, err := oss.New(endpoint, testAK, testSK, opts...)
	if err != nil {
		t.Fatalf("oss.New: %v", err)
	}
	return c
}

func v4() []oss.ClientOption {
	return []oss.ClientOption{oss.AuthVersion(oss.AuthV4), oss.Region(testRegion)}
}

func v1() []oss.ClientOption {
	return []oss.ClientOption{oss.AuthVersion(oss.AuthV1)}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// serviceError extracts the SDK's view of an error response.
func serviceError(t *testing.T, err error) oss.ServiceError {
	t.Helper()
	se, ok := err.(oss.ServiceError)
	if !ok {
		t.Fatalf("want oss.ServiceError, got %T: %v", err, err)
	}
	return se
}

func httptestServer(t *testing.T, h http.Handler) string {
	t.Helper()
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	return hs.URL
}
