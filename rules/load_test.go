package rules

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// diag is the part of a diagnostic a test pins: position, rule, and a
// fragment of the message.
type diag struct {
	line, col int
	rule      string
	msg       string
}

func checkDiags(t *testing.T, src string, want []diag, warnings bool) {
	t.Helper()
	_, got := Check("rules.yaml", []byte(src))
	var filtered []Diagnostic
	for _, d := range got {
		if (d.Severity == Warning) == warnings {
			filtered = append(filtered, d)
		}
	}
	if len(filtered) != len(want) {
		t.Fatalf("got %d diagnostics, want %d:\n%s", len(filtered), len(want), dump(got))
	}
	for i, w := range want {
		d := filtered[i]
		if d.Line != w.line || d.Column != w.col || d.Rule != w.rule || !strings.Contains(d.Message, w.msg) {
			t.Errorf("diagnostic %d = %s\nwant %d:%d rule %q containing %q", i, d, w.line, w.col, w.rule, w.msg)
		}
		if d.File != "rules.yaml" {
			t.Errorf("file = %q", d.File)
		}
	}
}

func dump(ds []Diagnostic) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString("  " + d.String() + "\n")
	}
	return b.String()
}

func TestLoadErrors(t *testing.T) {
	const head = "version: 1\nrules:\n"
	for _, tc := range []struct {
		name string
		src  string
		want []diag
	}{
		{"yaml syntax", "version: 1\nrules:\n  - name: a\n   when: x\n", []diag{{2, 1, "", "YAML syntax"}}},
		{"empty file", "", []diag{{1, 1, "", "the file is empty"}}},
		{"comments only", "# nothing\n", []diag{{1, 1, "", "the file is empty"}}},
		{"not a mapping", "- a\n- b\n", []diag{{1, 1, "", "must be a mapping"}}},
		{"missing version", "rules: []\n", []diag{{1, 1, "", "missing `version: 1`"}}},
		{"bad version", "version: 2\nrules: []\n", []diag{{1, 10, "", "version: want 1"}}},
		{"unknown top-level key", "version: 1\nrule: []\n", []diag{{1, 1, "", "missing `rules:`"}, {2, 1, "", `unknown top-level key "rule"; did you mean "rules"?`}}},
		{"rules not a list", "version: 1\nrules: {a: 1}\n", []diag{{2, 8, "", "rules: want a list"}}},
		{"rule not a mapping", head + "  - just a string\n", []diag{{3, 5, "", "each rule must be a mapping"}}},
		{"missing name", head + "  - when: 'true'\n    actions: [headers]\n", []diag{{3, 5, "", "every rule needs a unique `name`"}}},
		{"bad name", head + "  - name: 'has space'\n    actions: [headers]\n", []diag{{3, 11, "", "must start with a letter or digit"}}},
		{"duplicate name", head + "  - name: a\n    actions: [headers]\n  - name: a\n    actions: [headers]\n",
			[]diag{{5, 11, "a", "duplicate rule name (first defined at line 3)"}}},
		{"unknown rule key", head + "  - name: a\n    wen: 'true'\n    actions: [headers]\n", []diag{{4, 5, "a", `unknown key "wen"; did you mean "when"?`}}},
		{"unknown action", head + "  - name: a\n    actions:\n      - resise: {width: 1}\n", []diag{{5, 9, "a", `unknown action "resise"`}}},
		{"two actions in one item", head + "  - name: a\n    actions:\n      - deny: {}\n        headers: {}\n", []diag{{6, 9, "a", `found "deny" and "headers"`}}},
		{"unknown parameter", head + "  - name: a\n    actions:\n      - deny: {stauts: 403}\n", []diag{{5, 16, "a", `deny: unknown parameter "stauts"; did you mean "status"?`}}},
		{"ill-typed parameter", head + "  - name: a\n    actions:\n      - deny: {status: forbidden}\n", []diag{{5, 24, "a", `deny.status: want an integer, got string "forbidden"`}}},
		{"enum parameter", head + "  - name: a\n    actions:\n      - deny: {status: 500}\n", []diag{{5, 9, "a", "deny: status: 500 is not one of"}}},
		{"validate parameter", head + "  - name: a\n    actions:\n      - redirect: {location: 'https://evil.example/'}\n", []diag{{5, 9, "a", "not in allowed_hosts"}}},
		{"missing required parameter", head + "  - name: a\n    actions:\n      - redirect: {status: 301}\n", []diag{{5, 9, "a", `missing required parameter "location"`}}},
		{"params not a mapping", head + "  - name: a\n    actions:\n      - deny: [403]\n", []diag{{5, 15, "a", "parameters must be a mapping"}}},
		{"expr syntax, plain", head + "  - name: a\n    when: ext == 'jpg' &&\n", []diag{{4, 25, "a", "when: unexpected token EOF"}}},
		{"expr unknown name, plain", head + "  - name: a\n    when: ext == 'jpg' && extt == 'x'\n", []diag{{4, 27, "a", "when: unknown name extt"}}},
		{"expr unknown name, double-quoted", head + "  - name: a\n    when: \"ext == \\\"jpg\\\" && extt == 'x'\"\n", []diag{{4, 30, "a", "unknown name extt"}}},
		{"expr unknown name, block", head + "  - name: a\n    when: |\n      ext == 'jpg' &&\n        extt == 'x'\n", []diag{{6, 9, "a", "unknown name extt"}}},
		{"non-boolean when", head + "  - name: a\n    when: key\n", []diag{{4, 11, "a", "condition must be true or false, but it is string"}}},
		{"invalid regex literal", head + "  - name: a\n    when: key matches '(['\n", []diag{{4, 15, "a", "error parsing regexp"}}},
		{"huge regex", head + "  - name: a\n    when: key matches 'a{1000}{1000}'\n", []diag{{4, 15, "a", "regexp"}}},
		{"bad glob", head + "  - name: a\n    when: glob('photos/[')\n", []diag{{4, 16, "a", "unclosed ["}}},
		{"bad cidr", head + "  - name: a\n    when: cidr(ip, '10.0.0/8')\n", []diag{{4, 20, "a", "is not a network"}}},
		{"env outside prefix", head + "  - name: a\n    when: env('AWS_SECRET') != ''\n", []diag{{4, 15, "a", "only variables starting with OPAPRULES_"}}},
		{"accepts wildcard", head + "  - name: a\n    when: accepts('image/*')\n", []diag{{4, 19, "a", "want an explicit media type"}}},
		{"template type", head + "  - name: a\n    actions:\n      - deny: {status: '${ key }'}\n", []diag{{5, 28, "a", "deny.status: want integer, but ${ key } is a string"}}},
		{"embedded template into integer", head + "  - name: a\n    actions:\n      - deny: {status: '4${ 1 }3'}\n", []diag{{5, 29, "a", "text around ${ } makes a string"}}},
		{"template syntax", head + "  - name: a\n    actions:\n      - deny: {message: 'x ${ base + }'}\n", []diag{{5, 37, "a", "deny.message: unexpected token EOF"}}},
		{"unclosed template", head + "  - name: a\n    actions:\n      - deny: {message: 'x ${ base'}\n", []diag{{5, 28, "a", "not closed"}}},
		{"template in a list parameter", head + "  - name: a\n    actions:\n      - redirect: {location: /a, allowed_hosts: ['${ key }']}\n", []diag{{5, 9, "a", "is not a host name"}}},
		{"bad limits", "version: 1\nlimits: {max_source_bytes: 10 lightyears}\nrules: []\n", []diag{{2, 28, "", "is not a byte size"}}},
		{"schema-only check", "version: 1\nlimits: {max_frames: 0}\nrules: []\n", []diag{{2, 22, "", "schema: limits.max_frames: minimum"}}},
		{"bad setting", "version: 1\nsettings: {error_cache_control_4xx: \"a\\nb\"}\nrules: []\n", []diag{{2, 11, "", "control character"}}},
		{"on_error", head + "  - name: a\n    on_error: ignore\n    actions: [headers]\n", []diag{{4, 15, "a", "on_error: want fail, skip or fallback"}}},
		{"rule memory budget", head + "  - name: a\n    limits: {memory_budget: 1GiB}\n    actions: [headers]\n", []diag{{4, 13, "a", "memory_budget: is process-wide"}}},
	} {
		t.Run(tc.name, func(t *testing.T) { checkDiags(t, tc.src, tc.want, false) })
	}
}

