package rules

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/opaprules/opaprules/actions"
)

// Issue #10, finding 10: /thumbs/a%20b%3Fx%23y.jpg redirected to
// Location: /photos/a b?x#y.jpg?w=320, the key's ? and # becoming a query
// and a fragment, and U+202E going out raw. A value interpolated into a
// redirect location is escaped for where it lands.
func TestRedirectTemplateEscaping(t *testing.T) {
	rs := mustLoad(t, `version: 1
rules:
  - name: legacy
    when: glob("thumbs/**")
    actions:
      - redirect: {status: 301, location: "/photos/${ base }?w=320&from=${ key }#${ base }"}
  - name: nested
    when: glob("old/**")
    actions:
      - redirect: {location: "/new/${ key }"}
  - name: whole
    when: glob("whole/**")
    actions:
      - redirect: {location: "${ '/w/' + base }"}
  - name: root
    when: key startsWith "/"
    actions:
      - redirect: {location: "/${ key }"}
  - name: query
    when: glob("q/**")
    actions:
      - redirect: {location: "/search?w=${ query.w }"}
`)
	for _, tc := range []struct {
		path, want string
	}{
		{"/thumbs/a%20b%3Fx%23y%25z.jpg", "/photos/a%20b%3Fx%23y%25z.jpg?w=320&from=thumbs%2Fa+b%3Fx%23y%25z.jpg#a%20b%3Fx%23y%25z.jpg"},
		{"/thumbs/%E2%80%AEgpj.exe", "/photos/%E2%80%AEgpj.exe?w=320&from=thumbs%2F%E2%80%AEgpj.exe#%E2%80%AEgpj.exe"},
		{"/thumbs/cat.jpg", "/photos/cat.jpg?w=320&from=thumbs%2Fcat.jpg#cat.jpg"},
		// A key's / keeps its meaning in the path; its .. stays a segment
		// of this endpoint.
		{"/old/a/b%20c/../d%3F.jpg", "/new/old/a/b%20c/../d%3F.jpg"},
		{"/old/%2F%2Fevil.example", "/new/old///evil.example"}, // a path of this endpoint
		// Inside one ${ } there is no telling a path from a query: what
		// cannot stand in a URI is still encoded.
		{"/whole/a%20b%E2%80%AE.jpg", "/w/a%20b%E2%80%AE.jpg"},
		{"/q/x?w=1%26admin%3D1", "/search?w=1%26admin%3D1"},
	} {
		u, err := url.Parse(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		req := &Request{Key: u.Path[1:], RawQuery: u.RawQuery}
		plan, err := rs.Evaluate(req)
		if err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		obj := actions.NewObject(&actions.Request{Key: req.Key, Header: http.Header{}}, nil, 0, nil, plan.Limits)
		if err := plan.Steps[len(plan.Steps)-1].Action.Apply(context.Background(), obj); err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		if got := obj.Header.Get("Location"); got != tc.want {
			t.Errorf("%s: Location %q\n want %q", tc.path, got, tc.want)
		}
	}
	// A key that would make the location //host (an open redirect) is
	// still refused per request.
	if _, err := rs.Evaluate(&Request{Key: "/evil.example/x"}); err == nil {
		t.Error("a location of //evil.example/x was accepted")
	}
}

// FuzzEscapeURLPart: an interpolated value never adds a query, a fragment
// or a character a URI cannot hold, and decodes back to itself.
func FuzzEscapeURLPart(f *testing.F) {
	for _, s := range []string{"a b?x#y%z.jpg", "\u202egpj.exe", "a/b/../c", "%", "?&=#", "\x00\n"} {
		f.Add("/photos/", s)
		f.Add("/search?q=", s)
	}
	f.Fuzz(func(t *testing.T, before, value string) {
		got := escapeURLPart(before, value)
		for i := 0; i < len(got); i++ {
			if c := got[i]; c <= ' ' || c >= 0x7f || c == '#' || (c == '?' && !strings.ContainsAny(before, "?#")) {
				t.Fatalf("escapeURLPart(%q, %q) = %q: %q unescaped", before, value, got, c)
			}
		}
		var back string
		var err error
		switch {
		case strings.ContainsRune(before, '#'):
			back, err = url.PathUnescape(got)
		case strings.ContainsRune(before, '?'):
			back, err = url.QueryUnescape(got)
		default:
			back, err = url.PathUnescape(got)
		}
		if err != nil || back != value {
			t.Fatalf("escapeURLPart(%q, %q) = %q, which decodes to %q (%v)", before, value, got, back, err)
		}
	})
}
