package playground

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/opaprules/opaprules/rules"
	"github.com/opaprules/opaprules/ruletest"
)

const testRules = `version: 1
rules:
  - name: private
    when: key startsWith "private/"
    actions:
      - deny: {status: 403, code: Private, message: "not for you"}
  - name: moved
    when: key startsWith "old/"
    actions:
      - redirect: {status: 301, location: "/photos/${ base }"}
  - name: thumbs
    when: ext == "jpg" && "w" in query
    actions:
      - resize: {width: "${ query.w }", max_width: 100}
  - name: modern
    when: ext == "jpg" && accepts("image/webp")
    actions:
      - convert: {format: auto, prefer: [webp]}
  - name: pii
    when: ext == "txt"
    actions:
      - redact: {detectors: [email]}
      - headers: {cache_control: "private, no-store"}
`

// jpegOf encodes a w×h picture.
func jpegOf(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), 128, 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type harness struct {
	t   *testing.T
	srv *Server
	ts  *httptest.Server
}

func newHarness(t *testing.T, mutate func(*Config)) *harness {
	t.Helper()
	origin := fstest.MapFS{
		"photos/a.jpg":              {Data: jpegOf(t, 160, 120)},
		"photos/a.jpg.ossmeta.json": {Data: []byte(`{"Cache-Control":"no-cache"}`)},
		"docs/mail.txt":             {Data: []byte("write to ops@example.com\nor call us\n")},
		"private/p.txt":             {Data: []byte("secret")},
		"docs/z.csv":                {Data: gzipOf(t, "a,b\n1,2\n")},
		"docs/z.csv.ossmeta.json":   {Data: []byte(`{"Content-Encoding":"gzip","Content-Type":"text/plain; charset=utf-8"}`)},
	}
	cfg := Config{Rules: []byte(testRules), RulesName: "rules.yaml", Origin: origin, OriginName: "test origin", Bucket: "local", AccessPoint: "local", AliasPath: "/local-x-opapalias"}
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return &harness{t, s, ts}
}

