package rules

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opaprules/opaprules/actions"
)

func mustLoad(t testing.TB, src string) *RuleSet {
	t.Helper()
	rs, err := Load("rules.yaml", []byte("version: 1\nrules:\n"+src))
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func stepNames(p *Plan) []string {
	var names []string
	for _, s := range p.Steps {
		names = append(names, s.Rule+"/"+s.Name)
	}
	return names
}

func TestEvaluateSemantics(t *testing.T) {
	rs := mustLoad(t, `
  - name: cache
    actions: [{headers: {cache_control: "max-age=60"}}]
  - name: private
    access_points: [media, internal-a1b2-opapalias]
    when: key startsWith "private/"
    actions: [{deny: {status: 404}}]
  - name: legacy
    when: key startsWith "old/"
    actions: [{redirect: {location: "/new/${ base }"}}]
  - name: stop-here
    when: key startsWith "static/"
    final: true
  - name: language
    when: '"lang" in query'
    actions: [{headers: {content_language: "${ query.lang }"}}]
  - name: downloads
    when: query.dl == "1"
    actions: [{headers: {content_disposition: attachment, filename: "${ base }"}}]
`)
	for _, tc := range []struct {
		name, key, query, ap, alias string
		rules, steps                []string
		terminal                    bool
	}{
		{name: "every matching rule appends, in file order", key: "a.txt", query: "lang=de&dl=1",
			rules: []string{"cache", "language", "downloads"}, steps: []string{"cache/headers", "language/headers", "downloads/headers"}},
		{name: "final stops evaluation", key: "static/a.txt", query: "lang=de",
			rules: []string{"cache", "stop-here"}, steps: []string{"cache/headers"}},
		{name: "deny replaces the plan but keeps headers", key: "private/a.txt", query: "dl=1", ap: "media",
			rules: []string{"cache", "private"}, steps: []string{"cache/headers", "private/deny"}, terminal: true},
		{name: "access point by full alias", key: "private/a.txt", ap: "internal", alias: "internal-a1b2-opapalias",
			rules: []string{"cache", "private"}, steps: []string{"cache/headers", "private/deny"}, terminal: true},
		{name: "rule outside its access point", key: "private/a.txt", ap: "public",
			rules: []string{"cache"}, steps: []string{"cache/headers"}},
		{name: "access point names are case-sensitive", key: "private/a.txt", ap: "Media",
			rules: []string{"cache"}, steps: []string{"cache/headers"}},
		{name: "redirect", key: "old/a.txt",
			rules: []string{"cache", "legacy"}, steps: []string{"cache/headers", "legacy/redirect"}, terminal: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := rs.Evaluate(&Request{Key: tc.key, RawQuery: tc.query, AccessPoint: tc.ap, AccessPointAlias: tc.alias})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(p.Rules, tc.rules) || !slices.Equal(stepNames(p), tc.steps) || p.Terminal != tc.terminal {
				t.Fatalf("got rules %v steps %v terminal %v\nwant rules %v steps %v terminal %v", p.Rules, stepNames(p), p.Terminal, tc.rules, tc.steps, tc.terminal)
			}
		})
	}
}

func TestTemplates(t *testing.T) {
	rs := mustLoad(t, `
  - name: t
    actions:
      - headers:
          cache_control: "max-age=${ int(query.ttl) * 2 }, x=${ 'a' + 'b' }, literal $${ key }"
          filename: "${ base }"
          content_disposition: "${ query.disp }"
      - deny: {status: "${ query.status }", message: "${ key }"}
`)
	p, err := rs.Evaluate(&Request{Key: "dir/ü x.pdf", RawQuery: "ttl=30&status=404&disp=inline&status=403"})
	if err != nil {
		t.Fatal(err)
	}
	h := p.Steps[0].Action.(*actions.Headers)
	if h.CacheControl != "max-age=60, x=ab, literal ${ key }" || h.Filename != "ü x.pdf" || h.ContentDisposition != "inline" {
		t.Errorf("headers = %+v", h)
	}
	d := p.Steps[1].Action.(*actions.Deny)
	if d.Status != 404 || d.Message != "dir/ü x.pdf" {
		t.Errorf("deny = %+v (the first of repeated query keys must win)", d)
	}
	// A missing value leaves the parameter's default.
	p, err = rs.Evaluate(&Request{Key: "a.pdf", RawQuery: "ttl=1&disp=attachment"})
	if err != nil {
		t.Fatal(err)
	}
	if d := p.Steps[1].Action.(*actions.Deny); d.Status != 403 {
		t.Errorf("status %d, want the default 403", d.Status)
	}
	// The compiled literal is never modified by a request.
	if lit := rs.Rules[0].Steps[1].literal.(*actions.Deny); lit.Status != 403 || lit.Message != "" {
		t.Errorf("literal changed: %+v", lit)
	}
}

