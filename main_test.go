package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/opaprules/opaprules/fcserver/fcemu"
	"github.com/opaprules/opaprules/localoss"
)

// fcEmulator plays the Function Compute runtime API the compiled binary
// talks to: GET .../invocation/next hands out events with the headers FC
// sends (request id, deadline, timeout, credentials, region), and
// .../invocation/{id}/response or /error completes them.
type fcEmulator struct {
	ak, sk, token, region string
	timeout               time.Duration

	queue   chan *fcInvocation
	mu      sync.Mutex
	pending map[string]*fcInvocation
	seq     atomic.Int64
	inits   atomic.Int64
}

type fcInvocation struct {
	id       string
	payload  []byte
	funcType int
	done     chan string // "response" or "error: ..."
}

func newFCEmulator() *fcEmulator {
	return &fcEmulator{ak: "STS.testkey", sk: "stssecret", token: "sts-token-xyz", region: "cn-hangzhou", timeout: 10 * time.Second,
		queue: make(chan *fcInvocation, 16), pending: map[string]*fcInvocation{}}
}

func (f *fcEmulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	const prefix = "/2020-11-11/runtime/invocation/"
	rest, ok := strings.CutPrefix(r.URL.Path, prefix)
	if !ok {
		http.NotFound(w, r)
		return
	}
	if rest == "next" && r.Method == http.MethodGet {
		var inv *fcInvocation
		select {
		case inv = <-f.queue:
		case <-r.Context().Done():
			return
		}
		h := w.Header()
		h.Set("x-fc-request-id", inv.id)
		h.Set("x-fc-function-deadline", strconv.FormatInt(time.Now().Add(f.timeout).UnixMilli(), 10))
		h.Set("x-fc-function-timeout", strconv.Itoa(int(f.timeout.Seconds())))
		h.Set("x-fc-access-key-id", f.ak)
		h.Set("x-fc-access-key-secret", f.sk)
		h.Set("x-fc-security-token", f.token)
		h.Set("x-fc-region", f.region)
		h.Set("x-fc-function-type", strconv.Itoa(inv.funcType))
		w.Write(inv.payload)
		return
	}
	id, kind, _ := strings.Cut(rest, "/")
	f.mu.Lock()
	inv := f.pending[id]
	delete(f.pending, id)
	f.mu.Unlock()
	if inv == nil {
		http.Error(w, "unknown invocation", http.StatusNotFound)
		return
	}
	body, _ := io.ReadAll(r.Body)
	if kind == "error" {
		inv.done <- "error: " + string(body)
	} else {
		inv.done <- "response"
	}
	w.WriteHeader(http.StatusOK)
}