// do sends a request and returns the status, the Content-Type and the body.
func (h *harness) do(method, path, contentType string, body []byte, header ...string) (int, string, []byte) {
	h.t.Helper()
	req, err := http.NewRequest(method, h.ts.URL+path, bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Host" {
			req.Host = header[i+1]
		} else {
			req.Header.Set(header[i], header[i+1])
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

func (h *harness) postJSON(path string, v any) (int, []byte) {
	h.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		h.t.Fatal(err)
	}
	status, _, body := h.do(http.MethodPost, path, "application/json", b)
	return status, body
}

func (h *harness) run(rulesText string, form formData) runOut {
	h.t.Helper()
	status, body := h.postJSON("/-/api/run", runIn{Rules: rulesText, Request: form})
	if status != http.StatusOK {
		h.t.Fatalf("run %+v: %d %s", form, status, body)
	}
	var out runOut
	if err := json.Unmarshal(body, &out); err != nil {
		h.t.Fatal(err)
	}
	return out
}

func header(fields []field, name string) string {
	for _, f := range fields {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// The API's problems are the loader's diagnostics, positioned as
// `opaprules validate` prints them.
func TestValidate(t *testing.T) {
	h := newHarness(t, nil)
	for _, c := range []struct {
		name, rules string
		valid       bool
	}{
		{"valid", testRules, true},
		{"yaml syntax", "version: 1\nrules:\n  - name: a\n    when: [\n", false},
		{"expression", "version: 1\nrules:\n  - name: a\n    when: key startsWith\n    actions: [{deny: {}}]\n", false},
		{"unknown action", "version: 1\nrules:\n  - name: a\n    actions:\n      - shrink: {}\n", false},
		{"warning only", "version: 1\nrules:\n  - name: a\n    final: true\n    actions: [{headers: {cache_control: x}}]\n  - name: b\n    actions: [{headers: {cache_control: y}}]\n", true},
		{"empty", "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, body := h.postJSON("/-/api/validate", rulesIn{c.rules})
			if status != http.StatusOK {
				t.Fatalf("%d %s", status, body)
			}
			var out struct {
				Valid    bool      `json:"valid"`
				Rules    int       `json:"rules"`
				Problems []problem `json:"problems"`
			}
			if err := json.Unmarshal(body, &out); err != nil {
				t.Fatal(err)
			}
			_, diags := rules.Check("rules.yaml", []byte(c.rules))
			if out.Valid != c.valid || len(out.Problems) != len(diags) {
				t.Fatalf("valid %v, %d problems %+v; want valid %v and the loader's %d: %v", out.Valid, len(out.Problems), out.Problems, c.valid, len(diags), diags)
			}
			for i, d := range diags {
				p := out.Problems[i]
				if p.Line != d.Line || p.Column != d.Column || p.Message != d.Message || p.Rule != d.Rule {
					t.Errorf("problem %d: %+v, loader says %v", i, p, d)
				}
			}
			if !c.valid && (len(out.Problems) == 0 || out.Problems[0].Line < 1 || out.Problems[0].Severity != "error") {
				t.Errorf("problems %+v: want a positioned error", out.Problems)
			}
		})
	}
}

// Bad input is a 4xx with a JSON error, never a 200 or a 500.
func TestBadInput(t *testing.T) {
	h := newHarness(t, nil)
	huge := strings.Repeat("#", rules.MaxFileSize+1)
	runBody := func(form formData) []byte {
		b, _ := json.Marshal(runIn{Rules: testRules, Request: form})
		return b
	}
	for _, c := range []struct {
		name, method, path, ctype string
		body                      []byte
		header                    []string
		status                    int
	}{
		{"GET validate", "GET", "/-/api/validate", "", nil, nil, 405},
		{"DELETE rules", "DELETE", "/-/api/rules", "", nil, nil, 405},
		{"form post", "POST", "/-/api/validate", "application/x-www-form-urlencoded", []byte("rules=x"), nil, 415},
		{"no content type", "POST", "/-/api/run", "", []byte(`{}`), nil, 415},
		{"not JSON", "POST", "/-/api/validate", "application/json", []byte("rules: x"), nil, 400},
		{"unknown field", "POST", "/-/api/validate", "application/json", []byte(`{"rule": "x"}`), nil, 400},
		{"two values", "POST", "/-/api/validate", "application/json", []byte(`{"rules": ""} {}`), nil, 400},
		{"body over the bound", "POST", "/-/api/validate", "application/json", bytes.Repeat([]byte(" "), maxBody+1), nil, 413},
		{"rules over 1 MiB", "POST", "/-/api/validate", "application/json", []byte(`{"rules": "` + huge + `"}`), nil, 413},
		{"run: rules over 1 MiB", "POST", "/-/api/run", "application/json", []byte(`{"rules": "` + huge + `", "request": {"key": "a"}}`), nil, 413},
		{"run: no key", "POST", "/-/api/run", "application/json", runBody(formData{}), nil, 400},
		{"run: query only", "POST", "/-/api/run", "application/json", runBody(formData{Key: "?w=1"}), nil, 400},
		{"run: bad header line", "POST", "/-/api/run", "application/json", runBody(formData{Key: "a.txt", Headers: "Accept image/webp"}), nil, 400},
		{"run: bad header name", "POST", "/-/api/run", "application/json", runBody(formData{Key: "a.txt", Headers: "Bad Name: x"}), nil, 400},
		{"run: bad method", "POST", "/-/api/run", "application/json", runBody(formData{Key: "a.txt", Method: "GE T"}), nil, 400},
		{"run: broken rules", "POST", "/-/api/run", "application/json", []byte(`{"rules": "version: 1\nrules: [", "request": {"key": "a"}}`), nil, 422},
		{"unknown API", "GET", "/-/api/nothing", "", nil, nil, 404},
		{"missing object", "GET", "/-/api/objects/photos/none.jpg", "", nil, nil, 404},
		{"sidecar", "GET", "/-/api/objects/photos/a.jpg.ossmeta.json", "", nil, nil, 404},
		{"folder", "GET", "/-/api/objects/photos", "", nil, nil, 404},
		{"escaping key", "GET", "/-/api/objects/photos/..%2f..%2fetc", "", nil, nil, 404},
		{"unknown result", "GET", "/-/api/results/0123", "", nil, nil, 404},
		{"rebound host name", "GET", "/-/api/rules", "", nil, []string{"Host", "attacker.example"}, 421},
		{"cross-site run", "POST", "/-/api/validate", "application/json", []byte(`{"rules": ""}`), []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://attacker.example"}, 403},
		{"save, read-only", "PUT", "/-/api/rules", "application/json", []byte(`{"rules": ""}`), nil, 409},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, ctype, body := h.do(c.method, c.path, c.ctype, c.body, c.header...)
			if status != c.status {
				t.Fatalf("status %d, want %d: %s", status, c.status, body)
			}
			var e struct {
				Error string `json:"error"`
			}
			if ctype != "application/json" || json.Unmarshal(body, &e) != nil || e.Error == "" {
				t.Errorf("want a JSON error, got %s %q", ctype, body)
			}
		})
	}
}

func TestRunPicture(t *testing.T) {
	h := newHarness(t, nil)
	out := h.run(testRules, formData{Key: "photos/a.jpg?w=40", Headers: "Accept: image/webp,*/*\n\n", AccessPoint: "local"})
	matched := map[string]bool{}
	for _, r := range out.Trace {
		matched[r.Name] = r.Matched
	}
	if len(out.Trace) != 5 || !matched["thumbs"] || !matched["modern"] || matched["private"] {
		t.Errorf("trace %+v", out.Trace)
	}
	if out.Trace[0].FailedCondition != `key startsWith "private/"` {
		t.Errorf("the first rule's failing condition: %q", out.Trace[0].FailedCondition)
	}
	if len(out.Plan) != 2 || out.Plan[0].Action != "resize" || header(out.Plan[0].Params, "width") != "40" || header(out.Plan[0].Params, "max_width") != "100" {
		t.Errorf("plan %+v: want resize with width resolved to 40", out.Plan)
	}
	if out.Status != 200 || header(out.Headers, "Content-Type") != "image/webp" || out.ETag == "" || header(out.Headers, "ETag") != out.ETag {
		t.Errorf("response %d %+v, ETag %q", out.Status, out.Headers, out.ETag)
	}
	if len(out.Vary) != 1 || out.Vary[0] != "Accept" {
		t.Errorf("Vary %q", out.Vary)
	}
	if o := out.Original; o == nil || o.Width != 160 || o.Height != 120 || o.ContentType != "image/jpeg" || o.URL != "/-/api/objects/photos/a.jpg" {
		t.Errorf("original %+v", o)
	}
	r := out.Result
	if r == nil || r.Width != 40 || r.Height != 30 || r.Format != "webp" || r.URL == "" {
		t.Fatalf("result %+v", r)
	}
	status, ctype, body := h.do("GET", r.URL, "", nil)
	if status != 200 || ctype != "image/webp" || int64(len(body)) != r.Bytes {
		t.Fatalf("GET %s: %d %s, %d bytes (run said %d)", r.URL, status, ctype, len(body), r.Bytes)
	}
	status, _, orig := h.do("GET", out.Original.URL, "", nil)
	if cfg, _, err := image.DecodeConfig(bytes.NewReader(orig)); status != 200 || err != nil || cfg.Width != 160 {
		t.Errorf("GET %s: %d %v %+v", out.Original.URL, status, err, cfg)
	}
	stages := map[string]bool{}
	for _, s := range out.Stages {
		stages[s.Name] = true
	}
	if !stages["evaluate"] || !stages["transform"] {
		t.Errorf("stages %+v", out.Stages)
	}
}

func TestRunAnswers(t *testing.T) {
	h := newHarness(t, nil)
	t.Run("deny", func(t *testing.T) {
		out := h.run(testRules, formData{Key: "private/p.txt"})
		if out.Status != 403 || out.Error == nil || out.Error.Code != "Private" || out.Result != nil {
			t.Fatalf("%d %+v %+v", out.Status, out.Error, out.Result)
		}
		if !strings.Contains(out.Error.XML, "<Code>Private</Code>") || !strings.Contains(out.Error.XML, "<Message>not for you</Message>") {
			t.Errorf("XML %q", out.Error.XML)
		}
	})
	t.Run("redirect", func(t *testing.T) {
		out := h.run(testRules, formData{Key: "old/x.jpg"})
		if out.Status != 301 || header(out.Headers, "Location") != "/photos/x.jpg" {
			t.Errorf("%d %+v", out.Status, out.Headers)
		}
	})
	t.Run("redaction", func(t *testing.T) {
		out := h.run(testRules, formData{Key: "docs/mail.txt"})
		if out.Status != 200 || out.Result == nil || out.Result.Text == nil || out.Original == nil || out.Original.Text == nil {
			t.Fatalf("%d %+v", out.Status, out.Result)
		}
		if got := *out.Result.Text; strings.Contains(got, "ops@example.com") || !strings.Contains(got, "or call us") {
			t.Errorf("result %q: want the address masked, the rest kept", got)
		}
		if !strings.Contains(*out.Original.Text, "ops@example.com") {
			t.Errorf("original %q", *out.Original.Text)
		}
	})
	t.Run("missing object", func(t *testing.T) {
		out := h.run(testRules, formData{Key: "photos/none.jpg"})
		if out.Status != 404 || out.Error == nil || out.Error.Code != "NoSuchKey" || out.Original != nil {
			t.Errorf("%d %+v %+v", out.Status, out.Error, out.Original)
		}
	})
	t.Run("bad parameter", func(t *testing.T) {
		out := h.run(testRules, formData{Key: "photos/a.jpg?w=abc"})
		if out.Status != 400 || out.Error == nil || out.Error.Code != "InvalidArgument" || !strings.Contains(out.Error.Message, "thumbs") {
			t.Errorf("%d %+v", out.Status, out.Error)
		}
	})
	t.Run("HEAD", func(t *testing.T) {
		out := h.run(testRules, formData{Key: "docs/mail.txt", Method: "head"})
		if out.Request.Method != "HEAD" || out.Result != nil {
			t.Errorf("%+v %+v", out.Request, out.Result)
		}
	})
	t.Run("editor's rules, not serve's", func(t *testing.T) {
		out := h.run("version: 1\nrules:\n  - name: all\n    actions: [{deny: {status: 404}}]\n", formData{Key: "photos/a.jpg"})
		if out.Status != 404 || len(out.Trace) != 1 {
			t.Errorf("%d %+v", out.Status, out.Trace)
		}
	})
}

// A copied test case is a rules_test.yaml entry that `opaprules test`
// passes against the same rules.
func TestCopiedTestCasePasses(t *testing.T) {
	h := newHarness(t, nil)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), []byte(testRules), 0o644); err != nil {
		t.Fatal(err)
	}
	var entries []string
	for _, form := range []formData{
		{Key: "photos/a.jpg?w=40", Headers: "Accept: image/webp"},
		{Key: "photos/a.jpg?w=40", Headers: "Accept: image/png", AccessPoint: "media"},
		{Key: "photos/a.jpg"},
		{Key: "private/p.txt", Method: "GET"},
		{Key: "old/x.jpg", Headers: "Referer: https://example.com/\nX-A: 1\nx-a: 2"},
		{Key: "docs/mail.txt"},
		{Key: "photos/a.jpg?w=abc"},
		{Key: "photos/none.jpg?w=10"},
	} {
		out := h.run(testRules, form)
		entries = append(entries, out.TestCase)
		var c []ruletest.Case
		if err := yaml.Unmarshal([]byte(out.TestCase), &c); err != nil || len(c) != 1 {
			t.Fatalf("%+v: %v\n%s", form, err, out.TestCase)
		}
		if c[0].Request.Key != form.Key || c[0].Expect.Status == 0 || c[0].Expect.Rules == nil {
			t.Errorf("%+v: case %+v", form, c[0])
		}
	}
	file := "rules: rules.yaml\ntests:\n" + indent(strings.Join(entries, ""), "  ")
	path := filepath.Join(dir, "rules_test.yaml")
	if err := os.WriteFile(path, []byte(file), 0o644); err != nil {
		t.Fatal(err)
	}
	f, rs, lines, err := ruletest.Load(path)
	if err != nil {
		t.Fatalf("%v\n%s", err, file)
	}
	rep := ruletest.Run(path, f, rs, lines)
	var log bytes.Buffer
	if _, failed := rep.Print(&log); failed > 0 || len(rep.Results) != len(entries) {
		t.Errorf("%s\n%s", log.String(), file)
	}
	// The run found no original; the test, without originals, cannot
	// know: the entry says so.
	if !strings.Contains(entries[7], "status: 200 # the run with the original answered 404 NoSuchKey") {
		t.Errorf("no note on the status that needs the original:\n%s", entries[7])
	}
}

