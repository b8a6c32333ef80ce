package actions

import (
	"context"
	"strings"
	"testing"
)

func TestRedirectValidate(t *testing.T) {
	allowed := []string{"cdn.example.com", "*.img.example.com"}
	for _, tc := range []struct {
		location string
		want     string // error substring, "" when allowed
	}{
		{"/thumbs/a.jpg", ""},
		{"thumbs/a.jpg?w=200", ""},
		{"https://cdn.example.com/a.jpg", ""},
		{"https://CDN.example.com:8443/a.jpg", ""},
		{"https://x.img.example.com/a.jpg", ""},
		{"https://img.example.com/a.jpg", "not in allowed_hosts"},
		{"https://evil.example/a.jpg", "not in allowed_hosts"},
		{"//evil.example/a.jpg", "path or an http(s) URL"},
		{`/\evil.example/a.jpg`, "backslash"},
		{"https://cdn.example.com.evil.example/", "not in allowed_hosts"},
		{"https://cdn.example.com@evil.example/", "not in allowed_hosts"},
		{"javascript:alert(1)", "path or an http(s) URL"},
		{"/a\r\nSet-Cookie: x=y", "control character"},
		{"", "empty"},
	} {
		r := Redirect{Status: 302, Location: tc.location, AllowedHosts: allowed}
		err := r.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q: unexpected error %v", tc.location, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%q: error %v, want one containing %q", tc.location, err, tc.want)
		}
	}
	if err := (&Redirect{Status: 307, Location: "/a"}).Validate(); err == nil {
		t.Error("status 307 accepted")
	}
}

func TestRedirectApply(t *testing.T) {
	obj := NewObject(nil, strings.NewReader("origin bytes"), 12, nil, DefaultLimits())
	if err := (&Redirect{Status: 301, Location: "/b.jpg"}).Apply(context.Background(), obj); err != nil {
		t.Fatal(err)
	}
	r, n, err := obj.Result(context.Background())
	if err != nil || n != 0 || obj.Status != 301 || obj.Header.Get("Location") != "/b.jpg" {
		t.Fatalf("got status %d location %q length %d err %v", obj.Status, obj.Header.Get("Location"), n, err)
	}
	_ = r
}
