// Package ruletest runs operators' tests of their rules, the way `opa test`
// runs policy tests: each case is a request and what the rules should make
// of it (matched rules, plan, status, headers), checked without OSS.
package ruletest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/opaprules/opaprules/actions"
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
	Now         string            `yaml:"now" doc:"request time, RFC 3339 (default: now)"`
	SignWith    string            `yaml:"sign_with" doc:"sign key and query with the key in this environment variable first, as the application would"`
	Object      *Object           `yaml:"object" doc:"the origin object's metadata, for rules that read object.*"`
}

// Object is the origin object's metadata.
type Object struct {
	Size         int64             `yaml:"size"`
	ContentType  string            `yaml:"content_type"`
	ETag         string            `yaml:"etag"`
	LastModified string            `yaml:"last_modified" doc:"RFC 3339"`
	Meta         map[string]string `yaml:"meta" doc:"user metadata (x-oss-meta-*), names in lower case"`
}

// Expect lists what is checked; anything left out is not.
type Expect struct {
	Rules     *[]string         `yaml:"rules" doc:"exactly these rules match, in order ([] for none)"`
	Actions   *[]string         `yaml:"actions" doc:"exactly these actions run, in order ([] for passthrough)"`
	Status    int               `yaml:"status" doc:"the response status"`
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
	covered := map[string]bool{}
	for i, c := range f.Tests {
		line := 0
		if i < len(lines) {
			line = lines[i]
		}
		start := time.Now()
		res := runCase(rs, c, covered)
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

func runCase(rs *rules.RuleSet, c Case, covered map[string]bool) Result {
	var res Result
	fail := func(format string, args ...any) { res.Failures = append(res.Failures, fmt.Sprintf(format, args...)) }
	req, err := buildRequest(c.Request)
	if err != nil {
		fail("request: %v", err)
		return res
	}
	plan, trace, evalErr := rs.Explain(req)
	var matched []string
	for _, t := range trace.Rules {
		if t.Matched {
			matched = append(matched, t.Name)
			covered[t.Name] = true
		}
	}
	var (
		status  int
		header  = http.Header{}
		errCode string
		names   []string
	)
	if evalErr != nil {
		e, ok := actions.AsError(evalErr)
		if !ok {
			fail("evaluation failed: %v", evalErr)
			return res
		}
		status, errCode = e.Status, e.Code
	} else {
		for _, s := range plan.Steps {
			names = append(names, s.Name)
		}
		origin := http.Header{}
		if req.Object != nil && req.Object.ContentType != "" {
			origin.Set("Content-Type", req.Object.ContentType)
		}
		var e *actions.Error
		status, header, e = plan.Implied(&actions.Request{Key: req.Key, Method: req.Method, AccessPoint: req.AccessPoint, Header: req.Header}, origin)
		if e != nil {
			errCode = e.Code
		}
	}
	x := c.Expect
	if x.Rules != nil && !slices.Equal(matched, *x.Rules) {
		fail("rules: got %s, want %s", list(matched), list(*x.Rules))
	}
	if x.Actions != nil && !slices.Equal(names, *x.Actions) {
		fail("actions: got %s, want %s", list(names), list(*x.Actions))
	}
	if x.Status != 0 && status != x.Status {
		msg := ""
		if evalErr != nil {
			msg = " (" + evalErr.Error() + ")"
		}
		fail("status: got %d, want %d%s", status, x.Status, msg)
	}
	if x.ErrorCode != "" && errCode != x.ErrorCode {
		fail("error_code: got %q, want %q", errCode, x.ErrorCode)
	}
	for _, name := range slices.Sorted(maps.Keys(x.Headers)) {
		want, got := x.Headers[name], header.Get(name)
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

func buildRequest(r Request) (*rules.Request, error) {
	key, q, ok := rules.ParseTarget(r.Key)
	if !ok {
		return nil, fmt.Errorf("key %q has no object key", r.Key)
	}
	req := &rules.Request{Key: key, RawQuery: q, Header: http.Header{}, Method: strings.ToUpper(r.Method), IP: r.IP}
	if req.Method == "" {
		req.Method = http.MethodGet
	}
	req.AccessPoint, req.AccessPointAlias = rules.SplitAccessPoint(r.AccessPoint)
	for k, v := range r.Headers {
		req.Header.Set(textproto.CanonicalMIMEHeaderKey(k), v)
	}
	if r.Now != "" {
		t, err := time.Parse(time.RFC3339, r.Now)
		if err != nil {
			return nil, fmt.Errorf("now: %q is not an RFC 3339 time", r.Now)
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
	if o := r.Object; o != nil {
		req.Object = &rules.ObjectMeta{Size: o.Size, ContentType: o.ContentType, ETag: o.ETag, Meta: o.Meta}
		if o.LastModified != "" {
			t, err := time.Parse(time.RFC3339, o.LastModified)
			if err != nil {
				return nil, fmt.Errorf("object.last_modified: %q is not an RFC 3339 time", o.LastModified)
			}
			req.Object.LastModified = t
		}
	}
	return req, nil
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
