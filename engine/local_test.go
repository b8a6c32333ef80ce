package engine

import (
	"bytes"
	"compress/gzip"
	"context"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/opaprules/opaprules/actions"
	"github.com/opaprules/opaprules/internal/ossmeta"
	"github.com/opaprules/opaprules/rules"
)

// RunLocal (dry-run --input, rule tests, the playground) and an invocation
// through the local OSS server must give a client the same answer: status,
// forwarded headers (the derived ETag among them) and bytes.
func TestRunLocalAgreesWithHandler(t *testing.T) {
	const rulesYAML = `
rules:
  - name: deny
    when: key startsWith "private/"
    actions: [{deny: {status: 404}}]
  - name: moved
    when: key startsWith "old/"
    actions: [{redirect: {location: "/new/${ base }"}}]
  - name: bad
    when: key startsWith "bad/"
    actions: [{headers: {cache_control: "${ int(query.n) > 1 ? 'a' : 'b' }"}}]
  - name: owned
    when: query.owner == "1" && object.meta.owner == "ops"
    actions: [{deny: {status: 403}}]
  - name: upper
    when: query.upper == "1"
    actions: [{test_upper: {tag: "${ query.tag }"}}]
  - name: cache
    actions: [{headers: {cache_control: "public, max-age=60"}}]
`
	body := strings.Repeat("hello, world\n", 300)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(body))
	zw.Close()
	files := map[string]string{
		"docs/a.txt": body, "private/x.txt": "secret", "bad/b.txt": "b", "old/a b.txt": "moved",
		// Sidecars (package ossmeta): stored headers, and an original
		// stored gzip-encoded, as serve's local OSS server keeps them.
		"meta/c.csv": "a,b\n1,2\n", "meta/c.csv" + ossmeta.Suffix: `{"Content-Type":"text/plain; charset=utf-8","Content-Disposition":"attachment","x-oss-meta-owner":"ops"}`,
		"meta/z.txt": gz.String(), "meta/z.txt" + ossmeta.Suffix: `{"Content-Encoding":"gzip","Content-Type":"text/plain"}`,
		"meta/bad.txt": "x", "meta/bad.txt" + ossmeta.Suffix: `{"Set-Cookie":"no"}`,
	}
	e := newEnv(t, rulesYAML, files)
	transformed := e.get("/docs/a.txt?upper=1&tag=x")
	if transformed.status != 200 || transformed.header.Get("ETag") == "" {
		t.Fatalf("setup: %d %v", transformed.status, transformed.header)
	}
	etag := transformed.header.Get("ETag")

	for _, c := range []struct {
		name   string
		target string
		header []string
	}{
		{"transform", "docs/a.txt?upper=1&tag=x", nil},
		{"transform, range", "docs/a.txt?upper=1&tag=x", []string{"Range", "bytes=10-99"}},
		{"transform, suffix range", "docs/a.txt?upper=1&tag=x", []string{"Range", "bytes=-7"}},
		{"transform, unsatisfiable range", "docs/a.txt?upper=1&tag=x", []string{"Range", "bytes=999999-"}},
		{"transform, not modified", "docs/a.txt?upper=1&tag=x", []string{"If-None-Match", etag}},
		{"transform, precondition failed", "docs/a.txt?upper=1&tag=x", []string{"If-Match", `"other"`}},
		{"passthrough", "docs/a.txt", nil},
		{"passthrough, range", "docs/a.txt", []string{"Range", "bytes=0-9"}},
		{"passthrough, not modified", "docs/a.txt", []string{"If-Modified-Since", "Fri, 01 Jan 2100 00:00:00 GMT"}},
		{"deny", "private/x.txt", nil},
		{"redirect", "old/a b.txt", nil},
		{"condition fails", "bad/b.txt?n=abc", nil},
		{"sidecar headers", "meta/c.csv", nil},
		{"sidecar metadata in a condition", "meta/c.csv?owner=1", nil},
		{"sidecar, gzip passthrough", "meta/z.txt", nil},
		{"sidecar, gzip transform", "meta/z.txt?upper=1&tag=x", nil},
		{"sidecar refused", "meta/bad.txt", nil},
		{"missing", "docs/none.txt?upper=1", nil},
		{"missing, passthrough", "docs/none.txt", nil},
	} {
		// The original as a path on disk (dry-run --input), as a name in
		// an fs.FS (the playground over a folder or the bundled samples),
		// and in one whose files can neither seek nor read at an offset.
		sources := map[string]func(key string) LocalRun{
			"path": func(key string) LocalRun { return LocalRun{Object: filepath.Join(e.dir, filepath.FromSlash(key))} },
			"fs":   func(key string) LocalRun { return LocalRun{FS: os.DirFS(e.dir), Object: key} },
			"fs, no seek": func(key string) LocalRun {
				return LocalRun{FS: streamFS{os.DirFS(e.dir)}, Object: key}
			},
		}
		for _, src := range []string{"path", "fs", "fs, no seek"} {
			if src == "path" && strings.HasPrefix(c.name, "missing") {
				continue // dry-run checks --input exists first
			}
			t.Run(c.name+" ("+src+")", func(t *testing.T) {
				path := "/" + strings.ReplaceAll(c.target, " ", "%20")
				want := e.get(path, c.header...)

				req := &rules.Request{Method: "GET", Header: http.Header{}, Bucket: "bucket"}
				req.Key, req.RawQuery, _ = rules.ParseTarget(c.target)
				for i := 0; i+1 < len(c.header); i += 2 {
					req.Header.Set(c.header[i], c.header[i+1])
				}
				var out bytes.Buffer
				run := sources[src](req.Key)
				run.Request, run.Body = req, &out
				res, err := e.handler.RunLocal(context.Background(), run)
				if err != nil {
					t.Fatal(err)
				}
				if res.Status != want.status {
					t.Errorf("status: local %d, handler %d", res.Status, want.status)
				}
				for _, name := range actions.ForwardedHeaders {
					if got, w := res.Header.Get(name), want.header.Get(name); got != w {
						t.Errorf("%s: local %q, handler %q", name, got, w)
					}
				}
				// Error bodies name their request; compare the code instead.
				if want.errorCode() != "" {
					if res.Error == nil || res.Error.Code != want.errorCode() {
						t.Errorf("error: local %+v, handler %s", res.Error, want.errorCode())
					}
				} else if out.String() != want.body {
					t.Errorf("body: local %d bytes, handler %d bytes", out.Len(), len(want.body))
				}
			})
		}
	}
}