func indent(s, prefix string) string {
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "")
}

func TestSave(t *testing.T) {
	file := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(file, []byte(testRules), 0o600); err != nil {
		t.Fatal(err)
	}
	put := func(h *harness, text string) (int, []byte) {
		b, _ := json.Marshal(rulesIn{text})
		status, _, body := h.do("PUT", "/-/api/rules", "application/json", b)
		return status, body
	}
	const edited = "version: 1\nrules:\n  - name: only\n    actions: [{deny: {}}]\n"

	ro := newHarness(t, func(c *Config) { c.RulesFile = file })
	if status, body := put(ro, edited); status != 403 || !strings.Contains(string(body), "--playground-write") {
		t.Errorf("read-only: %d %s", status, body)
	}
	_, _, body := ro.do("GET", "/-/api/rules", "", nil)
	var info rulesOut
	if err := json.Unmarshal(body, &info); err != nil || info.Writable || info.Text != testRules || info.File != file {
		t.Errorf("GET rules: %v %+v", err, info)
	}

	rw := newHarness(t, func(c *Config) { c.RulesFile, c.Writable = file, true })
	if status, body := put(rw, "version: 1\nrules: [\n"); status != 422 || !strings.Contains(string(body), `"line"`) {
		t.Errorf("broken rules: %d %s", status, body)
	}
	if b, _ := os.ReadFile(file); string(b) != testRules {
		t.Fatal("broken rules were written")
	}
	if status, body := put(rw, edited); status != 200 {
		t.Fatalf("save: %d %s", status, body)
	}
	b, _ := os.ReadFile(file)
	st, _ := os.Stat(file)
	if string(b) != edited || st.Mode().Perm() != 0o600 {
		t.Errorf("file %q, mode %v", b, st.Mode())
	}
	if leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(file), ".rules.yaml.*")); len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