func TestLoadWarnings(t *testing.T) {
	const head = "version: 1\nrules:\n"
	for _, tc := range []struct {
		name string
		src  string
		want []diag
	}{
		{"after final", head + "  - name: a\n    final: true\n  - name: b\n    actions: [headers]\n",
			[]diag{{5, 5, "b", `rule can never run: rule "a" (line 3) has no condition and is final`}}},
		{"after unconditional deny", head + "  - name: a\n    actions: [deny]\n  - name: b\n    actions: [headers]\n",
			[]diag{{5, 5, "b", "ends with deny"}}},
		{"final in another access point", head + "  - name: a\n    access_points: [x]\n    final: true\n  - name: b\n    access_points: [y]\n    actions: [headers]\n", nil},
		{"final in a wider scope", head + "  - name: a\n    final: true\n  - name: b\n    access_points: [y]\n    actions: [headers]\n",
			[]diag{{5, 5, "b", "rule can never run"}}},
		{"constant false", head + "  - name: a\n    when: 1 > 2\n    actions: [headers]\n", []diag{{4, 11, "a", "condition is always false"}}},
		{"after terminal action", head + "  - name: a\n    when: ext == 'x'\n    actions: [deny, headers, {redirect: {location: /a}}]\n",
			[]diag{{5, 31, "a", "redirect after deny never runs"}}},
		{"no actions", head + "  - name: a\n    when: ext == 'x'\n", []diag{{3, 5, "a", "has no effect"}}},
		// Keys may hold a newline: a key pattern whose . stops at one is
		// a bypass waiting to happen (issue #10, finding 1).
		{"key regexp without (?s)", head + "  - name: a\n    when: key matches '^secret/.*$'\n    actions: [deny]\n",
			[]diag{{4, 23, "a", ". does not match a newline"}}},
		{"key regexp with (?s)", head + "  - name: a\n    when: key matches '(?s)^secret/.*$'\n    actions: [deny]\n", nil},
		{"key regexp without dot", head + "  - name: a\n    when: base matches '^[^/]+[.]jpg$'\n    actions: [deny]\n", nil},
		{"header regexp", head + "  - name: a\n    when: headers.referer matches '^https://.*'\n    actions: [deny]\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) { checkDiags(t, tc.src, tc.want, true) })
	}
}

func TestLoadHostileInput(t *testing.T) {
	deep := strings.Repeat("(1 + ", 5000) + "1" + strings.Repeat(")", 5000) + " > 0"
	notChain := strings.Repeat("!", 5000) + "true"
	bomb := "version: 1\nx: &a [1,1,1,1,1,1,1,1,1,1]\n"
	for i, prev := 0, "a"; i < 8; i++ {
		name := fmt.Sprintf("b%d", i)
		bomb += fmt.Sprintf("%s: &%s [*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s]\n", name, name, prev, prev, prev, prev, prev, prev, prev, prev, prev, prev)
		prev = name
	}
	for _, tc := range []struct {
		name, src, msg string
	}{
		{"5000-deep expression", "version: 1\nrules:\n  - name: a\n    when: '" + deep + "'\n", "when:"},
		{"long negation chain", "version: 1\nrules:\n  - name: a\n    when: '" + notChain + "'\n", "when:"},
		{"huge file", "version: 1\nrules: []\n#" + strings.Repeat("x", MaxFileSize), "over the limit"},
		{"alias bomb", bomb + "rules: []\n", "expands to more than"},
		{"binary junk", "\x00\x01\x02\xff\xfe", "YAML"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan []Diagnostic, 1)
			go func() { _, d := Check("rules.yaml", []byte(tc.src)); done <- d }()
			var diags []Diagnostic
			select {
			case diags = <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("loading did not finish")
			}
			if len(diags) == 0 || !strings.Contains(dump(diags), tc.msg) || diags[0].Line < 1 || diags[0].Column < 1 {
				t.Fatalf("want a positioned error containing %q, got:\n%s", tc.msg, dump(diags))
			}
		})
	}
}

