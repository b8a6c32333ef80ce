package localoss

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
)

// testEvent is the test's own reading of the event; like a real handler it
// shares no types with the server.
type testEvent struct {
	GetObjectContext struct {
		InputOssUrl, OutputRoute, OutputToken string
	}
	Configuration struct {
		AccessPointName, AccessPointAlias, Payload string
	}
	UserRequest struct {
		URL     string
		Headers map[string]string
	}
	UserIdentity *struct {
		Type, AccessKeyId string
	}
	XOssRequestId   string
	ProtocolVersion string
}

// fakeHandler plays the function: it decodes the event and calls respond.
type fakeHandler struct {
	running sync.WaitGroup
	mu      sync.Mutex
	events  []testEvent
	raw     [][]byte
	// wgorOpts sign its WGORs through the SDK; with wgorV1 they are signed
	// V1 the way oss2 and the Java SDK do, which the Go v1 SDK cannot.
	wgorOpts []oss.ClientOption
	wgorV1   bool
	sts      string // the token wgorV1 sends
	respond  func(ctx context.Context, h *fakeHandler, ev testEvent) error
}

func (h *fakeHandler) Invoke(ctx context.Context, event []byte) error {
	h.running.Add(1)
	defer h.running.Done()
	var ev testEvent
	if err := json.Unmarshal(event, &ev); err != nil {
		return err
	}
	h.mu.Lock()
	h.events = append(h.events, ev)
	h.raw = append(h.raw, event)
	h.mu.Unlock()
	return h.respond(ctx, h, ev)
}

func (h *fakeHandler) lastEvent(t *testing.T) testEvent {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.events) == 0 {
		t.Fatal("function never invoked")
	}
	return h.events[len(h.events)-1]
}

// fetchOrigin reads inputOssUrl with plain net/http, forwarding the client
// headers a transforming handler would.
func fetchOrigin(ctx context.Context, ev testEvent, forward ...string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", ev.GetObjectContext.InputOssUrl, nil)
	if err != nil {
		return nil, err
	}
	for _, k := range forward {
		if v, ok := ev.UserRequest.Headers[k]; ok {
			req.Header.Set(k, v)
		}
	}
	return http.DefaultClient.Do(req)
}

// wgor posts a WriteGetObjectResponse with the SDK, in the call shape the
// real handler uses.
func (h *fakeHandler) wgor(ev testEvent, status int, fwd map[string]string, body io.Reader, opts ...oss.ClientOption) error {
	if h.wgorV1 {
		b, err := io.ReadAll(body)
		if err != nil {
			return err
		}
		return postWGORV1(ev, "/", "/?x-oss-write-get-object-response", status, fwd, string(b), testAK, testSK, h.sts)
	}
	if opts == nil {
		opts = h.wgorOpts
	}
	return postWGOR("http://"+ev.GetObjectContext.OutputRoute, "", ev.GetObjectContext.OutputRoute, ev.GetObjectContext.OutputToken,
		status, fwd, body, testAK, testSK, opts...)
}

func postWGOR(endpoint, bucket, route, token string, status int, fwd map[string]string, body io.Reader, ak, sk string, opts ...oss.ClientOption) error {
	client, err := oss.New(endpoint, ak, sk, opts...)
	if err != nil {
		return err
	}
	headers := map[string]string{
		"x-oss-request-route": route,
		"x-oss-request-token": token,
		"x-oss-fwd-status":    strconv.Itoa(status),
	}
	for k, v := range fwd {
		headers["x-oss-fwd-header-"+k] = v
	}
	resp, err := client.Conn.Do("POST", bucket, "", map[string]interface{}{"x-oss-write-get-object-response": nil}, headers, body, 0, nil)
	if resp != nil {
		resp.Body.Close()
	}
	return err
}

// upperHandler is a transforming handler: it reads the original (forwarding
// Range and If-None-Match), upper-cases it and relays status and headers.
func upperHandler(ctx context.Context, h *fakeHandler, ev testEvent) error {
	resp, err := fetchOrigin(ctx, ev, "Range", "If-None-Match")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	fwd := map[string]string{"Vary": "Accept"}
	for _, k := range []string{"Content-Type", "Content-Range", "ETag", "Last-Modified", "Cache-Control"} {
		if v := resp.Header.Get(k); v != "" {
			fwd[k] = v
		}
	}
	if resp.StatusCode >= 400 {
		fwd = map[string]string{"Content-Type": "application/xml"}
	} else {
		b = bytes.ToUpper(b)
	}
	var body io.Reader
	if len(b) > 0 {
		// An empty *bytes.Reader would make the SDK send the POST chunked,
		// without Content-Length; nil sends "Content-Length: 0".
		body = bytes.NewReader(b)
	}
	return h.wgor(ev, resp.StatusCode, fwd, body)
}

func opapFixture(t *testing.T, cfg Config, h *fakeHandler) *fixture {
	t.Helper()
	if h.respond == nil {
		h.respond = upperHandler
	}
	cfg.Invoke = h.Invoke
	return newFixture(t, cfg, map[string]string{
		"photos/a.jpg": "jpeg bytes of a",
		"notes/b.txt":  "hello world",
	})
}