func TestObjects(t *testing.T) {
	h := newHarness(t, nil)
	status, _, body := h.do("GET", "/-/api/objects", "", nil)
	var out struct {
		Objects   []objectOut `json:"objects"`
		Truncated bool        `json:"truncated"`
	}
	if err := json.Unmarshal(body, &out); status != 200 || err != nil {
		t.Fatalf("%d %v %s", status, err, body)
	}
	var keys []string
	for _, o := range out.Objects {
		keys = append(keys, o.Key)
	}
	if strings.Join(keys, " ") != "docs/mail.txt docs/z.csv photos/a.jpg private/p.txt" || out.Truncated {
		t.Errorf("keys %q (sidecars are not objects)", keys)
	}
	// An original's type and encoding are what its sidecar stored, as
	// serve and the local runs read them.
	for _, o := range out.Objects {
		if o.Key == "docs/z.csv" && o.Type != "text/plain; charset=utf-8" {
			t.Errorf("docs/z.csv listed as %q, its sidecar says text/plain", o.Type)
		}
	}
	if status, ctype, b := h.do("GET", "/-/api/objects/docs/z.csv", "", nil); status != 200 || ctype != "text/plain; charset=utf-8" || string(b) != "a,b\n1,2\n" {
		t.Errorf("gzip-encoded original: %d %s %q", status, ctype, b)
	}
	status, ctype, b := h.do("GET", "/-/api/objects/docs/mail.txt", "", nil)
	if status != 200 || !strings.HasPrefix(ctype, "text/plain") || !strings.Contains(string(b), "ops@example.com") {
		t.Errorf("%d %s %q", status, ctype, b)
	}
}