// invoke runs one invocation to completion, as FC's synchronous invoke does.
func (f *fcEmulator) invoke(ctx context.Context, funcType int, event []byte) error {
	inv := &fcInvocation{id: fmt.Sprintf("req-%d", f.seq.Add(1)), payload: event, funcType: funcType, done: make(chan string, 1)}
	f.mu.Lock()
	f.pending[inv.id] = inv
	f.mu.Unlock()
	f.queue <- inv
	select {
	case res := <-inv.done:
		if res != "response" {
			return fmt.Errorf("function %s", res)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// buildBinary builds the command as it is deployed: static, without cgo.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "opaprules")
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-tags", "nodynamic", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func TestFunctionComputeEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	const text = "line one: mail ops@example.com\n"
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte(text), 0o644)
	os.MkdirAll(filepath.Join(dir, "private"), 0o755)
	os.WriteFile(filepath.Join(dir, "private", "p.txt"), []byte(text), 0o644)
	rulesFile := filepath.Join(dir, "..", "rules.yaml")
	os.WriteFile(rulesFile, []byte(`version: 1
rules:
  - name: private
    when: key startsWith "private/"
    actions: [{deny: {status: 404}}]
  - name: download
    when: query.dl == "1"
    actions: [{headers: {content_disposition: attachment, filename: "${ base }"}}]
  - name: bucket
    when: query.b == "1"
    actions: [{headers: {cache_control: "private, bucket=${ bucket }"}}]
`), 0o644)

	fcEmu := newFCEmulator()
	fcSrv := httptest.NewServer(fcEmu)
	defer fcSrv.Close()
	oss, err := localoss.New(localoss.Config{
		Dir: dir, AccessKeyID: fcEmu.ak, AccessKeySecret: fcEmu.sk, SecurityToken: fcEmu.token,
		Invoke: func(ctx context.Context, event []byte) error { return fcEmu.invoke(ctx, 0, event) },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer oss.Close()
	ossSrv := httptest.NewServer(oss)
	defer ossSrv.Close()

	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(),
		"FC_RUNTIME_API="+strings.TrimPrefix(fcSrv.URL, "http://"),
		"OPAPRULES_RULES="+rulesFile,
		"OPAPRULES_BUCKET="+localoss.DefaultBucket,
		"OPAPRULES_ENDPOINT="+ossSrv.URL,
	)
	var logs strings.Builder
	var logMu sync.Mutex
	cmd.Stdout, cmd.Stderr = lockedWriter{&logs, &logMu}, lockedWriter{&logs, &logMu}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			logMu.Lock()
			t.Logf("function output:\n%s", logs.String())
			logMu.Unlock()
		}
	}()

	// The initializer runs first, as FC does when an instance starts.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := fcEmu.invoke(ctx, 1, []byte("{}")); err != nil {
		t.Fatalf("initializer: %v", err)
	}

	client := &http.Client{Timeout: 20 * time.Second}
	get := func(path string) (int, http.Header, string) {
		resp, err := client.Get(ossSrv.URL + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}
	if status, _, body := get("/a.txt"); status != 200 || body != text {
		t.Errorf("passthrough: %d %q", status, body)
	}
	if status, h, _ := get("/a.txt?dl=1"); status != 200 || h.Get("Content-Disposition") != `attachment; filename="a.txt"` {
		t.Errorf("headers: %d %v", status, h)
	}
	if status, _, body := get("/private/p.txt"); status != 404 || !strings.Contains(body, "<Code>NoSuchKey</Code>") {
		t.Errorf("deny: %d %s", status, body)
	}
	st := oss.Stats()
	if st.WGORAccepted != 3 || st.WGORRejectedTotal() != 0 || st.OriginGets != 2 {
		t.Errorf("stats %+v", st)
	}
	// Conditions see the bucket the function is configured with.
	if status, h, _ := get("/a.txt?b=1"); status != 200 || h.Get("Cache-Control") != "private, bucket="+localoss.DefaultBucket {
		t.Errorf("bucket: %d %v", status, h)
	}
	// Each log line is written once the response is out; give the last one a moment.
	var out string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		logMu.Lock()
		out = logs.String()
		logMu.Unlock()
		if strings.Count(out, `"msg":"request"`) >= 3 {
			break
		}
	}
	if !strings.Contains(out, `"msg":"initializer"`) || strings.Count(out, `"msg":"request"`) < 3 {
		t.Errorf("expected an initializer line and one JSON line per request in:\n%s", out)
	}
}