// streamFS hides Seek and ReadAt from its files, so the local source has
// to open a file twice (once for the ETag) and skip to a range.
type streamFS struct{ fsys fs.FS }

func (s streamFS) Open(name string) (fs.File, error) {
	f, err := s.fsys.Open(name)
	if err != nil {
		return nil, err
	}
	return streamFile{f}, nil
}

type streamFile struct{ f fs.File }

func (s streamFile) Stat() (fs.FileInfo, error) { return s.f.Stat() }
func (s streamFile) Read(p []byte) (int, error) { return s.f.Read(p) }
func (s streamFile) Close() error               { return s.f.Close() }

// Embedded files (the bundled samples) have no modification time: the
// answer then has no Last-Modified rather than a made-up one, and an
// If-Modified-Since cannot turn it into a 304.
func TestRunLocalEmbeddedOriginal(t *testing.T) {
	e := newEnv(t, `
rules:
  - name: upper
    when: query.upper == "1"
    actions: [{test_upper: {}}]
`, nil)
	fsys := fstest.MapFS{"a.txt": {Data: []byte("abc")}, "dir/b.txt": {Data: []byte("b")}}
	for _, c := range []struct {
		target, header string
		status         int
		body           string
	}{
		{"a.txt", "", 200, "abc"},
		{"a.txt?upper=1", "", 200, "ABC"},
		{"a.txt", "Fri, 01 Jan 2100 00:00:00 GMT", 200, "abc"},
		{"a.txt?upper=1", "Fri, 01 Jan 2100 00:00:00 GMT", 200, "ABC"},
		{"dir", "", 404, ""},
		{"../a.txt", "", 404, ""},
	} {
		req := &rules.Request{Method: "GET", Header: http.Header{}}
		req.Key, req.RawQuery, _ = rules.ParseTarget(c.target)
		if c.header != "" {
			req.Header.Set("If-Modified-Since", c.header)
		}
		var out bytes.Buffer
		res, err := e.handler.RunLocal(context.Background(), LocalRun{Request: req, FS: fsys, Object: req.Key, Body: &out})
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != c.status || (c.status == 200 && out.String() != c.body) {
			t.Errorf("%s: %d %q, want %d %q", c.target, res.Status, out.String(), c.status, c.body)
		}
		if c.status == 404 && (res.Error == nil || res.Error.Code != actions.CodeNoSuchKey) {
			t.Errorf("%s: error %+v, want NoSuchKey", c.target, res.Error)
		}
		if lm := res.Header.Get("Last-Modified"); lm != "" {
			t.Errorf("%s: Last-Modified %q for a file without a time", c.target, lm)
		}
	}
}

