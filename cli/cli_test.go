package cli

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/opaprules/opaprules/rules"
)

// run runs a command the way main does and returns its exit code and output.
func run(t *testing.T, dir string, args ...string) (int, string, string) {
	t.Helper()
	if dir != "" {
		t.Chdir(dir)
	}
	var stdout, stderr bytes.Buffer
	env := &Env{Stdout: &stdout, Stderr: &stderr, Getenv: os.Getenv}
	code := Main(env, args)
	return code, stdout.String(), stderr.String()
}

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const goodRules = `version: 1
rules:
  - name: private
    when: key startsWith "private/"
    actions: [{deny: {status: 404}}]
  - name: thumbs
    when: ext == "png" && "w" in query
    actions:
      - resize: {width: "${ query.w }", max_width: 100}
      - convert: {format: png}
      - headers: {cache_control: "public, max-age=60"}
  - name: stop
    final: true
  - name: never
    when: ext == "gif"
    actions: [headers]
`

const badRules = `version: 1
rules:
  - name: a
    when: ext == 'jpg' && extt == 1
    actions: [{resise: {}}]
`

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "rules.yaml", goodRules)
	write(t, dir, "bad.yaml", badRules)

	code, out, _ := run(t, dir, "validate")
	if code != 0 || !strings.Contains(out, "rules.yaml:14:5: warning: rule \"never\": rule can never run") || !strings.HasSuffix(out, "rules.yaml: valid, 4 rules, 1 warning\n") {
		t.Fatalf("valid file: exit %d\n%s", code, out)
	}
	if code, out, _ := run(t, "", "validate", "--strict"); code != 1 || strings.Contains(out, "warning:") {
		t.Fatalf("--strict: exit %d\n%s", code, out)
	}
	code, out, _ = run(t, "", "validate", "bad.yaml")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	want := []string{
		`bad.yaml:4:27: rule "a": when: unknown name extt`,
		`bad.yaml:5:16: rule "a": unknown action "resise"; did you mean "resize"?`,
		`bad.yaml: invalid, 2 errors, 0 warnings`,
	}
	if code != 1 || strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("invalid file: exit %d\n%s\nwant:\n%s", code, out, strings.Join(want, "\n"))
	}
	// Every error line has the documented shape.
	shape := regexp.MustCompile(`^[^:]+:\d+:\d+: (rule "[^"]+": |warning: )?\S`)
	for _, l := range lines[:2] {
		if !shape.MatchString(l) {
			t.Errorf("line %q does not follow FILE:LINE:COL: rule \"NAME\": message", l)
		}
	}

	code, out, _ = run(t, "", "validate", "--format", "json", "bad.yaml", "rules.yaml")
	var doc struct {
		Valid    bool               `json:"valid"`
		Errors   []rules.Diagnostic `json:"errors"`
		Warnings []map[string]any   `json:"warnings"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("json output: %v\n%s", err, out)
	}
	if code != 1 || doc.Valid || len(doc.Errors) != 2 || len(doc.Warnings) != 1 ||
		doc.Errors[0].File != "bad.yaml" || doc.Errors[0].Line != 4 || doc.Errors[0].Column != 27 || doc.Errors[0].Rule != "a" {
		t.Fatalf("json: exit %d %+v", code, doc)
	}
	for _, key := range []string{"file", "line", "column", "rule", "message"} {
		if _, ok := doc.Warnings[0][key]; !ok {
			t.Errorf("warning has no %q: %v", key, doc.Warnings[0])
		}
	}

	if code, out, _ := run(t, "", "validate", "missing.yaml"); code != 1 || !strings.Contains(out, "missing.yaml:1:1: cannot read the file") {
		t.Errorf("missing file: exit %d %s", code, out)
	}
	if code, _, _ := run(t, "", "validate", "--format", "xml"); code != 2 {
		t.Errorf("bad --format: exit %d, want 2", code)
	}
	if code, _, _ := run(t, "", "validate", "--nope"); code != 2 {
		t.Errorf("unknown flag: exit %d, want 2", code)
	}
}

func TestDryRun(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "rules.yaml", goodRules)
	img := image.NewNRGBA(image.Rect(0, 0, 400, 200))
	for i := range img.Pix {
		img.Pix[i] = uint8(i)
	}
	img.SetNRGBA(0, 0, color.NRGBA{1, 2, 3, 255})
	var buf bytes.Buffer
	png.Encode(&buf, img)
	write(t, dir, "in.png", buf.String())

	// Flags may come after the request.
	code, out, errOut := run(t, dir, "dry-run", "photos/a.png?w=500", "--format", "json", "-H", "Accept: image/png", "--input", "in.png", "--output", "out.png")
	if code != 0 {
		t.Fatalf("exit %d: %s%s", code, out, errOut)
	}
	var doc struct {
		Rules []struct {
			Name            string `json:"name"`
			Matched         bool   `json:"matched"`
			Skipped         string `json:"skipped"`
			FailedCondition string `json:"failed_condition"`
		} `json:"rules"`
		Plan []struct {
			Action string         `json:"action"`
			Params map[string]any `json:"params"`
		} `json:"plan"`
		Status  int               `json:"status"`
		Headers map[string]string `json:"headers"`
		Result  *struct {
			Status      int    `json:"status"`
			ContentType string `json:"content_type"`
			Bytes       int64  `json:"bytes"`
			Width       int    `json:"width"`
			Height      int    `json:"height"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(doc.Rules) != 4 || doc.Rules[0].FailedCondition != `key startsWith "private/"` || !doc.Rules[1].Matched || !doc.Rules[2].Matched || doc.Rules[3].Skipped != "after final rule stop" {
		t.Errorf("rules: %+v", doc.Rules)
	}
	if len(doc.Plan) != 3 || doc.Plan[0].Action != "resize" || doc.Plan[0].Params["width"] != float64(500) || doc.Plan[0].Params["max_width"] != float64(100) || doc.Plan[0].Params["mode"] == nil {
		t.Errorf("plan: %+v", doc.Plan)
	}
	if doc.Status != 200 || doc.Headers["Cache-Control"] != "public, max-age=60" || doc.Headers["Content-Type"] != "image/png" {
		t.Errorf("status %d headers %v", doc.Status, doc.Headers)
	}
	if r := doc.Result; r == nil || r.Status != 200 || r.Width != 100 || r.Height != 50 || r.ContentType != "image/png" {
		t.Errorf("result %+v", doc.Result)
	}
	if cfg, err := decodeConfig(filepath.Join(dir, "out.png")); err != nil || cfg.Width != 100 {
		t.Errorf("output file: %+v %v", cfg, err)
	}

	code, out, _ = run(t, "", "dry-run", "--access-point", "media", "private/x.txt")
	if code != 0 || !strings.Contains(out, "private  matched") || !strings.Contains(out, "status: 404 Not Found") || !strings.Contains(out, "error: NoSuchKey") {
		t.Errorf("text output:\n%s", out)
	}
	code, out, _ = run(t, "", "dry-run", "a.png?w=abc")
	if code != 0 || !strings.Contains(out, "status: 400") || !strings.Contains(out, "InvalidArgument") {
		t.Errorf("request-time error:\n%s", out)
	}
	if code, _, _ := run(t, "", "dry-run"); code != 2 {
		t.Errorf("no request: exit %d", code)
	}
	if code, _, _ := run(t, "", "dry-run", "a.png", "--object-meta", "colour=red"); code != 2 {
		t.Errorf("bad --object-meta: exit %d", code)
	}
	for _, args := range [][]string{
		{"--method", ""}, {"--method", "GE T"}, {"--ip", "bogus"},
		{"--input", filepath.Join(dir, "in.png"), "--origin", filepath.Join(dir, "nonexist")},
		{"--input", filepath.Join(dir, "nonexist.png")},
		{"--input", dir},
	} {
		if code, _, errOut := run(t, "", append([]string{"dry-run"}, append(args, "a.png")...)...); code != 2 || !strings.Contains(errOut, "opaprules dry-run: ") {
			t.Errorf("dry-run %q: exit %d, want a usage error (2): %s", args, code, errOut)
		}
	}
	// The headers the answer depends on: what the rules read, what convert
	// negotiates on.
	write(t, dir, "vary.yaml", "version: 1\nrules:\n  - name: r\n    when: headers.referer == \"x\"\n    actions: [{convert: {format: auto}}]\n")
	code, out, _ = run(t, dir, "dry-run", "--rules", "vary.yaml", "--format", "json", "a.jpg", "-H", "Referer: x")
	if code != 0 || !strings.Contains(out, `"vary": [
    "Accept",
    "Referer"
  ]`) {
		t.Errorf("vary:\n%s", out)
	}
	// Nothing matches: the plan is an empty list, never null.
	code, out, _ = run(t, dir, "dry-run", "--format", "json", "nothing/here.bin")
	if code != 0 || !strings.Contains(out, `"plan": []`) {
		t.Errorf("empty plan:\n%s", out)
	}
}

