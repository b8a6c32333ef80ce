// Package ruletest runs operators' tests of their rules, the way `opa test`
// runs policy tests: each case is a request and what the rules should make
// of it (matched rules, plan, status, headers), checked without OSS.
package ruletest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/netip"
	"net/textproto"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opaprules/opaprules/actions"
	"github.com/opaprules/opaprules/engine"
	"github.com/opaprules/opaprules/rules"
	"github.com/opaprules/opaprules/schema"
)

// File is a rules_test.yaml.
type File struct {
	Rules string            `yaml:"rules" doc:"the rules file under test, relative to this file (default rules.yaml)"`
	Env   map[string]string `yaml:"env" doc:"environment variables set while the cases run, such as signing keys (names must start with OPAPRULES_)"`
	Tests []Case            `yaml:"tests" required:"true" doc:"the test cases"`
}

// Case is one request and what should come of it.
type Case struct {
	Name    string  `yaml:"name" required:"true" doc:"what the case checks"`
	Request Request `yaml:"request" required:"true"`
	Expect  Expect  `yaml:"expect" required:"true"`
}

// Request describes the client's GetObject.
type Request struct {
	Key         string            `yaml:"key" required:"true" doc:"object key with an optional ?query, as in the URL: photos/a.jpg?w=200"`
	Method      string            `yaml:"method" doc:"default GET"`
	Headers     map[string]string `yaml:"headers" doc:"request headers"`
	AccessPoint string            `yaml:"access_point" doc:"access point name or full alias"`
	IP          string            `yaml:"ip" doc:"client IP address"`
	Now         string            `yaml:"now" doc:"request time, RFC 3339 or an HTTP date (default: now)"`
	SignWith    string            `yaml:"sign_with" doc:"sign key and query with the key in this environment variable first, as the application would"`
	Object      *Object           `yaml:"object" doc:"the origin object's metadata, for rules that read object.*"`
	Image       *Image            `yaml:"image" doc:"what the original's picture header says, for rules that read image.*"`
}

// Image is what the original's picture header says.
type Image struct {
	Width       int    `yaml:"width" min:"0" doc:"as displayed"`
	Height      int    `yaml:"height" min:"0" doc:"as displayed"`
	Format      string `yaml:"format" doc:"jpeg, png, gif, webp, avif, bmp, tiff, heic"`
	Frames      int    `yaml:"frames" min:"0" doc:"1 for a still picture (default 1)"`
	Alpha       bool   `yaml:"alpha"`
	Orientation int    `yaml:"orientation" min:"0" max:"8" doc:"EXIF orientation (default 1)"`
}

// Object is the origin object's metadata.
type Object struct {
	Size         int64             `yaml:"size"`
	ContentType  string            `yaml:"content_type"`
	ETag         string            `yaml:"etag"`
	LastModified string            `yaml:"last_modified" doc:"RFC 3339 or an HTTP date"`
	Meta         map[string]string `yaml:"meta" doc:"user metadata (x-oss-meta-*), names in lower case"`
}

// Expect lists what is checked; anything left out is not.
type Expect struct {
	Rules     *[]string         `yaml:"rules" doc:"exactly these rules match, in order ([] for none)"`
	Actions   *[]string         `yaml:"actions" doc:"exactly these actions run, in order ([] for passthrough)"`
	Status    int               `yaml:"status" min:"100" max:"599" doc:"the response status"`
	Headers   map[string]string `yaml:"headers" doc:"these response headers have these values; \"\" means absent"`
	ErrorCode string            `yaml:"error_code" doc:"the OSS error code of an error response"`
}

