package main

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/opaprules/opaprules/cli"
	"github.com/opaprules/opaprules/rules"
)

// The examples of the README and docs/ must run (issue #10: the README's
// rules_test.yaml expected two rules where the shipped rules match four).
// Every YAML example is loaded: a rule test runs against the shipped
// rules.yaml, a rules file or fragment must load without errors. Every
// command line of the CLI in a sh example runs from the repository's top
// and must succeed.
func TestDocsExamples(t *testing.T) {
	files, _ := filepath.Glob("docs/*.md")
	files = append([]string{"README.md"}, files...)
	shipped, err := os.ReadFile("rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile("(?s)```(yaml|sh)\n(.*?)```")
	n := 0
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range block.FindAllStringSubmatch(string(src), -1) {
			lang, body := m[1], m[2]
			line := strings.Count(string(src[:strings.Index(string(src), m[0])]), "\n") + 1
			name := file + ":" + strconv.Itoa(line)
			switch lang {
			case "yaml":
				n++
				t.Run(name, func(t *testing.T) { checkYAMLExample(t, body, shipped) })
			case "sh":
				for _, cmd := range cliLines(body) {
					n++
					t.Run(name+" "+strings.Join(cmd, " "), func(t *testing.T) { runCLIExample(t, cmd) })
				}
			}
		}
	}
	if n < 5 {
		t.Fatalf("found only %d examples: did the docs move?", n)
	}
}

func checkYAMLExample(t *testing.T, body string, shipped []byte) {
	if strings.Contains(body, "...") {
		t.Skip("a syntax sketch with placeholders")
	}
	dir := t.TempDir()
	if strings.Contains(body, "\ntests:") || strings.HasPrefix(body, "tests:") {
		os.WriteFile(filepath.Join(dir, "rules.yaml"), shipped, 0o644)
		os.WriteFile(filepath.Join(dir, "rules_test.yaml"), []byte(body), 0o644)
		var out bytes.Buffer
		if code := cli.Main(&cli.Env{Stdout: &out, Stderr: &out, Getenv: os.Getenv}, []string{"test", filepath.Join(dir, "rules_test.yaml")}); code != 0 {
			t.Fatalf("the rule test example fails against the shipped rules.yaml:\n%s\n%s", body, out.String())
		}
		return
	}
	doc := body
	switch {
	case strings.HasPrefix(strings.TrimSpace(body), "- name:"):
		doc = "version: 1\nrules:\n" + indent(body)
	case !strings.Contains(body, "version:"):
		doc = "version: 1\n" + body
		if !strings.Contains(body, "\nrules:") && !strings.HasPrefix(body, "rules:") {
			doc += "\nrules: []\n"
		}
	}
	// Examples name a fonts folder next to the rules.
	t.Chdir(dir)
	os.Mkdir("fonts", 0o755)
	if _, diags := rules.Check("example.yaml", []byte(doc)); hasError(diags) {
		t.Fatalf("the example does not load:\n%s\n%v", doc, diags)
	}
}

func hasError(diags []rules.Diagnostic) bool {
	for _, d := range diags {
		if d.Severity == rules.Error {
			return true
		}
	}
	return false
}

func indent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = "  " + l
	}
	return strings.Join(lines, "\n") + "\n"
}

// cliLines returns the opaprules command lines of a sh example (joined
// across backslash continuations, comments dropped) as argument lists,
// without the program name; serve, which does not return, is left out.
func cliLines(body string) [][]string {
	var out [][]string
	joined := strings.ReplaceAll(body, "\\\n", " ")
	for _, line := range strings.Split(joined, "\n") {
		args := shellWords(line)
		if len(args) < 2 || (args[0] != "opaprules" && args[0] != "./opaprules") {
			continue
		}
		if args[1] == "serve" || args[1] == "fc-server" {
			continue
		}
		out = append(out, args[1:])
	}
	return out
}

// shellWords splits a line as sh would for these examples: single and
// double quotes, and a # starting a comment outside quotes.
func shellWords(line string) []string {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote byte
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				cur.WriteByte(c)
			}
		case c == '\'' || c == '"':
			quote, inWord = c, true
		case c == '#' && !inWord:
			i = len(line)
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

func runCLIExample(t *testing.T, args []string) {
	samples, err := fs.Sub(samplesFS, "samples")
	if err != nil {
		t.Fatal(err)
	}
	// Outputs go to a temporary folder, not where the example says.
	for i, a := range args {
		if strings.HasPrefix(a, "/tmp/") {
			args[i] = filepath.Join(t.TempDir(), filepath.Base(a))
		}
	}
	var out bytes.Buffer
	env := &cli.Env{Stdout: &out, Stderr: &out, DefaultRules: rulesYAML, Samples: samples, Getenv: func(k string) string {
		if k == "OPAPRULES_URL_KEY" {
			return "a-key-for-the-docs-examples"
		}
		return os.Getenv(k)
	}}
	if code := cli.Main(env, args); code != 0 {
		t.Fatalf("opaprules %s: exit %d\n%s", strings.Join(args, " "), code, out.String())
	}
}

// The access point policy docs/security.md shows (finding 4 of issue #10)
// denies oss:GetObject, which OSS checks for HeadObject too, on the keys
// the shipped private-prefix rule denies, through an Object FC Access Point.
func TestDeployPolicies(t *testing.T) {
	var policy struct {
		Version   string
		Statement []struct {
			Effect    string
			Action    []string
			Principal []string
			Resource  []string
		}
	}
	b, err := os.ReadFile("deploy/opap-policy.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &policy); err != nil {
		t.Fatalf("deploy/opap-policy.json: %v", err)
	}
	if policy.Version != "1" || len(policy.Statement) != 1 {
		t.Fatalf("policy %+v", policy)
	}
	st := policy.Statement[0]
	res := regexp.MustCompile(`^acs:oss:[a-z0-9-]+:[0-9x]+:accesspointforobjectprocess/[a-z0-9-]+/object/private/\*$`)
	if st.Effect != "Deny" || len(st.Action) != 1 || st.Action[0] != "oss:GetObject" || len(st.Resource) != 1 || !res.MatchString(st.Resource[0]) {
		t.Errorf("statement %+v: want Deny oss:GetObject on an Object FC Access Point's private/*", st)
	}
	shipped, _ := os.ReadFile("rules.yaml")
	if !strings.Contains(string(shipped), `key startsWith "private/"`) {
		t.Error("the shipped rules no longer deny private/: update deploy/opap-policy.json with them")
	}
}