func decodeConfig(path string) (image.Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return image.Config{}, err
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(f)
	return cfg, err
}

func TestRuleTests(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "rules.yaml", goodRules)
	write(t, dir, "rules_test.yaml", `rules: rules.yaml
tests:
  - name: private is hidden
    request: {key: private/a.txt}
    expect: {rules: [private], actions: [deny], status: 404, error_code: NoSuchKey}
  - name: thumbnail
    request: {key: "a.png?w=10", headers: {Accept: image/png}}
    expect: {rules: [thumbs, stop], actions: [resize, convert, headers], headers: {Cache-Control: "public, max-age=60", Content-Type: image/png}}
  - name: wrong on purpose
    request: {key: a.txt}
    expect: {rules: [thumbs], status: 403}
`)
	code, out, _ := run(t, dir, "test")
	if code != 1 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	for _, want := range []string{
		"=== RUN   private is hidden\n--- PASS: private is hidden",
		"--- FAIL: wrong on purpose",
		"rules_test.yaml:9: rules: got [stop], want [thumbs]",
		"rules_test.yaml:9: status: got 200, want 403",
		"coverage: rules.yaml: no case matches rule never",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if !strings.HasSuffix(out, "FAIL\n2 passed, 1 failed\n") {
		t.Errorf("last lines:\n%s", out)
	}
	write(t, dir, "broken_test.yaml", "tests:\n  - name: x\n    request: {kye: a}\n")
	code, out, _ = run(t, "", "test", "broken_test.yaml")
	if code != 1 || !strings.Contains(out, `broken_test.yaml:3:15: tests[0].request: unknown key "kye"; did you mean "key"?`) {
		t.Errorf("broken test file: exit %d\n%s", code, out)
	}
}