func TestRequestTimeErrors(t *testing.T) {
	rs := mustLoad(t, `
  - name: width
    when: int(query.w) > 10
    actions: [headers]
  - name: lenient
    on_error: skip
    when: int(query.h) > 10
    actions: [headers]
  - name: status
    actions: [{deny: {status: "${ query.s }"}}]
`)
	for _, tc := range []struct {
		query, code, msg string
	}{
		{"w=abc", "InvalidArgument", `rule "width": condition failed`},
		{"", "InvalidArgument", `rule "width": condition failed`},
		{"w=20&h=x&s=abc", "InvalidArgument", `rule "status": deny: status: want an integer, got "abc"`},
		{"w=20&h=x&s=500", "InvalidArgument", `rule "status": deny: status: 500 is not one of`},
	} {
		_, err := rs.Evaluate(&Request{Key: "a.jpg", RawQuery: tc.query})
		e, ok := actions.AsError(err)
		if !ok || e.Status != 400 || e.Code != tc.code || !strings.Contains(e.Message, tc.msg) {
			t.Errorf("%q: got %v, want 400 %s containing %q", tc.query, err, tc.code, tc.msg)
		}
		if ok && strings.Contains(e.Message, "\n") {
			t.Errorf("%q: message has several lines: %q", tc.query, e.Message)
		}
	}
	p, trace, err := rs.Explain(&Request{Key: "a.jpg", RawQuery: "w=20&h=x&s=401"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Rules, []string{"width", "status"}) || trace.Rules[1].Skipped != "error" {
		t.Errorf("on_error: skip: rules %v trace %+v", p.Rules, trace.Rules)
	}
}

func TestEnvironment(t *testing.T) {
	t.Setenv("OPAPRULES_TIER", "gold")
	t.Setenv("SECRET_TOKEN", "leak")
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	req := &Request{
		Key:              "photos/2024/Cat.JPG",
		RawQuery:         "w=200&tag=a%20b&w=300&flag",
		Method:           "GET",
		Bucket:           "assets",
		AccessPoint:      "media",
		AccessPointAlias: "media-x1-opapalias",
		IP:               "10.1.2.3",
		Now:              now,
		Header: http.Header{
			"Accept":          {"image/avif;q=0, image/webp, image/*, */*;q=0.8"},
			"Referer":         {"https://shop.example.com/p"},
			"X-Custom-Header": {"v1", "v2"},
		},
		Object: &ObjectMeta{Size: 1234, ContentType: "image/jpeg", ETag: `"e"`, Meta: map[string]string{"owner": "ops"}},
	}
	for _, cond := range []string{
		`key == "photos/2024/Cat.JPG"`,
		`dir == "photos/2024" && base == "Cat.JPG" && ext == "jpg"`,
		`bucket == "assets" && access_point == "media" && method == "GET"`,
		`query.w == "200" && query.tag == "a b" && query.flag == "" && "flag" in query && !("nope" in query)`,
		`query.missing == "" && len(query) == 3`,
		`headers.referer startsWith "https://shop." && headers["X-Custom-Header"] == "v1, v2" && "referer" in headers`,
		`headers.missing == ""`,
		`ip == "10.1.2.3" && cidr(ip, "10.0.0.0/8") && !cidr(ip, "192.168.0.0/16") && !cidr("bad", "10.0.0.0/8")`,
		`now.Year() == 2026`,
		`object.size == 1234 && object.content_type == "image/jpeg" && object.meta.owner == "ops"`,
		`accepts("image/webp") && !accepts("image/avif") && !accepts("image/png") && !accepts("image/jxl")`,
		`glob("photos/**") && glob("photos/*/Cat.JPG") && glob("**/*.JPG") && !glob("photos/*.JPG") && glob("photos/**/Cat.JPG")`,
		`env("OPAPRULES_TIER") == "gold" && env("SECRET" + "_TOKEN") == ""`,
	} {
		t.Run(cond, func(t *testing.T) {
			rs := mustLoad(t, fmt.Sprintf("  - name: r\n    when: '%s'\n    actions: [headers]\n", strings.ReplaceAll(cond, "'", "''")))
			p, err := rs.Evaluate(req)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Rules) != 1 {
				t.Fatal("condition is false")
			}
		})
	}
}

func TestReads(t *testing.T) {
	rs := mustLoad(t, `
  - name: size
    access_points: [a]
    when: object.size > 10
    actions: [headers]
  - name: tpl
    access_points: [b]
    actions: [{headers: {cache_control: "max-age=${ object.size }"}}]
  - name: plain
    access_points: [c]
    when: ext == "jpg"
    actions: [headers]
  - name: picture
    access_points: [d]
    when: image.width > 2000
    actions: [headers]
`)
	for ap, want := range map[string][2]bool{"a": {true, false}, "b": {true, false}, "c": {false, false}, "d": {false, true}} {
		if o, i := rs.Reads(ap, ""); o != want[0] || i != want[1] {
			t.Errorf("Reads(%s) = %v, %v, want %v", ap, o, i, want)
		}
	}
}

