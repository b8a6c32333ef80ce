package engine

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opaprules/opaprules/actions"
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
  - name: upper
    when: query.upper == "1"
    actions: [{test_upper: {tag: "${ query.tag }"}}]
  - name: cache
    actions: [{headers: {cache_control: "public, max-age=60"}}]
`
	body := strings.Repeat("hello, world\n", 300)
	files := map[string]string{"docs/a.txt": body, "private/x.txt": "secret", "bad/b.txt": "b"}
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
	} {
		t.Run(c.name, func(t *testing.T) {
			path := "/" + strings.ReplaceAll(c.target, " ", "%20")
			want := e.get(path, c.header...)

			req := &rules.Request{Method: "GET", Header: http.Header{}, Bucket: "bucket"}
			req.Key, req.RawQuery, _ = rules.ParseTarget(c.target)
			for i := 0; i+1 < len(c.header); i += 2 {
				req.Header.Set(c.header[i], c.header[i+1])
			}
			key := req.Key
			var out bytes.Buffer
			res, err := e.handler.RunLocal(context.Background(), LocalRun{Request: req, Object: filepath.Join(e.dir, filepath.FromSlash(key)), Body: &out})
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
