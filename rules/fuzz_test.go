package rules

import (
	"os"
	"strings"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to the loader: it must report problems as
// positioned diagnostics, never panic, and a file it accepts must evaluate.
func FuzzLoad(f *testing.F) {
	// Small seeds only: mutating a 100-rule file costs tens of milliseconds
	// an execution and the fuzzer spends its time minimising.
	for _, path := range []string{"../rules.yaml"} {
		if b, err := os.ReadFile(path); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		"",
		"version: 1\nrules: []\n",
		"version: 1\nrules:\n  - name: a\n    when: ext == 'jpg' && int(query.w) > 1\n    actions: [{headers: {cache_control: 'max-age=${ query.w }'}}]\n",
		"version: 1\nrules:\n  - name: a\n    when: |\n      key matches '(['\n",
		"version: 1\nrules:\n  - &a {name: a, actions: [deny]}\n  - *a\n",
		"version: 1\nrules:\n  - name: a\n    actions:\n      - deny: {message: '${ $${ } ${'}\n",
		"version: 1\nlimits: {max_source_bytes: 1e400}\nrules: [{name: x, final: true}]\n",
		"version: 1\nrules:\n  - name: \"\\u00e9\"\n    when: \"\\\"\\u00e9\\\" == key &&\"\n",
		"{version: 1, rules: [{name: a, when: '1 +', actions: [[deny]]}]}",
		"version: 1\nrules:\n\t- name: a\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, diags := Check("fuzz.yaml", data)
		for _, d := range diags {
			if d.Line < 1 || d.Column < 1 || d.File != "fuzz.yaml" || d.Message == "" {
				t.Fatalf("badly positioned diagnostic: %+v", d)
			}
			if strings.Contains(d.Message, "\n") && !strings.HasPrefix(d.Message, "schema") {
				t.Fatalf("multi-line message: %q", d.Message)
			}
		}
		if rs == nil {
			return
		}
		for _, key := range []string{"a.jpg", "photos/x/y.png", ""} {
			_, _, _ = rs.Explain(&Request{Key: key, RawQuery: "w=1&h=x"})
		}
	})
}
