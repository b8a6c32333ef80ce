package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// What a new user tripped on (issue #10).

// Every flag the help shows for a command is one the command takes: help
// listed `test [-v]`, and `test -v` exited 2.
func TestNewUserHelpFlagsExist(t *testing.T) {
	flag := regexp.MustCompile(`(?:^|[\s\[])(--?[a-z][a-z-]*)`)
	for _, c := range commands {
		var stderr bytes.Buffer
		Main(&Env{Stdout: &bytes.Buffer{}, Stderr: &stderr, Getenv: os.Getenv}, []string{c.name, "-h"})
		defined := stderr.String()
		for _, m := range flag.FindAllStringSubmatch(c.args, -1) {
			name := strings.TrimLeft(m[1], "-")
			if !regexp.MustCompile(`(?m)^\s+-` + regexp.QuoteMeta(name) + `\b`).MatchString(defined) {
				t.Errorf("help shows `%s %s`, but %s has no flag -%s:\n%s", c.name, c.args, c.name, name, defined)
			}
		}
	}
}

// sign --key-env PATH signed with a variable signed() cannot read.
func TestNewUserSignKeyEnv(t *testing.T) {
	code, _, stderr := run(t, "", "sign", "--key-env", "PATH", "photos/a.jpg")
	if code != ExitUsage || !strings.Contains(stderr, "OPAPRULES_") {
		t.Errorf("sign --key-env PATH: exit %d, %q; want 2 naming OPAPRULES_", code, stderr)
	}
	t.Setenv("OPAPRULES_TEST_SIGN_KEY", "k")
	if code, stdout, stderr := run(t, "", "sign", "--key-env", "OPAPRULES_TEST_SIGN_KEY", "photos/a.jpg"); code != ExitOK || !strings.Contains(stdout, "sig=") {
		t.Errorf("sign with an OPAPRULES_ key: exit %d, %q %q", code, stdout, stderr)
	}
	// The rules refuse such a name too, at load.
	dir := t.TempDir()
	p := write(t, dir, "rules.yaml", "version: 1\nrules:\n  - name: s\n    when: '!signed(\"PATH\")'\n    actions: [deny]\n")
	if code, stdout, _ := run(t, "", "validate", p); code != ExitFail || !strings.Contains(stdout, "starting with OPAPRULES_") {
		t.Errorf("signed(\"PATH\"): exit %d, %q", code, stdout)
	}
}

// Signed originals through serve need the key in serve's environment;
// without it every signed URL is a 403, so serve says so when it starts.
func TestNewUserServeSignedKeyNote(t *testing.T) {
	const rules = `version: 1
rules:
  - name: signed-originals
    when: key startsWith "originals/" && !signed("OPAPRULES_TEST_UNSET_URL_KEY")
    actions: [deny]
`
	s := startServe(t, rules, nil, map[string]string{"OPAPRULES_TEST_UNSET_URL_KEY": ""})
	if !strings.Contains(s.stderr.String(), `signed("OPAPRULES_TEST_UNSET_URL_KEY")`) || !strings.Contains(s.stderr.String(), "OPAPRULES_TEST_UNSET_URL_KEY is not set") {
		t.Errorf("no note about the unset key:\n%s", s.stderr.String())
	}
	set := startServe(t, rules, nil, map[string]string{"OPAPRULES_TEST_UNSET_URL_KEY": "k"})
	if strings.Contains(set.stderr.String(), "is not set") {
		t.Errorf("a note although the key is set:\n%s", set.stderr.String())
	}
}

// A rule test with `status: 999` or `ip: bogus` was accepted.
func TestNewUserRuleTestValues(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "rules.yaml", "version: 1\nrules:\n  - name: a\n    when: cidr(ip, '10.0.0.0/8')\n    actions: [deny]\n")
	bad := write(t, dir, "status.yaml", "tests:\n  - name: x\n    request: {key: a.txt}\n    expect: {status: 999}\n")
	if code, stdout, _ := run(t, "", "test", bad); code != ExitFail || !strings.Contains(stdout, "999") {
		t.Errorf("status 999: exit %d, %q", code, stdout)
	}
	ip := write(t, dir, "ip.yaml", "tests:\n  - name: x\n    request: {key: a.txt, ip: bogus}\n    expect: {status: 200}\n")
	if code, stdout, _ := run(t, "", "test", ip); code != ExitFail || !strings.Contains(stdout, `ip "bogus" is not an IP address`) {
		t.Errorf("ip bogus: exit %d, %q", code, stdout)
	}
	good := write(t, dir, "good.yaml", "tests:\n  - name: x\n    request: {key: a.txt, ip: \"::ffff:10.1.2.3\"}\n    expect: {status: 403}\n")
	if code, stdout, _ := run(t, "", "test", filepath.Clean(good)); code != ExitOK {
		t.Errorf("a mapped IPv4 address: exit %d, %q", code, stdout)
	}
}