// Other paths under /-/ answer as OSS would, saying where such a key is.
func TestReservedPrefix(t *testing.T) {
	h := newHarness(t, nil)
	status, ctype, body := h.do("GET", "/-/photos/a.jpg", "", nil)
	if status != 404 || ctype != "application/xml" || !strings.Contains(string(body), "<Code>ReservedPrefix</Code>") || !strings.Contains(string(body), "/local-x-opapalias/-/photos/a.jpg") {
		t.Errorf("%d %s %s", status, ctype, body)
	}
}

func TestResultStoreBounds(t *testing.T) {
	now := time.Unix(0, 0)
	s := newResultStore(10, time.Minute, func() time.Time { return now })
	a := s.put("a", []byte("aaaa"))
	b := s.put("b", []byte("bbbb"))
	c := s.put("c", []byte("cccc")) // over 10 bytes: a goes
	if _, ok := s.get(a); ok {
		t.Error("the oldest result outlived the budget")
	}
	if _, ok := s.get(b); !ok {
		t.Error("b went too soon")
	}
	if s.used != 8 {
		t.Errorf("used %d", s.used)
	}
	now = now.Add(time.Minute)
	if _, ok := s.get(c); ok || s.used != 0 || len(s.items) != 0 {
		t.Errorf("expired results kept: used %d", s.used)
	}
}

