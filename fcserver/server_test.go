package fcserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opaprules/opaprules/engine"
	"github.com/opaprules/opaprules/fcserver/fcemu"
	"github.com/opaprules/opaprules/localoss"
	"github.com/opaprules/opaprules/rules"
)

const (
	testAK  = "STS.fcserverkey"
	testSK  = "fcserversecret"
	testSTS = "CAIS-fcserver-token"
)

const testRules = `version: 1
rules:
  - name: private
    when: key startsWith "private/"
    actions: [{deny: {status: 404}}]
  - name: download
    when: query.dl == "1"
    actions: [{headers: {content_disposition: attachment, filename: "${ base }"}}]
`

// syncBuffer collects output written from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type emulator struct{ *fcemu.Emulator }

// world is a local OSS playing the access point, an fc-server behind it,
// and FC's side of the contract between them.
type world struct {
	oss    *localoss.Server
	ossURL string
	fcURL  string
	emu    *emulator
	stdout *syncBuffer
	logs   *syncBuffer
}

func newWorld(t *testing.T, creds func(n int64) fcemu.Credentials, originDelay time.Duration) *world {
	t.Helper()
	dir := t.TempDir()
	for name, content := range map[string]string{"a.txt": "line one\n", "private/p.txt": "secret\n"} {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	w := &world{stdout: &syncBuffer{}, logs: &syncBuffer{}}
	rs, err := rules.Load("rules.yaml", []byte(testRules))
	if err != nil {
		t.Fatal(err)
	}
	fn := &engine.Function{Rules: rs, Logger: slog.New(slog.NewJSONHandler(w.logs, nil))}
	fc := httptest.NewServer(New(fn, w.stdout))
	t.Cleanup(fc.Close)
	w.fcURL = fc.URL
	w.emu = &emulator{&fcemu.Emulator{URL: fc.URL, Region: localoss.DefaultRegion, MemoryMB: 512, Timeout: 10 * time.Second, Credentials: creds}}

	cfg := localoss.Config{Dir: dir, AccessKeyID: testAK, AccessKeySecret: testSK, SecurityToken: testSTS, Invoke: w.emu.InvokeFunc}
	if originDelay > 0 {
		cfg.OriginFault = func(method, key string) *localoss.Fault { return &localoss.Fault{Delay: originDelay} }
	}
	w.oss, err = localoss.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(w.oss)
	t.Cleanup(func() { ts.Close(); w.oss.Close() })
	w.ossURL = ts.URL
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("stdout:\n%s\nlogs:\n%s", w.stdout.String(), w.logs.String())
		}
	})
	return w
}

// waitCalls returns the emulator's calls once there are n of them.
func (e *emulator) waitCalls(t *testing.T, n int) []fcemu.Call {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		calls := e.Calls()
		if len(calls) >= n || time.Now().After(deadline) {
			return calls
		}
	}
}

func goodCreds(int64) fcemu.Credentials {
	return fcemu.Credentials{AccessKeyID: testAK, AccessKeySecret: testSK, SecurityToken: testSTS}
}