func TestOPAPRelay(t *testing.T) {
	tests := []struct {
		name   string
		cfg    Config
		wgor   []oss.ClientOption
		v1     bool // sign WGOR V1 with the sub-resource, as oss2 does
		target string
		host   func(f *fixture) string // Host header; "" for the listener address
		ap     string
		// wantURL is userRequest.url after "http://".
		wantURL func(f *fixture) string
	}{
		{
			name: "open/default access point", cfg: Config{Payload: "cfg-payload"}, wgor: v4(),
			target: "/photos/a.jpg?w=200", ap: "local",
			wantURL: func(f *fixture) string { return f.addr + "/photos/a.jpg?w=200" },
		},
		{
			name: "v4/path-style alias", cfg: Config{AccessKeyID: testAK, AccessKeySecret: testSK}, wgor: v4(),
			target: "/media-0123abcd-opapalias/photos/a.jpg?w=200&x=a%20b", ap: "media",
			wantURL: func(f *fixture) string { return "media-0123abcd-opapalias." + f.addr + "/photos/a.jpg?w=200&x=a%20b" },
		},
		{
			name: "v1/virtual-host alias", cfg: Config{AccessKeyID: testAK, AccessKeySecret: testSK}, v1: true,
			target: "/photos/a.jpg?w=200", ap: "thumbs",
			host: func(f *fixture) string {
				return f.srv.Alias("thumbs") + ".oss-cn-hangzhou.oss-object-process.aliyuncs.com"
			},
			wantURL: func(f *fixture) string {
				return f.srv.Alias("thumbs") + ".oss-cn-hangzhou.oss-object-process.aliyuncs.com/photos/a.jpg?w=200"
			},
		},
		{
			name: "v4 sts/default access point", cfg: Config{AccessKeyID: testAK, AccessKeySecret: testSK, SecurityToken: testSTS},
			wgor: append(v4(), oss.SecurityToken(testSTS)), target: "/photos/a.jpg", ap: "local",
			wantURL: func(f *fixture) string { return f.addr + "/photos/a.jpg" },
		},
		{
			name: "v1 sts/default access point", cfg: Config{AccessKeyID: testAK, AccessKeySecret: testSK, SecurityToken: testSTS},
			v1: true, target: "/photos/a.jpg", ap: "local",
			wantURL: func(f *fixture) string { return f.addr + "/photos/a.jpg" },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &fakeHandler{wgorOpts: tt.wgor, wgorV1: tt.v1, sts: tt.cfg.SecurityToken}
			f := opapFixture(t, tt.cfg, h)
			hdr := map[string]string{"Accept": "image/webp", "X-Custom": "v"}
			if tt.host != nil {
				hdr["Host"] = tt.host(f)
			}
			resp, body := f.do("GET", tt.target, hdr)
			if resp.StatusCode != 200 || string(body) != "JPEG BYTES OF A" {
				t.Fatalf("client got %d %q", resp.StatusCode, body)
			}
			for k, v := range map[string]string{"Content-Type": "image/jpeg", "Vary": "Accept", "Content-Length": "15"} {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			ev := h.lastEvent(t)
			if resp.Header.Get("x-oss-request-id") != ev.XOssRequestId || ev.XOssRequestId == "" {
				t.Errorf("x-oss-request-id %q, event %q", resp.Header.Get("x-oss-request-id"), ev.XOssRequestId)
			}
			if ev.GetObjectContext.OutputRoute != f.addr {
				t.Errorf("outputRoute %q, want %q", ev.GetObjectContext.OutputRoute, f.addr)
			}
			tok := ev.GetObjectContext.OutputToken
			if !strings.HasPrefix(tok, "OSSV1#") || !strings.ContainsAny(tok, "+") || !strings.ContainsAny(tok, "/") {
				t.Errorf("outputToken %q", tok)
			}
			if ev.Configuration.AccessPointName != tt.ap || !strings.HasPrefix(ev.Configuration.AccessPointAlias, tt.ap+"-") ||
				!strings.HasSuffix(ev.Configuration.AccessPointAlias, "-opapalias") || ev.Configuration.Payload != tt.cfg.Payload {
				t.Errorf("configuration %+v", ev.Configuration)
			}
			if got := strings.TrimPrefix(ev.UserRequest.URL, "http://"); got != tt.wantURL(f) {
				t.Errorf("userRequest.url %q, want %q", got, tt.wantURL(f))
			}
			if ev.UserRequest.Headers["Accept"] != "image/webp" || ev.UserRequest.Headers["X-Custom"] != "v" || ev.UserRequest.Headers["Host"] == "" {
				t.Errorf("userRequest.headers %v", ev.UserRequest.Headers)
			}
			if ev.ProtocolVersion != "1.00" || ev.UserIdentity != nil {
				t.Errorf("protocolVersion %q identity %v", ev.ProtocolVersion, ev.UserIdentity)
			}
			in, _ := url.Parse(ev.GetObjectContext.InputOssUrl)
			if in.Host != f.addr || in.Path != "/local/photos/a.jpg" || (tt.cfg.AccessKeyID != "") != in.Query().Has("x-oss-signature") {
				t.Errorf("inputOssUrl %q", ev.GetObjectContext.InputOssUrl)
			}
			st := f.srv.Stats()
			if st.ClientGets != 1 || st.Invocations != 1 || st.WGORAccepted != 1 || st.OriginGets != 1 || st.WGORRejectedTotal() != 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// TestOPAPEventJSON pins the raw event layout.
func TestOPAPEventJSON(t *testing.T) {
	h := &fakeHandler{wgorOpts: v4()}
	f := opapFixture(t, Config{AccessKeyID: testAK, AccessKeySecret: testSK}, h)
	f.do("GET", "/photos/a.jpg?versionId=null&w=1", map[string]string{"Authorization": "Bearer not-for-the-function"})
	var m map[string]map[string]any
	h.mu.Lock()
	raw := h.raw[0]
	h.mu.Unlock()
	t.Logf("event: %s", raw)
	if err := json.Unmarshal(raw, &m); err == nil {
		t.Fatal("event should mix objects and strings at top level")
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"getObjectContext", "configuration", "userRequest", "xOssRequestId", "protocolVersion"} {
		if _, ok := top[k]; !ok {
			t.Errorf("event lacks %s", k)
		}
	}
	if bytes.Contains(raw, []byte(`\u0026`)) || bytes.Contains(raw, []byte("not-for-the-function")) {
		t.Error("event has HTML-escaped URLs or leaks Authorization")
	}
	ev := h.lastEvent(t)
	if q, _ := url.ParseQuery(strings.SplitN(ev.GetObjectContext.InputOssUrl, "?", 2)[1]); q.Get("versionId") != "null" {
		t.Errorf("inputOssUrl lacks versionId: %s", ev.GetObjectContext.InputOssUrl)
	}
}

// TestOPAPSDKClient reads through the access point with the SDK, signed
// (RequireClientAuth), path-style and virtual-host, with a Range.
func TestOPAPSDKClient(t *testing.T) {
	h := &fakeHandler{wgorOpts: v4()}
	f := opapFixture(t, Config{AccessKeyID: testAK, AccessKeySecret: testSK, RequireClientAuth: true}, h)
	alias := f.srv.Alias("media")
	_, port, _ := strings.Cut(f.addr, ":")
	for _, m := range []struct {
		name, endpoint, dial string
		opts                 []oss.ClientOption
	}{
		{"v4 path-style", "http://" + f.addr, "", v4()},
		{"v1 path-style", "http://" + f.addr, "", v1()},
		{"v4 virtual-host", "http://oss-cn-hangzhou.oss-object-process.localoss.test:" + port, f.addr, v4()},
	} {
		t.Run(m.name, func(t *testing.T) {
			b, err := sdkClient(t, m.endpoint, m.dial, m.opts...).Bucket(alias)
			if err != nil {
				t.Fatal(err)
			}
			var respHdr http.Header
			rc, err := b.GetObject("photos/a.jpg", oss.Range(5, 9), oss.GetResponseHeader(&respHdr))
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(rc)
			rc.Close()
			if string(got) != "BYTES" || respHdr.Get("Content-Range") != "bytes 5-9/15" {
				t.Fatalf("got %q, Content-Range %q", got, respHdr.Get("Content-Range"))
			}
			ev := h.lastEvent(t)
			if ev.UserIdentity == nil || ev.UserIdentity.AccessKeyId != testAK {
				t.Errorf("userIdentity %+v", ev.UserIdentity)
			}
			if ev.Configuration.AccessPointAlias != alias || ev.UserRequest.Headers["Range"] != "bytes=5-9" {
				t.Errorf("event %+v", ev)
			}
			if _, ok := ev.UserRequest.Headers["Authorization"]; ok {
				t.Error("Authorization passed to the function")
			}
		})
	}
	t.Run("anonymous refused", func(t *testing.T) {
		before := f.srv.Stats().Invocations
		resp, body := f.do("GET", "/"+alias+"/photos/a.jpg", nil)
		if e := parseErr(t, body); resp.StatusCode != 403 || e.Code != "AccessDenied" {
			t.Fatalf("%d %+v", resp.StatusCode, e)
		}
		if f.srv.Stats().Invocations != before {
			t.Error("anonymous request invoked the function")
		}
	})
}

// TestWGORCallShapes sends WriteGetObjectResponse in the shapes a handler
// may use and checks that exactly those an official signer produces are
// accepted: V4 over the canonical URI "/" and V1 over
// "/?x-oss-write-get-object-response". The Go v1 SDK's V1 signer leaves
// the sub-resource out, and naming a bucket moves the resource to
// "/<bucket>/": real OSS computes neither, so neither may pass here.
func TestWGORCallShapes(t *testing.T) {
	type seen struct{ host, uri, auth string }
	var mu sync.Mutex
	var got []seen
	h := &fakeHandler{}
	var shape func(ev testEvent) error
	wgorErr := make(chan error, 1)
	h.respond = func(ctx context.Context, h *fakeHandler, ev testEvent) error {
		err := shape(ev)
		wgorErr <- err
		return err
	}
	cfg := Config{AccessKeyID: testAK, AccessKeySecret: testSK, SecurityToken: testSTS, Invoke: h.Invoke}
	f := newFixture(t, cfg, map[string]string{"a.txt": "a"})
	// Record WGORs on the way in.
	inner := f.hs.Config.Handler
	f.hs.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "POST" {
			auth, _, _ := strings.Cut(r.Header.Get("Authorization"), " ")
			mu.Lock()
			got = append(got, seen{r.Host, r.RequestURI, auth})
			mu.Unlock()
		}
		inner.ServeHTTP(w, r)
	})
	sdk := func(bucket string, opts []oss.ClientOption) func(ev testEvent) error {
		return func(ev testEvent) error {
			return postWGOR("http://"+ev.GetObjectContext.OutputRoute, bucket, ev.GetObjectContext.OutputRoute,
				ev.GetObjectContext.OutputToken, 200, map[string]string{"Content-Type": "text/plain"},
				strings.NewReader("ok"), testAK, testSK, opts...)
		}
	}
	signedV1 := func(path, resource string) func(ev testEvent) error {
		return func(ev testEvent) error {
			return postWGORV1(ev, path, resource, 200, map[string]string{"Content-Type": "text/plain"}, "ok", testAK, testSK, testSTS)
		}
	}
	const alias = "media-0123abcd-opapalias"
	for _, tc := range []struct {
		name     string
		send     func(ev testEvent) error
		wantURI  string
		accepted bool
	}{
		{"v4 no bucket (SDK)", sdk("", append(v4(), oss.SecurityToken(testSTS))), "/?x-oss-write-get-object-response", true},
		{"v1 with the sub-resource (oss2, Java, Go v2)", signedV1("/", "/?x-oss-write-get-object-response"), "/?x-oss-write-get-object-response", true},
		{"v1 without the sub-resource (Go v1 SDK)", sdk("", append(v1(), oss.SecurityToken(testSTS))), "/?x-oss-write-get-object-response", false},
		{"v4 alias as bucket (SDK)", sdk(alias, append(v4(), oss.SecurityToken(testSTS))), "/" + alias + "/?x-oss-write-get-object-response", false},
		{"v1 alias as bucket (SDK)", sdk(alias, append(v1(), oss.SecurityToken(testSTS))), "/" + alias + "/?x-oss-write-get-object-response", false},
		{"v1 over /alias/ with the sub-resource", signedV1("/"+alias+"/", "/"+alias+"/?x-oss-write-get-object-response"), "/" + alias + "/?x-oss-write-get-object-response", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			shape = tc.send
			mu.Lock()
			got = nil
			mu.Unlock()
			before := f.srv.Stats()
			resp, body := f.do("GET", "/a.txt", nil)
			err := <-wgorErr
			if tc.accepted {
				if err != nil || resp.StatusCode != 200 || string(body) != "ok" {
					t.Fatalf("refused: %v; client got %d %s", err, resp.StatusCode, body)
				}
			} else {
				var se oss.ServiceError
				if !errors.As(err, &se) || se.StatusCode != 403 || se.Code != "SignatureDoesNotMatch" {
					t.Fatalf("accepted or refused for another reason: %v", err)
				}
				if resp.StatusCode != 500 {
					t.Errorf("client got %d %s", resp.StatusCode, body)
				}
				if st := f.srv.Stats(); st.WGORRejected[RejectSignature] != before.WGORRejected[RejectSignature]+1 || st.WGORAccepted != before.WGORAccepted {
					t.Errorf("stats %+v", st)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if len(got) != 1 || got[0].host != f.addr || got[0].uri != tc.wantURI {
				t.Fatalf("WGOR requests %+v, want Host %s URI %s", got, f.addr, tc.wantURI)
			}
			t.Logf("sent POST %s Host=%s Authorization=%s ...", got[0].uri, got[0].host, got[0].auth)
		})
	}
}

// TestWGORRejections sends bad WGORs first (none may consume the token),
// then a good one, then reuses it.
func TestWGORRejections(t *testing.T) {
	type outcome struct {
		name   string
		status int
		code   string
		err    error
	}
	var results []outcome
	h := &fakeHandler{wgorOpts: v4()}
	h.respond = func(ctx context.Context, h *fakeHandler, ev testEvent) error {
		route, tok := ev.GetObjectContext.OutputRoute, ev.GetObjectContext.OutputToken
		ok := map[string]string{"Content-Type": "text/plain"}
		try := func(name string, err error) {
			o := outcome{name: name, err: err}
			var se oss.ServiceError
			if errors.As(err, &se) {
				o.status, o.code = se.StatusCode, se.Code
			} else if err == nil {
				o.status = 200
			}
			results = append(results, o)
		}
		body := func() io.Reader { return strings.NewReader("fine") }
		try("wrong secret", postWGOR("http://"+route, "", route, tok, 200, ok, body(), testAK, "wrong", v4()...))
		try("wrong key id", postWGOR("http://"+route, "", route, tok, 200, ok, body(), "LTAIx", testSK, v1()...))
		try("missing token", postWGOR("http://"+route, "", route, "", 200, ok, body(), testAK, testSK, v4()...))
		try("status 299", postWGOR("http://"+route, "", route, tok, 299, ok, body(), testAK, testSK, v4()...))
		try("status 204", postWGOR("http://"+route, "", route, tok, 204, ok, body(), testAK, testSK, v4()...))
		try("other route header", postWGOR("http://"+route, "", "fc-ap-x-opap.oss-cn-hangzhou.oss-object-process.aliyuncs.com", tok, 200, ok, body(), testAK, testSK, v4()...))
		try("unknown token", postWGOR("http://"+route, "", route, "OSSV1#bogus+/=", 200, ok, body(), testAK, testSK, v4()...))
		try("no Content-Length", postWGOR("http://"+route, "", route, tok, 200, ok, struct{ io.Reader }{body()}, testAK, testSK, v4()...))
		// Unsigned, with net/http.
		req, _ := http.NewRequest("POST", "http://"+route+"/?x-oss-write-get-object-response", strings.NewReader("x"))
		req.Header.Set("x-oss-request-route", route)
		req.Header.Set("x-oss-request-token", tok)
		req.Header.Set("x-oss-fwd-status", "200")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			results = append(results, outcome{name: "unsigned", status: resp.StatusCode})
		}
		get, _ := http.NewRequest("GET", "http://"+route+"/?x-oss-write-get-object-response", nil)
		if resp, err := http.DefaultClient.Do(get); err == nil {
			resp.Body.Close()
			results = append(results, outcome{name: "GET", status: resp.StatusCode})
		}
		try("good", postWGOR("http://"+route, "", route, tok, 200, ok, body(), testAK, testSK, v4()...))
		try("reuse", postWGOR("http://"+route, "", route, tok, 200, ok, body(), testAK, testSK, v4()...))
		return nil
	}
	f := opapFixture(t, Config{AccessKeyID: testAK, AccessKeySecret: testSK}, h)
	resp, body := f.do("GET", "/notes/b.txt", nil)
	if resp.StatusCode != 200 || string(body) != "fine" {
		t.Fatalf("client got %d %q", resp.StatusCode, body)
	}
	h.running.Wait()
	want := []outcome{
		{name: "wrong secret", status: 403, code: "SignatureDoesNotMatch"},
		{name: "wrong key id", status: 403, code: "InvalidAccessKeyId"},
		{name: "missing token", status: 400, code: "InvalidArgument"},
		{name: "status 299", status: 400, code: "InvalidArgument"},
		{name: "status 204", status: 400, code: "InvalidArgument"},
		{name: "other route header", status: 400, code: "InvalidArgument"},
		{name: "unknown token", status: 403, code: "AccessDenied"},
		{name: "no Content-Length", status: 411, code: "MissingContentLength"},
		{name: "unsigned", status: 403},
		{name: "GET", status: 405},
		{name: "good", status: 200},
		{name: "reuse", status: 403, code: "AccessDenied"},
	}
	if len(results) != len(want) {
		t.Fatalf("results %+v", results)
	}
	for i, w := range want {
		if g := results[i]; g.name != w.name || g.status != w.status || (w.code != "" && g.code != w.code) {
			t.Errorf("%s: got %d %s (%v), want %d %s", w.name, g.status, g.code, g.err, w.status, w.code)
		}
	}
	st := f.srv.Stats()
	wantRej := map[RejectReason]int64{RejectSignature: 3, RejectMissingHeader: 1, RejectStatus: 2, RejectRoute: 1,
		RejectUnknownToken: 1, RejectContentLength: 1, RejectMethod: 1, RejectReusedToken: 1}
	for r, n := range wantRej {
		if st.WGORRejected[r] != n {
			t.Errorf("rejected[%s] = %d, want %d (all: %v)", r, st.WGORRejected[r], n, st.WGORRejected)
		}
	}
	if st.WGORAccepted != 1 {
		t.Errorf("accepted %d", st.WGORAccepted)
	}
}

func TestInvokeFailures(t *testing.T) {
	tests := []struct {
		name    string
		timeout time.Duration
		respond func(ctx context.Context, h *fakeHandler, ev testEvent) error
		status  int
		code    string
		check   func(t *testing.T, st Stats)
	}{
		{"returns without WGOR", 0, func(context.Context, *fakeHandler, testEvent) error { return nil },
			500, "NoWriteGetObjectResponse", func(t *testing.T, st Stats) {
				if st.NoResponses != 1 {
					t.Errorf("NoResponses %d", st.NoResponses)
				}
			}},
		{"returns an error", 0, func(context.Context, *fakeHandler, testEvent) error { return errors.New("boom") },
			500, "FunctionInvocationFailed", func(t *testing.T, st Stats) {
				if st.InvokeErrors != 1 {
					t.Errorf("InvokeErrors %d", st.InvokeErrors)
				}
			}},
		{"panics", 0, func(context.Context, *fakeHandler, testEvent) error { panic("kaboom") },
			500, "FunctionInvocationFailed", nil},
		{"hangs until cancelled, then answers late", 200 * time.Millisecond,
			func(ctx context.Context, h *fakeHandler, ev testEvent) error {
				<-ctx.Done()
				err := h.wgor(ev, 200, nil, strings.NewReader("late"))
				var se oss.ServiceError
				if !errors.As(err, &se) || se.StatusCode != 403 {
					return errors.New("late WGOR was not refused: " + errString(err))
				}
				return nil
			},
			504, "InvokeTimeout", func(t *testing.T, st Stats) {
				if st.InvokeTimeouts != 1 {
					t.Errorf("InvokeTimeouts %d", st.InvokeTimeouts)
				}
			}},
		{"denies without reading the origin", 0,
			func(ctx context.Context, h *fakeHandler, ev testEvent) error {
				return h.wgor(ev, 403, map[string]string{"Content-Type": "text/plain"}, strings.NewReader("denied"))
			},
			403, "", func(t *testing.T, st Stats) {
				if st.OriginGets != 0 || st.OriginHeads != 0 {
					t.Errorf("origin touched: %+v", st)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &fakeHandler{wgorOpts: v4(), respond: tt.respond}
			f := opapFixture(t, Config{AccessKeyID: testAK, AccessKeySecret: testSK, InvokeTimeout: tt.timeout}, h)
			start := time.Now()
			resp, body := f.do("GET", "/photos/a.jpg", nil)
			if elapsed := time.Since(start); elapsed > 5*time.Second {
				t.Errorf("client waited %v", elapsed)
			}
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if tt.code != "" {
				if e := parseErr(t, body); e.Code != tt.code {
					t.Errorf("code %s, want %s (%s)", e.Code, tt.code, e.Message)
				}
			}
			// Let the function finish before reading the counters.
			h.running.Wait()
			st := f.srv.Stats()
			if st.Invocations != 1 {
				t.Errorf("Invocations %d", st.Invocations)
			}
			if tt.check != nil {
				tt.check(t, st)
			}
			if tt.timeout > 0 && (st.InvokeErrors != 0 || st.WGORRejected[RejectExpiredToken] != 1) {
				t.Errorf("late WGOR: the function reported a failure or the WGOR was not refused as expired: %+v", st)
			}
		})
	}
	t.Run("no function configured", func(t *testing.T) {
		f := newFixture(t, Config{}, map[string]string{"a": "a"})
		resp, body := f.do("GET", "/a", nil)
		if e := parseErr(t, body); resp.StatusCode != 503 || e.Code != "ServiceUnavailable" {
			t.Fatalf("%d %+v", resp.StatusCode, e)
		}
	})
	t.Run("client gives up before the WGOR", func(t *testing.T) {
		cancelled := make(chan struct{})
		h := &fakeHandler{respond: func(ctx context.Context, h *fakeHandler, ev testEvent) error {
			<-ctx.Done()
			close(cancelled)
			return ctx.Err()
		}}
		f := opapFixture(t, Config{}, h)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", f.hs.URL+"/photos/a.jpg", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			t.Fatal("request succeeded")
		}
		select {
		case <-cancelled:
		case <-time.After(5 * time.Second):
			t.Fatal("function context not cancelled after the client went away")
		}
	})
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func TestOPAPOtherMethods(t *testing.T) {
	h := &fakeHandler{wgorOpts: v4()}
	f := opapFixture(t, Config{}, h)
	alias := f.srv.Alias("media")
	t.Run("HEAD goes to the origin", func(t *testing.T) {
		resp, _ := f.do("HEAD", "/"+alias+"/photos/a.jpg", nil)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Length") != "15" || resp.Header.Get("ETag") == "" {
			t.Fatalf("%d %v", resp.StatusCode, resp.Header)
		}
	})
	t.Run("traversal refused before invoking", func(t *testing.T) {
		resp, body := f.do("GET", "/"+alias+"/photos/../../etc/passwd", nil)
		if e := parseErr(t, body); resp.StatusCode != 400 || e.Code != "InvalidObjectName" {
			t.Fatalf("%d %+v", resp.StatusCode, e)
		}
	})
	t.Run("missing key reaches the function, which relays the 404", func(t *testing.T) {
		resp, body := f.do("GET", "/"+alias+"/nope.jpg", nil)
		if e := parseErr(t, body); resp.StatusCode != 404 || e.Code != "NoSuchKey" {
			t.Fatalf("%d %+v", resp.StatusCode, e)
		}
	})
	t.Run("304 relayed", func(t *testing.T) {
		head, _ := f.do("HEAD", "/photos/a.jpg", nil)
		resp, body := f.do("GET", "/photos/a.jpg", map[string]string{"If-None-Match": head.Header.Get("ETag")})
		if resp.StatusCode != 304 || len(body) != 0 {
			t.Fatalf("%d %q", resp.StatusCode, body)
		}
	})
	h.running.Wait()
	if st := f.srv.Stats(); st.Invocations != 2 || st.OriginHeads != 2 || st.OriginGets != 2 {
		t.Errorf("stats %+v", st)
	}
}

// patternReader yields n bytes of a repeating random block without holding
// them; after gateAt bytes it waits for gate, so a test can prove the client
// received data while the WGOR was still being sent.
type patternReader struct {
	block  []byte
	off, n int64
	gateAt int64
	gate   <-chan struct{}
	failAt int64 // if > 0, return an error at this offset
}

func (p *patternReader) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	if p.failAt > 0 && p.off >= p.failAt {
		return 0, errors.New("handler crashed mid-body")
	}
	if p.gate != nil && p.off >= p.gateAt {
		select {
		case <-p.gate:
			p.gate = nil
		case <-time.After(20 * time.Second):
			return 0, errors.New("client never started receiving: the relay is buffering")
		}
	}
	limit := p.n - p.off
	if p.gate != nil && p.gateAt-p.off < limit {
		limit = p.gateAt - p.off
	}
	if p.failAt > 0 && p.failAt-p.off < limit {
		limit = p.failAt - p.off
	}
	if int64(len(b)) > limit {
		b = b[:limit]
	}
	n := 0
	for n < len(b) {
		i := (p.off + int64(n)) % int64(len(p.block))
		n += copy(b[n:], p.block[i:])
	}
	p.off += int64(n)
	return n, nil
}

func TestOPAPStreamsLargeBody(t *testing.T) {
	const size = 64 << 20
	block := make([]byte, 64<<10)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range block {
		block[i] = byte(rng.Uint32())
	}
	want := crc32.NewIEEE()
	for i := 0; i < size/len(block); i++ {
		want.Write(block)
	}
	clientStarted := make(chan struct{})
	h := &fakeHandler{wgorOpts: v4()}
	h.respond = func(ctx context.Context, h *fakeHandler, ev testEvent) error {
		body := &patternReader{block: block, n: size, gateAt: size / 2, gate: clientStarted}
		// *io.LimitedReader is one of the types the SDK takes the
		// Content-Length from; a bare io.Reader would be sent chunked.
		return h.wgor(ev, 200, map[string]string{"Content-Type": "application/octet-stream"}, io.LimitReader(body, size))
	}
	f := opapFixture(t, Config{AccessKeyID: testAK, AccessKeySecret: testSK}, h)
	resp, err := http.Get(f.hs.URL + "/big.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.ContentLength != size {
		t.Fatalf("status %d length %d", resp.StatusCode, resp.ContentLength)
	}
	got := crc32.NewIEEE()
	first := make([]byte, 1)
	if _, err := io.ReadFull(resp.Body, first); err != nil {
		t.Fatal(err)
	}
	got.Write(first)
	close(clientStarted)
	n, err := io.Copy(got, resp.Body)
	if err != nil {
		t.Fatalf("after %d bytes: %v", n+1, err)
	}
	if n+1 != size || got.Sum32() != want.Sum32() {
		t.Fatalf("got %d bytes crc %x, want %d crc %x", n+1, got.Sum32(), size, want.Sum32())
	}
	f.hs.Close()
	f.srv.Close()
	if st := f.srv.Stats(); st.WGORAccepted != 1 || st.RelayFailures != 0 || st.InvokeErrors != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestOPAPRelayFailures(t *testing.T) {
	block := bytes.Repeat([]byte("0123456789abcdef"), 4096)
	t.Run("WGOR body shorter than Content-Length", func(t *testing.T) {
		wgorErr := make(chan error, 1)
		clientStarted := make(chan struct{})
		h := &fakeHandler{respond: func(ctx context.Context, h *fakeHandler, ev testEvent) error {
			// net/http rather than the SDK, which would not send a body
			// that fails; the open server needs no signature. The body
			// fails only once the relay is under way: a request aborted
			// before the server read its headers would look like a
			// function that never answered.
			body := &patternReader{block: block, n: 1 << 20, gateAt: 64 << 10, gate: clientStarted, failAt: 100 << 10}
			req, _ := http.NewRequest("POST", "http://"+ev.GetObjectContext.OutputRoute+"/?x-oss-write-get-object-response", body)
			req.ContentLength = 1 << 20
			req.Header.Set("x-oss-request-route", ev.GetObjectContext.OutputRoute)
			req.Header.Set("x-oss-request-token", ev.GetObjectContext.OutputToken)
			req.Header.Set("x-oss-fwd-status", "200")
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			wgorErr <- err
			return nil
		}}
		f := opapFixture(t, Config{}, h)
		resp, err := http.Get(f.hs.URL + "/x.bin")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(resp.Body, make([]byte, 1)); err != nil {
			t.Fatal(err)
		}
		close(clientStarted)
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err == nil || n >= 1<<20 {
			t.Fatalf("client read %d bytes, err %v: want a truncated body and an error", n, err)
		}
		<-wgorErr
		f.hs.Close()
		f.srv.Close()
		if st := f.srv.Stats(); st.RelayFailures != 1 {
			t.Errorf("stats %+v", st)
		}
	})
	t.Run("client goes away mid-body", func(t *testing.T) {
		wgorErr := make(chan error, 1)
		h := &fakeHandler{wgorOpts: v4(), respond: func(ctx context.Context, h *fakeHandler, ev testEvent) error {
			const size = 24 << 20 // well beyond what loopback socket buffers absorb
			wgorErr <- h.wgor(ev, 200, nil, io.LimitReader(&patternReader{block: block, n: size}, size))
			return nil
		}}
		f := opapFixture(t, Config{AccessKeyID: testAK, AccessKeySecret: testSK}, h)
		resp, err := http.Get(f.hs.URL + "/x.bin")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(resp.Body, make([]byte, 1000)); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		select {
		case err := <-wgorErr:
			if err == nil {
				t.Error("WGOR succeeded although the client went away")
			}
		case <-time.After(10 * time.Second):
			t.Fatal("WGOR still pending after the client went away")
		}
		f.hs.Close()
		f.srv.Close()
		if st := f.srv.Stats(); st.RelayFailures != 1 {
			t.Errorf("stats %+v", st)
		}
	})
}

// TestSDKV1OmitsWGORSubResource pins what SDK v3.0.2's V1 signer does with
// the x-oss-write-get-object-response sub-resource: it is not on the SDK's
// list of signed sub-resources, so the canonicalized resource is plain "/".
func TestSDKV1OmitsWGORSubResource(t *testing.T) {
	captured := make(chan *http.Request, 1)
	hs := httptestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		captured <- r.Clone(context.Background())
		w.WriteHeader(200)
	}))
	route := strings.TrimPrefix(hs, "http://")
	if err := postWGOR(hs, "", route, "OSSV1#t+/", 200, nil, strings.NewReader("x"), testAK, testSK, v1()...); err != nil {
		t.Fatal(err)
	}
	r := <-captured
	var hdrs []headerLine
	for k, vs := range r.Header {
		if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-oss-") {
			hdrs = append(hdrs, headerLine{lk, vs[0]})
		}
	}
	sig := strings.TrimPrefix(r.Header.Get("Authorization"), "OSS "+testAK+":")
	sign := func(resource string) string {
		return signV1(testSK, stringToSignV1("POST", "", "", r.Header.Get("Date"), hdrs, resource))
	}
	if sign("/") != sig {
		t.Errorf("SDK V1 WGOR signature is not over resource \"/\"")
	}
	if sign("/?x-oss-write-get-object-response") == sig {
		t.Errorf("SDK V1 WGOR signature unexpectedly covers the sub-resource")
	}
}