// SchemaJSON is the JSON schema of the test file, generated from File.
func SchemaJSON() []byte {
	s := actions.StructSchema(&File{})
	s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	s["$id"] = schema.TestsID
	s["title"] = "opaprules rule tests"
	s["required"] = []string{"tests"}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// Result is the outcome of one case.
type Result struct {
	Name     string
	Line     int
	Failures []string
	Duration time.Duration
}

// Passed reports whether every expectation held.
func (r Result) Passed() bool { return len(r.Failures) == 0 }

// Report is the outcome of one test file.
type Report struct {
	File      string
	RulesFile string
	Results   []Result
	// Uncovered lists rules no case matched.
	Uncovered []string
}

// Load reads and checks a test file, and loads the rules it names.
func Load(path string) (*File, *rules.RuleSet, []int, error) {
	data, err := rules.ReadFile(path)
	if err != nil {
		return nil, nil, nil, err
	}
	var f File
	if diags := rules.DecodeFile(path, data, &f, schema.TestsID, schema.Tests); hasErrors(diags) {
		return nil, nil, nil, &rules.LoadError{Diagnostics: diags}
	}
	for name := range f.Env {
		if !strings.HasPrefix(name, rules.EnvPrefix) {
			return nil, nil, nil, fmt.Errorf("%s: env: %q: only %s* variables can be set", path, name, rules.EnvPrefix)
		}
	}
	rulesPath := f.Rules
	if rulesPath == "" {
		rulesPath = "rules.yaml"
	}
	if !filepath.IsAbs(rulesPath) {
		rulesPath = filepath.Join(filepath.Dir(path), rulesPath)
	}
	rs, err := rules.LoadFile(rulesPath)
	if err != nil {
		return nil, nil, nil, err
	}
	return &f, rs, rules.NodeLines(data, "tests"), nil
}

func hasErrors(diags []rules.Diagnostic) bool {
	return slices.ContainsFunc(diags, func(d rules.Diagnostic) bool { return d.Severity == rules.Error })
}

// Run runs every case of a loaded file. Environment variables from the
// file are set for the duration and restored afterwards.
func Run(path string, f *File, rs *rules.RuleSet, lines []int) *Report {
	restore := setEnv(f.Env)
	defer restore()
	rep := &Report{File: path, RulesFile: rs.File}
	h, err := engine.New(engine.Config{Rules: rs, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err) // New fails only without rules
	}
	covered := map[string]bool{}
	for i, c := range f.Tests {
		line := 0
		if i < len(lines) {
			line = lines[i]
		}
		start := time.Now()
		res := runCase(h, c, covered)
		res.Name, res.Line, res.Duration = c.Name, line, time.Since(start)
		rep.Results = append(rep.Results, res)
	}
	for _, r := range rs.Rules {
		if !covered[r.Name] {
			rep.Uncovered = append(rep.Uncovered, r.Name)
		}
	}
	return rep
}

func setEnv(env map[string]string) func() {
	type saved struct {
		v  string
		ok bool
	}
	old := map[string]saved{}
	for k, v := range env {
		ov, ok := os.LookupEnv(k)
		old[k] = saved{ov, ok}
		os.Setenv(k, v)
	}
	return func() {
		for k, s := range old {
			if s.ok {
				os.Setenv(k, s.v)
			} else {
				os.Unsetenv(k)
			}
		}
	}
}

func runCase(h *engine.Handler, c Case, covered map[string]bool) Result {
	var res Result
	fail := func(format string, args ...any) { res.Failures = append(res.Failures, fmt.Sprintf(format, args...)) }
	req, err := c.Request.Build()
	if err != nil {
		fail("request: %v", err)
		return res
	}
	out, err := h.RunLocal(context.Background(), engine.LocalRun{Request: req})
	if err != nil {
		fail("%v", err)
		return res
	}
	var matched, names []string
	for _, t := range out.Trace.Rules {
		if t.Matched {
			matched = append(matched, t.Name)
			covered[t.Name] = true
		}
	}
	errCode := ""
	if out.Error != nil {
		errCode = out.Error.Code
	}
	if out.Plan != nil {
		for _, s := range out.Plan.Steps {
			names = append(names, s.Name)
		}
	}
	x := c.Expect
	if x.Rules != nil && !slices.Equal(matched, *x.Rules) {
		fail("rules: got %s, want %s", list(matched), list(*x.Rules))
	}
	if x.Actions != nil && !slices.Equal(names, *x.Actions) {
		fail("actions: got %s, want %s", list(names), list(*x.Actions))
	}
	if x.Status != 0 && out.Status != x.Status {
		msg := ""
		if out.Error != nil {
			msg = " (" + out.Error.Code + ": " + out.Error.Message + ")"
		}
		fail("status: got %d, want %d%s", out.Status, x.Status, msg)
	}
	if x.ErrorCode != "" && errCode != x.ErrorCode {
		fail("error_code: got %q, want %q", errCode, x.ErrorCode)
	}
	for _, name := range slices.Sorted(maps.Keys(x.Headers)) {
		want, got := x.Headers[name], out.Header.Get(name)
		if got != want {
			if want == "" {
				fail("header %s: got %q, want it absent", name, got)
			} else {
				fail("header %s: got %q, want %q", name, got, want)
			}
		}
	}
	return res
}

func list(s []string) string {
	if len(s) == 0 {
		return "[]"
	}
	return "[" + strings.Join(s, ", ") + "]"
}

// Build makes the request the rules see. It is the one request builder:
// dry-run's flags and the playground's form fill a Request too.
func (r Request) Build() (*rules.Request, error) {
	key, q, ok := rules.ParseTarget(r.Key)
	if !ok {
		return nil, fmt.Errorf("key %q has no object key", r.Key)
	}
	req := &rules.Request{Key: key, RawQuery: q, Header: http.Header{}, Method: strings.ToUpper(r.Method), IP: r.IP}
	if req.Method == "" {
		req.Method = http.MethodGet
	}
	if !validMethod(req.Method) {
		return nil, fmt.Errorf("method %q is not an HTTP method", r.Method)
	}
	if r.IP != "" {
		a, err := netip.ParseAddr(strings.TrimSpace(r.IP))
		if err != nil {
			return nil, fmt.Errorf("ip %q is not an IP address", r.IP)
		}
		req.IP = a.Unmap().String()
	}
	req.AccessPoint, req.AccessPointAlias = rules.SplitAccessPoint(r.AccessPoint)
	for k, v := range r.Headers {
		req.Header.Set(textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(k)), strings.TrimSpace(v))
	}
	if r.Now != "" {
		t, err := ParseTime(r.Now)
		if err != nil {
			return nil, fmt.Errorf("now: %v", err)
		}
		req.Now = t
	}
	if r.SignWith != "" {
		secret := os.Getenv(r.SignWith)
		if secret == "" {
			return nil, fmt.Errorf("sign_with: environment variable %s is empty (set it under env:)", r.SignWith)
		}
		target := key
		if q != "" {
			target += "?" + q
		}
		signed, err := rules.SignPath(secret, target, 0, req.Now)
		if err != nil {
			return nil, fmt.Errorf("sign_with: %v", err)
		}
		_, req.RawQuery, _ = strings.Cut(signed, "?")
	}
	if i := r.Image; i != nil {
		req.Image = &rules.ImageMeta{Width: i.Width, Height: i.Height, Format: i.Format, Frames: max(i.Frames, 1), Alpha: i.Alpha, Orientation: max(i.Orientation, 1)}
	}
	if o := r.Object; o != nil {
		req.Object = &rules.ObjectMeta{Size: o.Size, ContentType: o.ContentType, ETag: o.ETag, Meta: o.Meta}
		if o.LastModified != "" {
			t, err := ParseTime(o.LastModified)
			if err != nil {
				return nil, fmt.Errorf("object.last_modified: %v", err)
			}
			req.Object.LastModified = t
		}
	}
	return req, nil
}

