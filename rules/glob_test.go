package rules

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// Keys may hold any character OSS accepts: newlines, carriage returns,
// tabs, control characters and non-ASCII text. Every matcher that sees a
// key must treat them as ordinary characters (issue #10, finding 1: a
// `glob("secret/**")` deny let `secret/a%0Ab.txt` through).
func TestGlobOddCharacters(t *testing.T) {
	odd := []string{"\n", "\r", "\r\n", "\t", "\x00", "\x7f", "é", "日本", "\u202e", "\U0001F600", " ", "%0A"}
	for _, c := range odd {
		for _, tc := range []struct {
			pattern, key string
			want         bool
		}{
			{"secret/**", "secret/a" + c + "b.txt", true},
			{"secret/**", "secret/" + c, true},
			{"secret/**", "secret/" + c + "/deeper/x", true},
			{"secret/*", "secret/a" + c + "b.txt", true},
			{"secret/*", "secret/" + c + "/x", false},
			{"secret/**/*.txt", "secret/" + c + "/x.txt", true},
			{"**/*.txt", c + "/x.txt", true},
			{"**", c, true},
			{"*", c, true},
			{"?", c, utf8.RuneCountInString(c) == 1},
			{"[!/]", c, utf8.RuneCountInString(c) == 1},
			{"secret/?b.txt", "secret/" + c + "b.txt", utf8.RuneCountInString(c) == 1},
			{"*.jpg", "a" + c + ".jpg", true},
			{"photos/" + c + "/*", "photos/" + c + "/x", !strings.ContainsAny(c, "*?[\\")},
		} {
			got, err := globMatch(tc.pattern, tc.key)
			if err != nil {
				t.Fatalf("glob(%q): %v", tc.pattern, err)
			}
			if got != tc.want {
				t.Errorf("glob(%q) on %q = %v, want %v", tc.pattern, tc.key, got, tc.want)
			}
			if ref, ok := refGlob(tc.pattern, tc.key); !ok || ref != got {
				t.Errorf("reference glob(%q) on %q = %v (ok %v), compiled = %v", tc.pattern, tc.key, ref, ok, got)
			}
		}
	}
}