// TestEndpointOverride routes the function through a configured name
// instead of the connection's local address.
func TestEndpointOverride(t *testing.T) {
	h := &fakeHandler{wgorOpts: v4()}
	cfg := Config{AccessKeyID: testAK, AccessKeySecret: testSK, Endpoint: "localhost:{port}"}
	f := opapFixture(t, cfg, h)
	_, port, _ := strings.Cut(f.addr, ":")
	resp, body := f.do("GET", "/notes/b.txt", nil)
	if resp.StatusCode != 200 || string(body) != "HELLO WORLD" {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
	ev := h.lastEvent(t)
	if ev.GetObjectContext.OutputRoute != "localhost:"+port || !strings.HasPrefix(ev.GetObjectContext.InputOssUrl, "http://localhost:"+port+"/local/") {
		t.Errorf("route %q input %q", ev.GetObjectContext.OutputRoute, ev.GetObjectContext.InputOssUrl)
	}
}

// TestOPAPConcurrent runs many GetObjects through the access point at once.
func TestOPAPConcurrent(t *testing.T) {
	h := &fakeHandler{wgorOpts: v4()}
	f := opapFixture(t, Config{AccessKeyID: testAK, AccessKeySecret: testSK}, h)
	const n = 24
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			key, want := "/photos/a.jpg", "JPEG BYTES OF A"
			if i%2 == 1 {
				key, want = "/notes/b.txt", "HELLO WORLD"
			}
			resp, err := http.Get(f.hs.URL + key)
			if err != nil {
				errs <- err
				return
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 || string(b) != want {
				errs <- errors.New(key + ": " + resp.Status + " " + string(b) + " " + errString(err))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	h.running.Wait()
	if st := f.srv.Stats(); st.Invocations != n || st.WGORAccepted != n || st.OriginGets != n {
		t.Errorf("stats %+v", st)
	}
}