func TestSign(t *testing.T) {
	t.Setenv("OPAPRULES_TEST_KEY", "k1,k0")
	code, out, _ := run(t, "", "sign", "--key-env", "OPAPRULES_TEST_KEY", "--ttl", "1h", "originals/a b.jpg?w=10")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	path := strings.TrimSpace(out)
	if !strings.HasPrefix(path, "/originals/a%20b.jpg?w=10&expires=") || !strings.Contains(path, "&sig=") {
		t.Fatalf("signed path %q", path)
	}
	_, q, _ := strings.Cut(path, "?")
	if !rules.VerifySignature("k1", "originals/a b.jpg", q, time.Now()) {
		t.Error("the printed path does not verify")
	}
	if code, _, errOut := run(t, "", "sign", "--key-env", "OPAPRULES_UNSET_KEY", "a.jpg"); code != 1 || !strings.Contains(errOut, "is empty") {
		t.Errorf("unset key: exit %d %s", code, errOut)
	}
	if code, _, _ := run(t, "", "sign", "a.jpg"); code != 2 {
		t.Errorf("no --key-env: exit %d", code)
	}
}

func TestSchemaCommand(t *testing.T) {
	for _, which := range []string{"", "rules", "tests"} {
		args := []string{"schema"}
		if which != "" {
			args = append(args, which)
		}
		code, out, _ := run(t, "", args...)
		var doc map[string]any
		if code != 0 || json.Unmarshal([]byte(out), &doc) != nil || doc["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
			t.Errorf("schema %s: exit %d", which, code)
		}
	}
	if code, _, _ := run(t, "", "schema", "nope"); code != 2 {
		t.Errorf("unknown schema: exit %d", code)
	}
}

func TestUsage(t *testing.T) {
	if code, _, errOut := run(t, ""); code != 2 || !strings.Contains(errOut, "Usage:") {
		t.Errorf("no command: exit %d", code)
	}
	if code, _, errOut := run(t, "", "frobnicate"); code != 2 || !strings.Contains(errOut, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: exit %d", code)
	}
	if code, out, _ := run(t, "", "help"); code != 0 || !strings.Contains(out, "dry-run") {
		t.Errorf("help: exit %d", code)
	}
}