func TestGlobClasses(t *testing.T) {
	for _, tc := range []struct {
		pattern, key string
		want         bool
	}{
		{"a[bc]d", "abd", true},
		{"a[bc]d", "aed", false},
		{"a[!bc]d", "aed", true},
		{"a[!bc]d", "abd", false},
		{"a[!bc]d", "a/d", false}, // a class is one character of a segment
		{"a[!x]d", "a\nd", true},
		{"[a-c]", "b", true},
		{"[é]", "é", true},
		{`\é`, "é", true},
		{`a\*`, "a*", true},
		{`a\*`, "ab", false},
		{"x[-a]", "x-", true},
	} {
		got, err := globMatch(tc.pattern, tc.key)
		if err != nil {
			t.Fatalf("glob(%q): %v", tc.pattern, err)
		}
		if got != tc.want {
			t.Errorf("glob(%q) on %q = %v, want %v", tc.pattern, tc.key, got, tc.want)
		}
	}
	for _, bad := range []string{"a[/]", "a[.-0]", "a[", "a[]", "a[!]", `a\`, "a[z-a]"} {
		if _, err := compileGlob(bad); err == nil {
			t.Errorf("glob(%q) compiled; want an error", bad)
		}
	}
}

// The native pre-check (guard) skips a rule whose key lacks the glob's
// literal prefix: it must never skip a key the glob matches.
func TestGlobGuardOddKeys(t *testing.T) {
	rs := mustLoad(t, `version: 1
rules:
  - name: secret
    when: glob("secret/**") || key startsWith "private/"
    actions: [deny]
`)
	for _, key := range []string{"secret/a\nb.txt", "secret/\r", "secret/\x00", "private/\n", "private/é", "secret/\u202e"} {
		plan, err := rs.Evaluate(&Request{Key: key})
		if err != nil {
			t.Fatal(err)
		}
		if len(plan.Rules) != 1 {
			t.Errorf("key %q: rules %v, want [secret]", key, plan.Rules)
		}
	}
}

// FuzzGlob checks the compiled glob against refGlob, a direct reading of
// the documented syntax, and the guard's literal prefix against both.
func FuzzGlob(f *testing.F) {
	for _, s := range [][2]string{
		{"secret/**", "secret/a\nb.txt"},
		{"secret/**/*.txt", "secret/\r/x.txt"},
		{"**/", "a/b/"},
		{"*.jpg", "a\x00.jpg"},
		{"a[!/b]?", "a\tc"},
		{"[a-c]*", "b\n"},
		{`\**`, "*\n/x"},
		{"***", "ab/c"},
		{"x**/y", "x/y"},
		{"?", "é"},
		{"?", "\xff"},
		{"[--a]", "-"},
		{"a[b-c-d]", "a-"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, key string) {
		if len(pattern) > 64 || len(key) > 256 {
			return
		}
		re, err := compileGlob(pattern)
		want, ok := refGlob(pattern, key)
		if err != nil {
			// Refused at load; the reference may still read it, but RE2
			// refuses some classes (z-a) and invalid UTF-8.
			return
		}
		if !ok {
			t.Fatalf("glob %q compiled but the reference cannot read it", pattern)
		}
		if got := re.MatchString(key); got != want {
			t.Fatalf("glob(%q) on %q: compiled %v, reference %v (regexp %s)", pattern, key, got, want, re)
		}
		if want && !strings.HasPrefix(key, globPrefix(pattern)) {
			t.Fatalf("glob(%q) matches %q, but the guard's prefix %q would skip it", pattern, key, globPrefix(pattern))
		}
	})
}

// refGlob matches key against pattern by the documented rules, with a
// memoised backtracking search over characters (not bytes: an invalid
// UTF-8 byte is one character, as in RE2). ok is false for a pattern the
// syntax does not allow.
func refGlob(pattern, key string) (match, ok bool) {
	toks, ok := refTokens(pattern)
	if !ok {
		return false, false
	}
	type state struct{ t, k int }
	memo := map[state]bool{}
	var m func(ti, ki int) bool
	m = func(ti, ki int) bool {
		st := state{ti, ki}
		if v, seen := memo[st]; seen {
			return v
		}
		res := false
		defer func() { memo[st] = res }()
		if ti == len(toks) {
			res = ki == len(key)
			return res
		}
		tok := toks[ti]
		switch tok.kind {
		case tokAnyDirs: // **/: nothing, or anything ending in /
			if m(ti+1, ki) {
				res = true
				return res
			}
			for j := ki; j < len(key); {
				_, size := utf8.DecodeRuneInString(key[j:])
				j += size
				if key[j-size] == '/' && size == 1 && m(ti+1, j) {
					res = true
					return res
				}
			}
		case tokAny, tokSegment: // ** and *
			for j := ki; ; {
				if m(ti+1, j) {
					res = true
					return res
				}
				if j == len(key) {
					return res
				}
				r, size := utf8.DecodeRuneInString(key[j:])
				if tok.kind == tokSegment && r == '/' {
					return res
				}
				j += size
			}
		default: // one character
			if ki == len(key) {
				return res
			}
			r, size := utf8.DecodeRuneInString(key[ki:])
			if tok.matches(r) {
				res = m(ti+1, ki+size)
			}
		}
		return res
	}
	return m(0, 0), true
}

type refKind int

const (
	tokLiteral refKind = iota
	tokOne             // ?
	tokClass
	tokSegment // *
	tokAny     // **
	tokAnyDirs // **/
)

type refToken struct {
	kind    refKind
	lit     rune
	negated bool
	ranges  [][2]rune
}

func (t refToken) matches(r rune) bool {
	switch t.kind {
	case tokLiteral:
		return r == t.lit
	case tokOne:
		return r != '/'
	case tokClass:
		if r == '/' {
			return false
		}
		in := false
		for _, rg := range t.ranges {
			if rg[0] <= r && r <= rg[1] {
				in = true
			}
		}
		return in != t.negated
	}
	return false
}

func refTokens(p string) ([]refToken, bool) {
	var toks []refToken
	for i := 0; i < len(p); {
		switch {
		case strings.HasPrefix(p[i:], "**/"):
			toks = append(toks, refToken{kind: tokAnyDirs})
			i += 3
		case strings.HasPrefix(p[i:], "**"):
			toks = append(toks, refToken{kind: tokAny})
			i += 2
		case p[i] == '*':
			toks = append(toks, refToken{kind: tokSegment})
			i++
		case p[i] == '?':
			toks = append(toks, refToken{kind: tokOne})
			i++
		case p[i] == '\\':
			if i+1 == len(p) {
				return nil, false
			}
			r, size := utf8.DecodeRuneInString(p[i+1:])
			toks = append(toks, refToken{kind: tokLiteral, lit: r})
			i += 1 + size
		case p[i] == '[':
			end := strings.IndexByte(p[i+1:], ']')
			if end < 0 {
				return nil, false
			}
			class := []rune(p[i+1 : i+1+end])
			tok := refToken{kind: tokClass}
			if len(class) > 0 && class[0] == '!' {
				tok.negated = true
				class = class[1:]
			}
			if len(class) == 0 {
				return nil, false
			}
			for j := 0; j < len(class); j++ {
				lo, hi := class[j], class[j]
				if j+2 < len(class) && class[j+1] == '-' {
					hi = class[j+2]
					j += 2
				}
				tok.ranges = append(tok.ranges, [2]rune{lo, hi})
			}
			toks = append(toks, tok)
			i += end + 2
		default:
			r, size := utf8.DecodeRuneInString(p[i:])
			toks = append(toks, refToken{kind: tokLiteral, lit: r})
			i += size
		}
	}
	return toks, true
}