// A result negotiated on a request header names it, once.
func TestRunLocalVary(t *testing.T) {
	e := newEnv(t, `
rules:
  - name: modern
    when: query.auto == "1"
    actions: [{convert: {format: auto, prefer: [webp]}}, {convert: {format: auto, prefer: [webp]}}]
  - name: fixed
    when: query.auto == "0"
    actions: [{convert: {format: png}}]
`, nil)
	for target, want := range map[string][]string{"a.jpg?auto=1": {"Accept"}, "a.jpg?auto=0": nil, "a.jpg": nil} {
		req := &rules.Request{Method: "GET", Header: http.Header{"Accept": {"image/webp"}}}
		req.Key, req.RawQuery, _ = rules.ParseTarget(target)
		res, err := e.handler.RunLocal(context.Background(), LocalRun{Request: req})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(res.Vary, want) {
			t.Errorf("%s: Vary %q, want %q", target, res.Vary, want)
		}
	}
}

// Without an original, a local run says what the plan implies: the
// headers the actions set and predict, and the derived ETag when the
// original's ETag is known.
func TestRunLocalPredicts(t *testing.T) {
	e := newEnv(t, `
rules:
  - name: upper
    actions: [{test_upper: {}}, {headers: {cache_control: "no-cache"}}]
`, nil)
	req := &rules.Request{Key: "a.txt", Method: "GET", Header: http.Header{}, Object: &rules.ObjectMeta{ContentType: "text/plain", ETag: `"abc"`}}
	res, err := e.handler.RunLocal(context.Background(), LocalRun{Request: req})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Predicted || res.Status != 200 || res.Header.Get("Cache-Control") != "no-cache" || res.Header.Get("Content-Type") != "text/plain" {
		t.Errorf("got %+v", res)
	}
	if etag := res.Header.Get("ETag"); etag == "" || etag == `"abc"` {
		t.Errorf("ETag %q: want one derived from the plan", etag)
	}
	if len(res.Trace.Rules) != 1 || !res.Trace.Rules[0].Matched {
		t.Errorf("trace %+v", res.Trace)
	}
}

// Vary names what the rules read and what the actions negotiate on; the
// OPAP path forwards it only when settings.extra_forward_headers lists it.
func TestVaryFromRules(t *testing.T) {
	const rulesYAML = `
rules:
  - name: hotlink
    when: headers.referer startsWith "https://evil/"
    actions: [{deny: {status: 403}}]
  - name: tenant
    when: headers["X-Tenant"] == "a"
    actions: [{headers: {cache_control: "private"}}]
`
	files := map[string]string{"a.txt": "hello"}
	for _, forward := range []bool{false, true} {
		head := ""
		if forward {
			head = "settings: {extra_forward_headers: [Vary]}\n"
		}
		e := newEnv(t, head+rulesYAML, files)
		want := ""
		if forward {
			want = "Referer, X-Tenant"
		}
		for _, h := range [][]string{nil, {"Referer", "https://evil/x"}} {
			if r := e.get("/a.txt", h...); r.header.Get("Vary") != want {
				t.Errorf("forward %v, %v: status %d, Vary %q, want %q", forward, h, r.status, r.header.Get("Vary"), want)
			}
		}
		req := &rules.Request{Key: "a.txt", Method: "GET", Header: http.Header{}}
		res, err := e.handler.RunLocal(context.Background(), LocalRun{Request: req})
		if err != nil || strings.Join(res.Vary, ", ") != "Referer, X-Tenant" {
			t.Errorf("local run: Vary %q, %v", res.Vary, err)
		}
	}
}