func (w *world) get(t *testing.T, path string) (int, http.Header, string) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 20 * time.Second}).Get(w.ossURL + path)
	if err != nil {
		t.Errorf("GET %s: %v", path, err)
		return 0, nil, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestConcurrentInvocations sends many GetObjects through the access point
// at once; every other invocation carries a wrong secret. Each invocation
// must sign its one WriteGetObjectResponse with its own credentials: the
// good ones are answered, the bad ones are refused by the local OSS and
// reported to FC as failed, and nothing leaks from one to another.
func TestConcurrentInvocations(t *testing.T) {
	creds := func(n int64) fcemu.Credentials {
		if n%2 == 0 {
			return fcemu.Credentials{AccessKeyID: testAK, AccessKeySecret: "wrong-" + testSK, SecurityToken: testSTS}
		}
		return goodCreds(n)
	}
	// The origin holds each read, so the invocations overlap.
	w := newWorld(t, creds, 150*time.Millisecond)
	if c := w.emu.Initialize(context.Background()); c.Failed() {
		t.Fatalf("initialize: %+v", c)
	}
	const n = 24
	paths := []string{"/a.txt", "/a.txt?dl=1", "/private/p.txt"}
	type got struct {
		path   string
		status int
		header http.Header
		body   string
	}
	results := make([]got, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := paths[i%len(paths)]
			status, h, body := w.get(t, p)
			results[i] = got{p, status, h, body}
		}()
	}
	wg.Wait()

	// A client has its answer once the WriteGetObjectResponse is relayed,
	// a moment before FC hears back from /invoke.
	calls := w.emu.waitCalls(t, n+1)
	var invokes, good, bad int
	for _, c := range calls {
		if c.Path != "/invoke" {
			continue
		}
		invokes++
		if c.Credentials.AccessKeySecret == testSK {
			good++
			if c.Failed() {
				t.Errorf("invocation %s with good credentials failed: %+v", c.RequestID, c)
			}
			continue
		}
		bad++
		var e struct{ ErrorType, ErrorMessage string }
		if c.Status != 404 || c.FCStatus != "404" || json.Unmarshal([]byte(c.Body), &e) != nil || !strings.Contains(e.ErrorMessage, "SignatureDoesNotMatch") {
			t.Errorf("invocation %s with a wrong secret: %d x-fc-status %q %s", c.RequestID, c.Status, c.FCStatus, c.Body)
		}
	}
	if invokes != n || good != n/2 || bad != n/2 {
		t.Fatalf("%d invocations (%d good, %d bad), want %d", invokes, good, bad, n)
	}
	// Exactly one WriteGetObjectResponse per invocation, accepted exactly
	// when signed with the right secret.
	st := w.oss.Stats()
	if st.WGORAccepted != int64(good) || st.WGORRejected[localoss.RejectSignature] != int64(bad) || st.WGORRejectedTotal() != int64(bad) {
		t.Errorf("WGOR accepted %d rejected %v, want %d and %d", st.WGORAccepted, st.WGORRejected, good, bad)
	}
	var ok, failed int
	for _, r := range results {
		switch {
		case r.status == 500 && strings.Contains(r.body, "FunctionInvocationFailed"):
			failed++
		case r.path == "/a.txt" && r.status == 200 && r.body == "line one\n":
			ok++
		case r.path == "/a.txt?dl=1" && r.status == 200 && r.header.Get("Content-Disposition") == `attachment; filename="a.txt"`:
			ok++
		case r.path == "/private/p.txt" && r.status == 404 && strings.Contains(r.body, "<Code>NoSuchKey</Code>"):
			ok++
		default:
			t.Errorf("GET %s: %d %v %q", r.path, r.status, r.header, r.body)
		}
	}
	if ok != good || failed != bad {
		t.Errorf("clients: %d answered, %d failed; want %d and %d", ok, failed, good, bad)
	}
	if p := w.emu.PeakInFlight(); p < 2 {
		t.Errorf("at most %d invocation in flight: the server did not run them at once", p)
	}

	// The FC log lines: one Start and one End per invocation, in that order.
	out := w.stdout.String()
	for _, c := range calls {
		kind := "Invoke"
		if c.Path == "/initialize" {
			kind = "Initialize"
		}
		start := strings.Index(out, "FC "+kind+" Start RequestId: "+c.RequestID+"\n")
		end := strings.Index(out, "FC "+kind+" End RequestId: "+c.RequestID+"\n")
		if start < 0 || end < start || strings.Count(out, c.RequestID) != 2 {
			t.Errorf("log lines of %s %s wrong in:\n%s", c.Path, c.RequestID, out)
		}
	}
	// The handler's own line for each invocation carries FC's id of it,
	// so it can be found from FC's logs and metrics.
	lines := strings.Split(w.logs.String(), "\n")
	for _, c := range calls {
		if c.Path != "/invoke" {
			continue
		}
		n := 0
		for _, l := range lines {
			if strings.Contains(l, `"msg":"request"`) && strings.Contains(l, `"fc_request_id":"`+c.RequestID+`"`) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d request lines with fc_request_id %s, want 1", n, c.RequestID)
		}
	}
}

