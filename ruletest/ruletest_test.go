package ruletest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Rules that read image.* or object.* are tested by giving the original's
// header and metadata in the request; a case that expects the wrong thing
// fails with a message naming what differed.
func TestImageAndObjectInRequests(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "rules.yaml"), []byte(`version: 1
rules:
  - name: shrink
    when: image.width > 2000
    actions: [{resize: {width: 2000}}]
  - name: keep-alpha
    when: image.format == "png" && image.alpha
    actions: [{convert: {format: png}}]
  - name: gold
    when: object.meta.tier == "gold"
    actions: [{headers: {cache_control: "public, max-age=3600"}}]
`), 0o644)
	tests := filepath.Join(dir, "rules_test.yaml")
	os.WriteFile(tests, []byte(`tests:
  - name: a wide photo shrinks
    request: {key: a.jpg, image: {width: 3000, height: 2000, format: jpeg}}
    expect: {rules: [shrink], actions: [resize]}
  - name: a small PNG with alpha stays PNG
    request: {key: b.png, image: {width: 300, height: 200, format: png, alpha: true}}
    expect: {rules: [keep-alpha], headers: {Content-Type: image/png}}
  - name: gold objects cache longer
    request: {key: c.txt, object: {meta: {tier: gold}}}
    expect: {rules: [gold], headers: {Cache-Control: "public, max-age=3600"}}
  - name: a wrong expectation fails
    request: {key: a.jpg, image: {width: 100, format: jpeg}}
    expect: {rules: [shrink]}
`), 0o644)
	f, rs, lines, err := Load(tests)
	if err != nil {
		t.Fatal(err)
	}
	rep := Run(tests, f, rs, lines)
	var failed []string
	for _, r := range rep.Results {
		if !r.Passed() {
			failed = append(failed, r.Name+": "+strings.Join(r.Failures, "; "))
		}
	}
	if len(failed) != 1 || !strings.Contains(failed[0], "a wrong expectation fails: rules: got [], want [shrink]") {
		t.Errorf("failures: %q", failed)
	}
}
