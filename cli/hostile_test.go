package cli

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The tests in this file replay, through `opaprules serve` (its flags, the
// local OSS server, the real handler and WriteGetObjectResponse), what a
// hostile client got through in issue #10. docs/security.md lists them by
// finding.

// serveT is a running serve for one test.
type serveT struct {
	t      *testing.T
	base   string
	dir    string
	stderr *syncBuffer
	client *http.Client
}

// syncBuffer is a bytes.Buffer safe for the server's logger and the test.
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

// startServe runs serve on a fresh origin folder holding files, with the
// given rules, and stops it when the test ends.
func startServe(t *testing.T, rulesYAML string, files map[string]string, env map[string]string, args ...string) *serveT {
	t.Helper()
	return startServeWith(t, rulesYAML, files, env, nil, args...)
}

// startServeWith is startServe with a chance to adjust the HTTP server
// before it serves.
func startServeWith(t *testing.T, rulesYAML string, files map[string]string, env map[string]string, adjust func(*http.Server), args ...string) *serveT {
	t.Helper()
	dir := t.TempDir()
	origin := filepath.Join(dir, "origin")
	for name, body := range files {
		p := filepath.Join(origin, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(origin, 0o755); err != nil {
		t.Fatal(err)
	}
	rulesPath := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(rulesPath, []byte(rulesYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	stderr := &syncBuffer{}
	e := &Env{Stdout: io.Discard, Stderr: stderr, Getenv: func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		return os.Getenv(k)
	}}
	all := append([]string{"--rules", rulesPath, "--origin", origin, "--addr", "127.0.0.1:0"}, args...)
	s, code := setupServe(e, all)
	if s == nil {
		t.Fatalf("serve exited %d: %s", code, stderr.String())
	}
	if adjust != nil {
		adjust(s.hs)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.hs.Serve(s.ln)
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.hs.Shutdown(ctx)
		<-done
		s.srv.Close()
	})
	return &serveT{t: t, base: "http://" + s.ln.Addr().String(), dir: origin, stderr: stderr,
		client: &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// get sends method to path (already escaped) with headers and returns the
// status, headers and body.
func (s *serveT) do(method, path string, header map[string]string) (int, http.Header, string) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.base+path, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// Finding 1: a glob deny must see keys with a newline, a carriage return,
// a tab or non-ASCII text like any other.
func TestHostileGlobNewline(t *testing.T) {
	s := startServe(t, `version: 1
rules:
  - name: secret
    when: glob("secret/**")
    actions:
      - deny: {status: 403, code: SecretDenied}
`, map[string]string{
		"secret/a\nb.txt": "newline", "secret/a\rb.txt": "cr", "secret/a\tb.txt": "tab",
		"secret/ab.txt": "plain", "secret/é.txt": "non-ascii", "public/a\nb.txt": "public",
	}, nil)
	for _, path := range []string{"/secret/a%0Ab.txt", "/secret/a%0Db.txt", "/secret/a%09b.txt", "/secret/ab.txt", "/secret/%C3%A9.txt"} {
		if status, _, body := s.do("GET", path, nil); status != 403 {
			t.Errorf("GET %s: %d %q, want 403", path, status, body)
		}
	}
	if status, _, body := s.do("GET", "/public/a%0Ab.txt", nil); status != 200 || body != "public" {
		t.Errorf("GET /public/a%%0Ab.txt: %d %q, want 200 public", status, body)
	}
}

// Finding 3: ip is what the nearest hop saw. serve appends the peer's
// address to X-Forwarded-For as a front end would, so a client's own
// X-Forwarded-For or X-Real-Ip cannot pass a network rule; with
// settings.trusted_proxies naming the hop (here the test's loopback), the
// entry it vouches for counts.
func TestHostileForgedClientIP(t *testing.T) {
	const rules = `version: 1
%s
rules:
  - name: internal-network
    when: key startsWith "internal/" && !cidr(ip, "10.0.0.0/8")
    actions:
      - deny: {status: 403, code: NetworkDenied}
  - name: show-ip
    when: key startsWith "whoami/"
    actions:
      - headers: {content_disposition: "inline", filename: "${ ip == '' ? 'unknown' : ip }"}
`
	files := map[string]string{"internal/report.txt": "numbers", "whoami/x.txt": "x"}
	s := startServe(t, fmt.Sprintf(rules, ""), files, nil)
	for _, h := range []map[string]string{
		{"X-Forwarded-For": "10.0.0.1"},
		{"X-Forwarded-For": "10.0.0.1, 203.0.113.9"},
		{"X-Real-Ip": "10.0.0.1"},
		{"X-Forwarded-For": "10.0.0.1", "X-Real-Ip": "10.0.0.1"},
	} {
		if status, _, _ := s.do("GET", "/internal/report.txt", h); status != 403 {
			t.Errorf("%v: status %d, want 403", h, status)
		}
	}
	if _, h, _ := s.do("GET", "/whoami/x.txt", map[string]string{"X-Forwarded-For": "10.0.0.1"}); !strings.Contains(h.Get("Content-Disposition"), `"127.0.0.1"`) {
		t.Errorf("ip seen by the rules: Content-Disposition %q, want the peer 127.0.0.1", h.Get("Content-Disposition"))
	}

	trusted := startServe(t, fmt.Sprintf(rules, "settings: {trusted_proxies: [127.0.0.1]}"), files, nil)
	if status, _, body := trusted.do("GET", "/internal/report.txt", map[string]string{"X-Forwarded-For": "10.0.0.1"}); status != 200 || body != "numbers" {
		t.Errorf("through a trusted proxy from 10.0.0.1: %d %q, want 200", status, body)
	}
	if status, _, _ := trusted.do("GET", "/internal/report.txt", map[string]string{"X-Forwarded-For": "10.0.0.1, 203.0.113.9"}); status != 403 {
		t.Errorf("through a trusted proxy from 203.0.113.9: %d, want 403", status)
	}
}

// Finding 7: with OPAPRULES_LOG_EVENT=1 the event log showed
// Proxy-Authorization, X-Api-Key and a signed URL's sig in clear.
func TestHostileEventLogLeak(t *testing.T) {
	const secret = "aGFja2VyOnN1cGVyc2VjcmV0"
	s := startServe(t, "version: 1\nrules: []\n", map[string]string{"docs/readme.txt": "hello"},
		map[string]string{"OPAPRULES_LOG_EVENT": "1"})
	status, _, _ := s.do("GET", "/docs/readme.txt?w=1&sig="+secret, map[string]string{
		"Proxy-Authorization": "Basic " + secret, "X-Api-Key": secret, "Cookie": "s=" + secret, "Accept": "text/plain",
	})
	if status != 200 {
		t.Fatalf("status %d", status)
	}
	log := s.stderr.String()
	if !strings.Contains(log, `"msg":"event"`) || !strings.Contains(log, `"Proxy-Authorization":"***"`) || !strings.Contains(log, `"Accept":"text/plain"`) {
		t.Errorf("no masked event in the log:\n%s", log)
	}
	if strings.Contains(log, secret) {
		t.Errorf("the event log shows the credential:\n%s", log)
	}
}

// Finding 8: a FIFO in serve's origin folder hung requests (GET 503 after
// 29 s, HEAD never), each leaving a thread stuck in open(). Only regular
// files are objects; a FIFO object or sidecar answers at once.
func TestHostileFIFO(t *testing.T) {
	s := startServe(t, "version: 1\nrules: []\n", map[string]string{"fifo/side.txt": "a file with a FIFO sidecar"}, nil)
	for _, p := range []string{"fifo/pipe.txt", "fifo/side.txt.ossmeta.json"} {
		if err := syscall.Mkfifo(filepath.Join(s.dir, p), 0o644); err != nil {
			t.Skipf("mkfifo: %v", err)
		}
	}
	// A client that gives up long before the old 29 s.
	s.client.Timeout = 10 * time.Second
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/fifo/pipe.txt", 404},
		{"HEAD", "/fifo/pipe.txt", 404},
		{"GET", "/fifo/side.txt", 503}, // the origin's 500, as the handler reports it
		{"HEAD", "/fifo/side.txt", 500},
	} {
		if status, _, _ := s.do(tc.method, tc.path, nil); status != tc.want {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, status, tc.want)
		}
	}
}

// Finding 9: serve never closed an idle keep-alive connection. It closes
// idle connections and half-sent headers like a production server; the
// test shortens the timeouts serve configures and watches the server close
// each connection.
func TestHostileIdleConnections(t *testing.T) {
	hs := newHTTPServer(http.NotFoundHandler())
	if hs.IdleTimeout != 60*time.Second || hs.ReadHeaderTimeout != 10*time.Second || hs.MaxHeaderBytes != 64<<10 {
		t.Errorf("serve's server: idle %v, header %v, max header %d", hs.IdleTimeout, hs.ReadHeaderTimeout, hs.MaxHeaderBytes)
	}

	s := startServeWith(t, "version: 1\nrules: []\n", map[string]string{"docs/readme.txt": "hello"}, nil, func(hs *http.Server) {
		hs.IdleTimeout = 300 * time.Millisecond
		hs.ReadHeaderTimeout = 300 * time.Millisecond
	})
	addr := strings.TrimPrefix(s.base, "http://")
	closed := func(conn net.Conn, br *bufio.Reader) {
		t.Helper()
		conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
			t.Errorf("the server kept the connection: %v", err)
		}
	}

	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	fmt.Fprintf(idle, "GET /docs/readme.txt HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(idle)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	closed(idle, br)

	slow, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	fmt.Fprintf(slow, "GET /docs/readme.txt HTTP/1.1\r\nHost: x\r\nX-Slow: ")
	closed(slow, bufio.NewReader(slow))
}

// Finding 10: a key's ?, # and bidi characters went raw into a redirect's
// Location, becoming a query and a fragment.
func TestHostileRedirectEscaping(t *testing.T) {
	s := startServe(t, `version: 1
rules:
  - name: legacy-thumbnails
    when: glob("thumbs/**")
    actions:
      - redirect: {status: 301, location: "/photos/${ base }?w=320"}
`, nil, nil)
	for path, want := range map[string]string{
		"/thumbs/a%20b%3Fx%23y.jpg":          "/photos/a%20b%3Fx%23y.jpg?w=320",
		"/thumbs/100%25.jpg":                 "/photos/100%25.jpg?w=320",
		"/thumbs/%E2%80%AEgpj.exe":           "/photos/%E2%80%AEgpj.exe?w=320",
		"/thumbs/2024/cat.jpg":               "/photos/cat.jpg?w=320",
		"/thumbs/a%20b%3Fx%23y%E2%80%AE.jpg": "/photos/a%20b%3Fx%23y%E2%80%AE.jpg?w=320",
	} {
		status, h, _ := s.do("GET", path, nil)
		if status != 301 || h.Get("Location") != want {
			t.Errorf("GET %s: %d Location %q, want 301 %q", path, status, h.Get("Location"), want)
		}
	}
}

// Finding 5: the CLI read rules and test files without a cap: `--rules
// /dev/zero` grew to gigabytes, a FIFO blocked, and a sparse 1 GiB file
// cost a gigabyte before the 1 MiB refusal. Every rules and test file goes
// through one bounded reader now; each of these is refused at once.
func TestHostileCLIFiles(t *testing.T) {
	dir := t.TempDir()
	sparse := filepath.Join(dir, "sparse.yaml")
	f, err := os.Create(sparse)
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(1 << 30)
	f.Close()
	fifo := filepath.Join(dir, "rules.fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--rules", "/dev/zero", "--addr", "127.0.0.1:0"}, "not a regular file"},
		{[]string{"serve", "--rules", fifo, "--addr", "127.0.0.1:0"}, "not a regular file"},
		{[]string{"serve", "--rules", sparse, "--addr", "127.0.0.1:0"}, "over the limit of 1 MiB"},
		{[]string{"dry-run", "--rules", "/dev/zero", "docs/readme.txt"}, "not a regular file"},
		{[]string{"dry-run", "--rules", sparse, "docs/readme.txt"}, "over the limit of 1 MiB"},
		{[]string{"validate", "/dev/zero"}, "not a regular file"},
		{[]string{"validate", fifo}, "not a regular file"},
		{[]string{"validate", sparse}, "over the limit of 1 MiB"},
		{[]string{"test", fifo}, "not a regular file"},
		{[]string{"test", sparse}, "over the limit of 1 MiB"},
	} {
		type out struct {
			code           int
			stdout, stderr string
		}
		done := make(chan out, 1)
		go func() {
			var stdout, stderr bytes.Buffer
			code := Main(&Env{Stdout: &stdout, Stderr: &stderr, Getenv: os.Getenv}, tc.args)
			done <- out{code, stdout.String(), stderr.String()}
		}()
		select {
		case o := <-done:
			if o.code != ExitFail || !strings.Contains(o.stdout+o.stderr, tc.want) {
				t.Errorf("%v: exit %d, output %q, want exit 1 saying %q", tc.args, o.code, o.stdout+o.stderr, tc.want)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("%v: still running", tc.args)
		}
	}
	// A rules.yaml in the working directory that cannot be read is an
	// error, not a silent fall back to the embedded rules.
	t.Chdir(dir)
	if err := syscall.Mkfifo("rules.yaml", 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := run(t, "", "dry-run", "docs/readme.txt")
	if code != ExitFail || !strings.Contains(stdout+stderr, "not a regular file") {
		t.Errorf("dry-run with a FIFO rules.yaml: exit %d, %q", code, stdout+stderr)
	}
}

// gzipBomb is one gzip stream of "name,note\nalice," and a field of mib
// MiB, built from repeated members: a 1 GiB CSV line in about a megabyte,
// without compressing a gigabyte.
func gzipBomb(t *testing.T, mib int) string {
	member := func(data []byte) []byte {
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
		zw.Write(data)
		zw.Close()
		return b.Bytes()
	}
	var b bytes.Buffer
	b.Write(member([]byte("name,note\nalice,")))
	one := member(bytes.Repeat([]byte{'a'}, 1<<20))
	for range mib {
		b.Write(one)
	}
	return b.String()
}

// Finding 2: a 1 MB gzip object that unpacks to a 1 GiB CSV line took
// serve to 5.6 GB before 400 EntityTooLarge; a 4 MB one kept growing after
// the 503. Now the ratio guard refuses it after its first MiB, and with the
// guard raised, max_decoded_bytes and the CSV record cap still do, each
// with 400 EntityTooLarge, allocating a bounded amount on the way.
func TestHostileGzipCSVBomb(t *testing.T) {
	files := map[string]string{
		"exports/bomb.csv":              gzipBomb(t, 1024),
		"exports/bomb.csv.ossmeta.json": `{"Content-Type": "text/csv", "Content-Encoding": "gzip"}`,
	}
	const rules = `version: 1
limits: {%s}
rules:
  - name: mask-pii
    when: key startsWith "exports/"
    actions:
      - redact: {detectors: [all], csv_columns: [name]}
`
	for _, tc := range []struct {
		name, limits, want string
	}{
		{"defaults: the ratio guard", "", "max_decode_ratio"},
		{"ratio raised: max_decoded_bytes", "max_decode_ratio: 100000, max_decoded_bytes: 4MiB", "max_decoded_bytes"},
		{"both raised: the CSV record cap", "max_decode_ratio: 100000, max_decoded_bytes: 2GiB", "CSV record 2 is longer than 8MiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServe(t, fmt.Sprintf(rules, tc.limits), files, nil)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			status, _, body := s.do("GET", "/exports/bomb.csv", nil)
			runtime.ReadMemStats(&after)
			if status != 400 || !strings.Contains(body, "<Code>EntityTooLarge</Code>") || !strings.Contains(body, tc.want) {
				t.Errorf("status %d, body %s; want 400 EntityTooLarge about %s", status, body, tc.want)
			}
			// encoding/csv doubles its buffers on the way to the 8 MiB
			// record cap; everything else is small.
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 256<<20 {
				t.Errorf("the server allocated %d MiB answering", alloc>>20)
			}
		})
	}
}

// Finding 11: a process-wide budget for temporary files. A redaction whose
// output would pass spool_budget is refused with 503 naming it.
func TestHostileSpoolBudget(t *testing.T) {
	var log strings.Builder
	for i := 0; log.Len() < 4<<20; i++ {
		fmt.Fprintf(&log, "%d user%d@example.com fetched a page\n", i, i)
	}
	t.Setenv("TMPDIR", t.TempDir())
	s := startServe(t, `version: 1
limits: {max_buffer_bytes: 512KiB, spool_budget: 2MiB}
rules:
  - name: strip-addresses
    actions:
      - redact: {detectors: [email], style: replace, replace: "[address]"}
`, map[string]string{"logs/big.log": log.String(), "logs/small.log": "one a@example.com\n"}, nil)
	status, _, body := s.do("GET", "/logs/big.log", nil)
	if status != 503 || !strings.Contains(body, "<Code>ServiceUnavailable</Code>") || !strings.Contains(body, "spool_budget 2MiB") {
		t.Errorf("status %d, body %s; want 503 naming spool_budget", status, body)
	}
	if status, _, body := s.do("GET", "/logs/small.log", nil); status != 200 || body != "one [address]\n" {
		t.Errorf("a small redaction after the refusal: %d %q", status, body)
	}
}

// Finding 4: rules guard GetObject only. Through the alias, OSS hands HEAD
// to the supporting access point, and serve mirrors it: the deny rule's 404
// answers GET, while HEAD shows the object. The docs and rules.yaml say so
// and show the access point policy that refuses HEAD.
func TestHostileHeadIsNotARule(t *testing.T) {
	s := startServe(t, `version: 1
rules:
  - name: private-prefix
    when: key startsWith "private/"
    actions:
      - deny: {status: 404, message: "The specified key does not exist."}
`, map[string]string{"private/payroll.txt": "alice 100\n"}, nil)
	if status, _, _ := s.do("GET", "/private/payroll.txt", nil); status != 404 {
		t.Errorf("GET: %d, want the rule's 404", status)
	}
	status, h, _ := s.do("HEAD", "/private/payroll.txt", nil)
	if status != 200 || h.Get("Content-Length") != "10" || h.Get("ETag") == "" {
		t.Errorf("HEAD: %d %v; OSS answers it from the supporting access point: 200 with the size and ETag", status, h)
	}
	shipped, err := os.ReadFile("../rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(shipped), "does not even confirm the object exists") || !strings.Contains(string(shipped), "deploy/opap-policy.json") {
		t.Error("rules.yaml must say that deny rules do not cover HEAD and point at the access point policy")
	}
}