func TestCaptureBounds(t *testing.T) {
	c := &capture{max: 1 << 20}
	chunk := bytes.Repeat([]byte("x"), 100<<10)
	for range 30 {
		c.Write(chunk)
	}
	if c.whole() || len(c.kept()) != headBytes {
		t.Errorf("kept %d bytes of 3000 KiB, whole %v", len(c.kept()), c.whole())
	}
	small := &capture{max: 1 << 20}
	small.Write([]byte("abc"))
	if !small.whole() || string(small.kept()) != "abc" {
		t.Errorf("%q", small.kept())
	}
}

// A PNG is shown with its size too; a picture whose header is not
// readable is described without one rather than failing the run.
func TestDescribeBody(t *testing.T) {
	var buf bytes.Buffer
	png.Encode(&buf, image.NewGray(image.Rect(0, 0, 7, 5)))
	out := &bodyOut{ContentType: "image/png"}
	describeBody(out, buf.Bytes(), int64(buf.Len()))
	if out.Width != 7 || out.Height != 5 {
		t.Errorf("%+v", out)
	}
	bad := &bodyOut{ContentType: "image/png"}
	describeBody(bad, []byte("not a png"), 9)
	if bad.Width != 0 {
		t.Errorf("%+v", bad)
	}
	text := &bodyOut{ContentType: "application/json"}
	describeBody(text, []byte(`{"a": "é"}`), 100)
	if text.Text == nil || *text.Text != `{"a": "é"}` || !text.TextTruncated {
		t.Errorf("%+v", text)
	}
}

// The page and its assets come from serve alone: nothing in them names
// another origin, and the page's policy would refuse it anyway.
func TestPageIsSelfContained(t *testing.T) {
	h := newHarness(t, nil)
	status, ctype, body := h.do("GET", "/-/playground", "", nil)
	if status != 200 || ctype != "text/html; charset=utf-8" {
		t.Fatalf("%d %s", status, ctype)
	}
	resp, err := http.Get(h.ts.URL + "/-/playground")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "http") {
		t.Errorf("policy %q", csp)
	}
	external := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}`)
	for _, asset := range []string{"/-/playground", "/-/playground/app.js", "/-/playground/style.css"} {
		status, _, b := h.do("GET", asset, "", nil)
		if status != 200 || len(b) == 0 {
			t.Errorf("%s: %d", asset, status)
		}
		for _, m := range external.FindAllString(string(b), -1) {
			// The placeholder of the Headers box is an example, not a link.
			if m != "https://shop.example.com" {
				t.Errorf("%s names another origin: %s", asset, m)
			}
		}
	}
	for _, src := range regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(string(body), -1) {
		if !strings.HasPrefix(src[1], "/-/playground/") && src[1] != "data:," {
			t.Errorf("the page loads %s", src[1])
		}
	}
	if status, _, b := h.do("GET", "/-/playground/", "", nil); status != 200 || !bytes.Equal(b, body) {
		t.Errorf("/-/playground/: %d, not the page", status)
	}
}

func gzipOf(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