type lockedWriter struct {
	b  *strings.Builder
	mu *sync.Mutex
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// TestCustomRuntimeEndToEnd runs the built binary as Function Compute's
// custom runtime starts it: named bootstrap, no arguments, the port in
// FC_CUSTOM_LISTEN_PORT. FC's side (fcemu) calls /initialize, then
// /invoke for GetObjects arriving at once through the local OSS, each
// with its own request id and the function role's STS credentials.
func TestCustomRuntimeEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	built := buildBinary(t)
	bin := filepath.Join(t.TempDir(), "bootstrap")
	if err := os.Rename(built, bin); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	const text = "line one: mail ops@example.com\n"
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte(text), 0o644)
	os.MkdirAll(filepath.Join(dir, "private"), 0o755)
	os.WriteFile(filepath.Join(dir, "private", "p.txt"), []byte(text), 0o644)
	rulesFile := filepath.Join(t.TempDir(), "rules.yaml")
	os.WriteFile(rulesFile, []byte(`version: 1
rules:
  - name: private
    when: key startsWith "private/"
    actions: [{deny: {status: 404}}]
  - name: download
    when: query.dl == "1"
    actions: [{headers: {content_disposition: attachment, filename: "${ base }"}}]
`), 0o644)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()

	const ak, sk, token = "STS.customkey", "customsecret", "CAIS-custom-token"
	emu := &fcemu.Emulator{URL: fmt.Sprintf("http://127.0.0.1:%d", port), Region: "cn-hangzhou", MemoryMB: 1024, Timeout: 10 * time.Second,
		Credentials: func(int64) fcemu.Credentials {
			return fcemu.Credentials{AccessKeyID: ak, AccessKeySecret: sk, SecurityToken: token}
		}}
	oss, err := localoss.New(localoss.Config{Dir: dir, AccessKeyID: ak, AccessKeySecret: sk, SecurityToken: token, Invoke: emu.InvokeFunc,
		// The origin holds each read, so the invocations overlap.
		OriginFault: func(method, key string) *localoss.Fault { return &localoss.Fault{Delay: 100 * time.Millisecond} }})
	if err != nil {
		t.Fatal(err)
	}
	defer oss.Close()
	ossSrv := httptest.NewServer(oss)
	defer ossSrv.Close()

	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(),
		fmt.Sprintf("FC_CUSTOM_LISTEN_PORT=%d", port),
		"OPAPRULES_RULES="+rulesFile,
		"OPAPRULES_BUCKET="+localoss.DefaultBucket,
		"OPAPRULES_ENDPOINT="+ossSrv.URL,
	)
	var stdout, stderr strings.Builder
	var mu sync.Mutex
	cmd.Stdout, cmd.Stderr = lockedWriter{&stdout, &mu}, lockedWriter{&stderr, &mu}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			cmd.Process.Kill()
			cmd.Wait()
		}
		if t.Failed() {
			mu.Lock()
			t.Logf("stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
			mu.Unlock()
		}
	}()
	// FC waits for the port to accept connections.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the runtime never listened")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if c := emu.Initialize(ctx); c.Failed() {
		t.Fatalf("initialize: %+v", c)
	}

	client := &http.Client{Timeout: 20 * time.Second}
	type want struct {
		path, disposition string
		status            int
		body              string
	}
	cases := []want{
		{"/a.txt", "", 200, text},
		{"/a.txt?dl=1", `attachment; filename="a.txt"`, 200, text},
		{"/private/p.txt", "", 404, "<Code>NoSuchKey</Code>"},
	}
	const n = 12
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := cases[i%len(cases)]
			resp, err := client.Get(ossSrv.URL + c.path)
			if err != nil {
				t.Errorf("GET %s: %v", c.path, err)
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != c.status || !strings.Contains(string(b), c.body) || resp.Header.Get("Content-Disposition") != c.disposition {
				t.Errorf("GET %s: %d %v %q", c.path, resp.StatusCode, resp.Header, b)
			}
		}()
	}
	wg.Wait()
	var calls []fcemu.Call
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if calls = emu.Calls(); len(calls) >= n+1 {
			break
		}
	}
	if len(calls) != n+1 {
		t.Fatalf("%d calls, want %d", len(calls), n+1)
	}
	for _, c := range calls {
		if c.Failed() {
			t.Errorf("%s %s failed: %+v", c.Path, c.RequestID, c)
		}
	}
	st := oss.Stats()
	if st.WGORAccepted != n || st.WGORRejectedTotal() != 0 || st.Invocations != n {
		t.Errorf("stats %+v", st)
	}
	if p := emu.PeakInFlight(); p < 2 {
		t.Errorf("at most %d invocation in flight at once", p)
	}

	// SIGTERM stops the server; the log lines are then complete.
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("the runtime did not stop cleanly on SIGTERM: %v", err)
	}
	stopped = true
	mu.Lock()
	out, logs := stdout.String(), stderr.String()
	mu.Unlock()
	for _, c := range calls {
		kind := map[string]string{"/invoke": "Invoke", "/initialize": "Initialize"}[c.Path]
		start := strings.Index(out, "FC "+kind+" Start RequestId: "+c.RequestID+"\n")
		end := strings.Index(out, "FC "+kind+" End RequestId: "+c.RequestID+"\n")
		if start < 0 || end < start {
			t.Errorf("no Start/End lines for %s %s", c.Path, c.RequestID)
		}
	}
	if strings.Count(out, "\n") != 2*len(calls) {
		t.Errorf("stdout holds more than the FC lines:\n%s", out)
	}
	if !strings.Contains(logs, `"msg":"initializer"`) || strings.Count(logs, `"msg":"request"`) != n || !strings.Contains(logs, `"msg":"memory limit"`) {
		t.Errorf("expected the initializer, the memory limit and one JSON line per request in:\n%s", logs)
	}
}