func TestControlPaths(t *testing.T) {
	w := newWorld(t, goodCreds, 0)
	post := func(path, control string, body string, method string) (int, http.Header, string) {
		req, _ := http.NewRequest(method, w.fcURL+path, strings.NewReader(body))
		req.Header.Set("x-fc-request-id", "rid-"+strings.Trim(path, "/"))
		if control != "" {
			req.Header.Set("x-fc-control-path", control)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}
	for _, tc := range []struct {
		name, path, control, body, method string
		status                            int
		fcStatus, contains                string
	}{
		{"initialize", "/initialize", "/initialize", "", "POST", 200, "200", ""},
		{"control path wins over the URL path", "/", "/initialize", "", "POST", 200, "200", ""},
		{"event that names no route", "/invoke", "/invoke", `{"hello":"world"}`, "POST", 404, "404", "outputRoute"},
		{"event that is not JSON", "/invoke", "", `not json`, "POST", 404, "404", "outputRoute"},
		{"event too large", "/invoke", "/invoke", strings.Repeat("x", MaxEventBytes+1), "POST", 404, "404", "EventTooLarge"},
		{"GET", "/invoke", "/invoke", "", "GET", 405, "404", "takes POST"},
		{"HTTP request, denied by the rules", "/private/p.txt", "/http-invoke", "", "GET", 404, "", "<Code>NoSuchKey</Code>"},
		{"HTTP request without a control path", "/private/p.txt", "", "", "GET", 404, "", "<Code>NoSuchKey</Code>"},
		{"unknown control path", "/a", "/nope", "", "POST", 404, "404", "/nope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, h, body := post(tc.path, tc.control, tc.body, tc.method)
			if status != tc.status || h.Get("x-fc-status") != tc.fcStatus || !strings.Contains(body, tc.contains) {
				t.Errorf("%d x-fc-status %q %s", status, h.Get("x-fc-status"), body)
			}
		})
	}
	// The event that did not decode is in the log for the operator: its
	// shape (the field names), its values masked.
	if logs := w.logs.String(); !strings.Contains(logs, `"msg":"event does not decode"`) || !strings.Contains(logs, `"event":{"hello":`) || strings.Contains(logs, `"world"`) {
		t.Errorf("no report of the undecodable event in:\n%s", logs)
	}
}

func TestDeadline(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		hdr  map[string]string
		want time.Time
		ok   bool
	}{
		{map[string]string{"x-fc-function-timeout": "60"}, now.Add(time.Minute), true},
		{map[string]string{"x-fc-function-timeout": "2.5"}, now.Add(2500 * time.Millisecond), true},
		{map[string]string{"x-fc-function-timeout": "60", "x-fc-function-deadline": fmt.Sprint(now.Add(3 * time.Second).UnixMilli())}, now.Add(3 * time.Second), true},
		{map[string]string{"x-fc-function-timeout": "0"}, time.Time{}, false},
		{map[string]string{"x-fc-function-timeout": "soon"}, time.Time{}, false},
		{map[string]string{}, time.Time{}, false},
	} {
		h := http.Header{}
		for k, v := range tc.hdr {
			h.Set(k, v)
		}
		got, ok := Deadline(h, now)
		if ok != tc.ok || !got.Equal(tc.want) {
			t.Errorf("%v: got %v %v, want %v %v", tc.hdr, got, ok, tc.want, tc.ok)
		}
	}
}

func TestListenAddr(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{}, "0.0.0.0:9000"},
		{map[string]string{"FC_SERVER_PORT": "8080"}, "0.0.0.0:8080"},
		{map[string]string{"FC_CUSTOM_LISTEN_PORT": "81", "FC_SERVER_PORT": "8080"}, "0.0.0.0:81"},
	} {
		if got := ListenAddr(func(k string) string { return tc.env[k] }); got != tc.want {
			t.Errorf("%v: %s, want %s", tc.env, got, tc.want)
		}
	}
}

// A client's request through an HTTP trigger runs the same rules and reads
// the original from the bucket with the credentials FC passes, and is
// answered in the HTTP response itself.
func TestHTTPTrigger(t *testing.T) {
	w := newWorld(t, goodCreds, 0)
	t.Setenv("OPAPRULES_BUCKET", localoss.DefaultBucket)
	t.Setenv("OPAPRULES_ENDPOINT", w.ossURL)
	get := func(path, secret string) (int, http.Header, string) {
		req, _ := http.NewRequest(http.MethodGet, w.fcURL+path, nil)
		req.Header.Set("x-fc-request-id", "http-"+path)
		req.Header.Set("x-fc-access-key-id", testAK)
		req.Header.Set("x-fc-access-key-secret", secret)
		req.Header.Set("x-fc-security-token", testSTS)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}
	status, h, body := get("/a.txt?dl=1", testSK)
	if status != 200 || body != "line one\n" || h.Get("Content-Disposition") != `attachment; filename="a.txt"` || h.Get("x-fc-status") != "" {
		t.Errorf("GET: %d %v %q", status, h, body)
	}
	// The original is read with the request's own credentials.
	if status, _, body := get("/a.txt", "wrong"); status != 403 || !strings.Contains(body, "<Code>AccessDenied</Code>") {
		t.Errorf("wrong credentials: %d %s", status, body)
	}
	if out := w.stdout.String(); !strings.Contains(out, "FC Invoke Start RequestId: http-/a.txt?dl=1") || !strings.Contains(out, "FC Invoke End RequestId: http-/a.txt?dl=1") {
		t.Errorf("no FC log lines for the HTTP request in:\n%s", out)
	}
}
