package engine

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opaprules/opaprules/actions"
	"github.com/opaprules/opaprules/localoss"
	"github.com/opaprules/opaprules/rules"
)

// Test actions, registered only in this test binary: a streaming
// transformation, one of unknown length, one that panics, and one that
// outlives its deadline. They let the engine be tested without depending
// on the image or redact actions.
var (
	upperRuns atomic.Int64
)

func init() {
	actions.Register(actions.Definition{Name: "test_upper", Class: actions.Transform, New: func() actions.Action { return &upper{} }})
	actions.Register(actions.Definition{Name: "test_double", Class: actions.Transform, New: func() actions.Action { return &double{} }})
	actions.Register(actions.Definition{Name: "test_panic", Class: actions.Transform, New: func() actions.Action { return &panicker{} }})
	actions.Register(actions.Definition{Name: "test_sleep", Class: actions.Transform, New: func() actions.Action { return &sleeper{} }})
}

// upper upper-cases ASCII letters as the body streams, keeping its length.
type upper struct {
	Tag string `yaml:"tag"`
}

func (u *upper) Apply(ctx context.Context, obj *actions.Object) error {
	upperRuns.Add(1)
	r, n, err := obj.Body(ctx)
	if err != nil {
		return err
	}
	obj.SetBody(upperReader{r}, n)
	return nil
}

type upperReader struct{ r io.Reader }

func (u upperReader) Read(p []byte) (int, error) {
	n, err := u.r.Read(p)
	copy(p[:n], bytes.ToUpper(p[:n]))
	return n, err
}

// double writes the body twice; its length is known only after reading.
type double struct{}

func (double) Apply(ctx context.Context, obj *actions.Object) error {
	r, _, err := obj.Body(ctx)
	if err != nil {
		return err
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	obj.SetBody(io.MultiReader(bytes.NewReader(b), bytes.NewReader(b)), -1)
	return nil
}

type panicker struct {
	InBody bool `yaml:"in_body"`
}

func (p *panicker) Apply(ctx context.Context, obj *actions.Object) error {
	if !p.InBody {
		panic("test_panic: boom")
	}
	_, n, _ := obj.Body(ctx)
	obj.SetBody(panicReader{}, n)
	return nil
}

type panicReader struct{}

func (panicReader) Read([]byte) (int, error) { panic("test_panic: boom while streaming") }

type sleeper struct {
	For time.Duration `yaml:"for"`
}

func (s *sleeper) Apply(ctx context.Context, obj *actions.Object) error {
	// Deliberately ignores ctx: a stuck action must not keep the client
	// waiting either.
	time.Sleep(s.For)
	return nil
}

// env is one test's world: a bucket folder, a local OSS server playing the
// access point, and the handler invoked by it the way FC would.
type env struct {
	t       testing.TB
	dir     string
	srv     *localoss.Server
	ts      *httptest.Server
	handler *Handler
	// fcTimeout is the function's timeout for each invocation.
	fcTimeout time.Duration
	// mangle, when set, edits the event before the handler sees it.
	mangle     func([]byte) []byte
	invokeErrs atomic.Int64
	// durations, when set, receives how long each Invoke took.
	durations chan time.Duration
}

const (
	testAK = "LTAItestkey0001"
	testSK = "testsecret"
)

func newEnv(t testing.TB, rulesYAML string, files map[string]string) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), fcTimeout: 10 * time.Second}
	for name, content := range files {
		p := filepath.Join(e.dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rs, err := rules.Load("rules.yaml", []byte("version: 1\n"+rulesYAML))
	if err != nil {
		t.Fatal(err)
	}
	return e.start(rs, localoss.Config{})
}

func (e *env) start(rs *rules.RuleSet, cfg localoss.Config) *env {
	t := e.t
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	cfg.Dir = e.dir
	cfg.AccessKeyID, cfg.AccessKeySecret = testAK, testSK
	cfg.Logger = logger
	if cfg.InvokeTimeout == 0 {
		cfg.InvokeTimeout = 30 * time.Second
	}
	creds := Credentials{AccessKeyID: testAK, AccessKeySecret: testSK}
	cfg.Invoke = func(ctx context.Context, event []byte) error {
		if e.mangle != nil {
			event = e.mangle(event)
		}
		ctx, cancel := context.WithTimeout(ctx, e.fcTimeout)
		defer cancel()
		start := time.Now()
		err := e.handler.Invoke(ctx, event, creds)
		if e.durations != nil {
			e.durations <- time.Since(start)
		}
		if err != nil {
			e.invokeErrs.Add(1)
		}
		return err
	}
	srv, err := localoss.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	e.ts = httptest.NewServer(srv)
	t.Cleanup(func() { e.ts.Close(); srv.Close() })
	e.handler, err = New(Config{
		Rules: rs, Logger: logger, Bucket: localoss.DefaultBucket, Endpoint: e.ts.URL,
		Region: localoss.DefaultRegion, RouteScheme: "http", DeadlineMargin: 300 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// result is what a client saw.
type result struct {
	status int
	header http.Header
	body   string
}

// get sends a GetObject through the access point; the client gives up
// after 20 s, so a hanging handler fails the test instead of the run.
func (e *env) get(path string, header ...string) result {
	return e.getHost("", path, header...)
}

func (e *env) getHost(host, path string, header ...string) result {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.ts.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	client := &http.Client{Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{DisableCompression: true}}
	resp, err := client.Do(req)
	if err != nil {
		e.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("GET %s: reading the body: %v", path, err)
	}
	return result{resp.StatusCode, resp.Header, string(b)}
}

// errorCode is the <Code> of an OSS XML error body.
func (r result) errorCode() string {
	_, after, ok := strings.Cut(r.body, "<Code>")
	if !ok {
		return ""
	}
	code, _, _ := strings.Cut(after, "</Code>")
	return code
}