// AddHeader adds a request header given as one "Name: value" line, as
// dry-run's -H and the playground's header box take it. A repeated name
// joins its values with ", ", which means the same (RFC 9110 §5.3).
func (r *Request) AddHeader(line string) error {
	name, value, ok := strings.Cut(line, ":")
	name = strings.TrimSpace(name)
	if !ok || !validMethod(name) {
		return fmt.Errorf("%q: want 'Name: value'", line)
	}
	if r.Headers == nil {
		r.Headers = map[string]string{}
	}
	name, value = textproto.CanonicalMIMEHeaderKey(name), strings.TrimSpace(value)
	if prev, ok := r.Headers[name]; ok {
		value = prev + ", " + value
	}
	r.Headers[name] = value
	return nil
}

// validMethod reports whether m is an HTTP method token (RFC 9110 §9.1),
// which is also what a header name is (§5.1).
func validMethod(m string) bool {
	for _, c := range m {
		if c < '!' || c > '~' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, c) {
			return false
		}
	}
	return m != ""
}

// ParseTime reads a time as RFC 3339 or as an HTTP date.
func ParseTime(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := http.ParseTime(v); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor an HTTP date", v)
}

// Set fills one field from a key=value pair, as dry-run's --object-meta
// gives it: size, content_type, etag, last_modified or meta.NAME.
func (o *Object) Set(kv string) error {
	k, v, ok := strings.Cut(kv, "=")
	if !ok {
		return fmt.Errorf("%q: want key=value", kv)
	}
	switch {
	case k == "size":
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("size=%q: want a byte count", v)
		}
		o.Size = n
	case k == "content_type":
		o.ContentType = v
	case k == "etag":
		o.ETag = v
	case k == "last_modified":
		if _, err := ParseTime(v); err != nil {
			return fmt.Errorf("last_modified: %v", err)
		}
		o.LastModified = v
	case strings.HasPrefix(k, "meta."):
		if o.Meta == nil {
			o.Meta = map[string]string{}
		}
		o.Meta[strings.ToLower(strings.TrimPrefix(k, "meta."))] = v
	default:
		return fmt.Errorf("%q: unknown key (size, content_type, etag, last_modified, meta.NAME)", k)
	}
	return nil
}

// Print writes the report in the style of `go test -v`.
func (rep *Report) Print(w io.Writer) (passed, failed int) {
	for _, r := range rep.Results {
		fmt.Fprintf(w, "=== RUN   %s\n", r.Name)
		if r.Passed() {
			passed++
			fmt.Fprintf(w, "--- PASS: %s (%.2fms)\n", r.Name, float64(r.Duration.Microseconds())/1000)
			continue
		}
		failed++
		fmt.Fprintf(w, "--- FAIL: %s (%.2fms)\n", r.Name, float64(r.Duration.Microseconds())/1000)
		for _, f := range r.Failures {
			fmt.Fprintf(w, "    %s:%d: %s\n", rep.File, r.Line, f)
		}
	}
	if len(rep.Uncovered) > 0 {
		fmt.Fprintf(w, "coverage: %s: no case matches rule %s\n", rep.RulesFile, strings.Join(rep.Uncovered, ", "))
	}
	return passed, failed
}