func TestLoadValid(t *testing.T) {
	src := `# yaml-language-server: $schema=schema/rules.schema.json
version: 1
limits: {max_source_bytes: 20MiB, max_source_pixels: 40M, timeout: 10s}
settings: {error_cache_control_4xx: "max-age=30"}
base: &common
  final: false
rules:
  - name: deny-private
    <<: *common
    when: key startsWith "private/"
    actions:
      - deny: {status: 404}
  - name: cache
    when: true
    limits: {max_source_bytes: 80MiB}
    actions:
      - headers: {cache_control: "public, max-age=60"}
`
	_, diags := Check("rules.yaml", []byte(src))
	// The base: key is an anchor holder, which the schema does not know.
	if len(diags) != 1 || !strings.Contains(diags[0].Message, `unknown top-level key "base"`) {
		t.Fatalf("diagnostics:\n%s", dump(diags))
	}
	src = strings.Replace(src, "base: &common\n  final: false\n", "", 1)
	src = strings.Replace(src, "    <<: *common\n", "", 1)
	rs, err := Load("rules.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if rs.Limits.MaxSourceBytes != 20<<20 || rs.Limits.MaxSourcePixels != 40_000_000 || rs.Limits.Timeout != 10*time.Second {
		t.Errorf("limits = %+v", rs.Limits)
	}
	if rs.Limits.MaxFrames == 0 {
		t.Error("defaults were not kept where the file says nothing")
	}
	if rs.Settings.ErrorCacheControl4xx != "max-age=30" || rs.Settings.ErrorCacheControl5xx == "" {
		t.Errorf("settings = %+v", rs.Settings)
	}
	p, err := rs.Evaluate(&Request{Key: "a.jpg"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Limits.MaxSourceBytes != 80<<20 {
		t.Errorf("per-rule limits not applied: %v", p.Limits.MaxSourceBytes)
	}
}

func TestMergeKeys(t *testing.T) {
	src := `version: 1
rules:
  - &thumb
    name: a
    when: ext == "jpg"
    actions: [{headers: {cache_control: "max-age=1"}}]
  - <<: *thumb
    name: b
    when: ext == "png"
`
	rs, err := Load("rules.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	p, err := rs.Evaluate(&Request{Key: "x.png"})
	if err != nil || len(p.Rules) != 1 || p.Rules[0] != "b" || len(p.Steps) != 1 {
		t.Fatalf("plan %+v err %v", p, err)
	}
}