func TestExplainFailedCondition(t *testing.T) {
	rs := mustLoad(t, `
  - name: thumbs
    when: ext in ["jpg", "png"] && "w" in query && int(query.w) <= 2048
    actions: [headers]
`)
	for q, want := range map[string]string{
		"":       `"w" in query`,
		"w=4096": "int(query.w) <= 2048",
	} {
		_, trace, err := rs.Explain(&Request{Key: "a.jpg", RawQuery: q})
		if err != nil {
			t.Fatal(err)
		}
		if got := trace.Rules[0].FailedCondition; got != want {
			t.Errorf("%q: failed condition %q, want %q", q, got, want)
		}
	}
}

// The native pre-check must never change what a request gets: for random
// requests against the benchmark fixture, Evaluate (with guards) and
// Explain (without) give the same plan or the same error.
func TestGuardsAreInvisible(t *testing.T) {
	rs, err := LoadFile("testdata/bench100.yaml")
	if err != nil {
		t.Fatal(err)
	}
	guarded := 0
	for _, r := range rs.Rules {
		if r.guard != nil {
			guarded++
		}
	}
	if guarded < 80 {
		t.Fatalf("only %d of 100 rules have a guard", guarded)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	for range 3000 {
		tenant := pick("shop", "img", "blog", "zzz", "")
		req := &Request{
			Key:         tenant + pick("/photos/a.", "/private/x.", "/thumbs/q/r.", "/exports/e.", "/originals/o.", "photos/") + pick("jpg", "png", "json", "JPG", ""),
			RawQuery:    pick("", "w=10", "w=abc", "download=1", "w=5&download=1", "fmt=webp", "h=7&nowm=1"),
			AccessPoint: pick("", tenant+"-partners", "other"),
			IP:          pick("10.0.0.1", "8.8.8.8", ""),
			Header: http.Header{
				"Referer": {pick("", "https://"+tenant+".example.com/x", "https://evil.example/")},
				"Accept":  {pick("application/json", "*/*", "image/webp,*/*")},
			},
		}
		p1, err1 := rs.Evaluate(req)
		p2, _, err2 := rs.Explain(req)
		if fmt.Sprint(err1) != fmt.Sprint(err2) {
			t.Fatalf("%+v: errors differ: %v vs %v", req, err1, err2)
		}
		if err1 == nil && (!slices.Equal(p1.Rules, p2.Rules) || !reflect.DeepEqual(stepNames(p1), stepNames(p2))) {
			t.Fatalf("%+v: plans differ: %v vs %v", req, p1.Rules, p2.Rules)
		}
	}
}

func TestConcurrentEvaluate(t *testing.T) {
	rs, err := LoadFile("testdata/bench100.yaml")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	for g := range 8 {
		go func() {
			for i := range 200 {
				tenant := []string{"shop", "img", "blog", "app"}[(g+i)%4]
				want := tenant + "-thumbnails"
				p, err := rs.Evaluate(&Request{Key: tenant + "/photos/a.png", RawQuery: fmt.Sprintf("w=%d", i+1)})
				if err != nil {
					done <- err
					return
				}
				if len(p.Rules) != 1 || p.Rules[0] != want {
					done <- fmt.Errorf("goroutine %d: rules %v, want %s", g, p.Rules, want)
					return
				}
				if w := p.Steps[0].Action.(*actions.Resize).Width; w != i+1 {
					done <- fmt.Errorf("cross-talk between requests: width %d for w=%d", w, i+1)
					return
				}
			}
			done <- nil
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// Vary names every header a rule that applies reads, whether or not it
// matched: a rule that did not match because of a header depends on it too.
func TestVary(t *testing.T) {
	rs := mustLoad(t, `
  - name: hotlink
    access_points: [a, b]
    when: headers.referer != "" && !(headers["Referer"] startsWith "https://shop/")
    actions: [deny]
  - name: modern
    access_points: [a]
    when: accepts("image/webp") && "x-tenant" in headers
    actions: [headers]
  - name: by-ip
    access_points: [c]
    when: cidr(ip, "10.0.0.0/8")
    actions: [deny]
  - name: template
    access_points: [d]
    actions: [{headers: {cache_control: "${ headers['x-cache'] }"}}]
  - name: whole-map
    access_points: [e]
    when: len(headers) > 3
    actions: [deny]
  - name: computed
    access_points: [f]
    when: headers[query.h] == "1"
    actions: [deny]
`)
	for ap, want := range map[string][]string{
		"a": {"Accept", "Referer", "X-Tenant"},
		"b": {"Referer"},
		"c": {"X-Forwarded-For", "X-Real-Ip"},
		"d": {"X-Cache"},
		"e": {"*"},
		"f": {"*"},
		"g": nil,
	} {
		if got := rs.Vary(ap, ""); !slices.Equal(got, want) {
			t.Errorf("Vary(%s) = %q, want %q", ap, got, want)
		}
	}
}
