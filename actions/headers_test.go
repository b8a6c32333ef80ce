package actions

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

func TestHeadersApply(t *testing.T) {
	h := &Headers{
		CacheControl:       "public, max-age=60",
		ContentDisposition: "attachment",
		Filename:           "报告 2024.pdf",
		ContentLanguage:    "zh-CN",
		Set:                map[string]string{"expires": "Wed, 21 Oct 2015 07:28:00 GMT"},
	}
	if err := h.Validate(); err != nil {
		t.Fatal(err)
	}
	obj := NewObject(nil, nil, 0, http.Header{"Content-Type": {"application/pdf"}}, DefaultLimits())
	if err := h.Apply(context.Background(), obj); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"Cache-Control":       "public, max-age=60",
		"Content-Disposition": `attachment; filename="__ 2024.pdf"; filename*=UTF-8''%E6%8A%A5%E5%91%8A%202024.pdf`,
		"Content-Language":    "zh-CN",
		"Content-Type":        "application/pdf",
		"Expires":             "Wed, 21 Oct 2015 07:28:00 GMT",
	}
	for k, v := range want {
		if got := obj.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

func TestContentDispositionASCII(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"a.jpg", `inline; filename="a.jpg"`},
		{`a"b.jpg`, `inline; filename="a_b.jpg"; filename*=UTF-8''a%22b.jpg`},
		{"", `inline`},
	} {
		if got := ContentDisposition("inline", tc.name); got != tc.want {
			t.Errorf("ContentDisposition(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestHeadersValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    Headers
		want string // substring of the error; "" for valid
	}{
		{"ok", Headers{CacheControl: "no-cache"}, ""},
		{"crlf", Headers{CacheControl: "x\r\nSet-Cookie: a=b"}, "control character"},
		{"nul in filename", Headers{ContentDisposition: "inline", Filename: "a\x00b"}, "control character"},
		{"bad media type", Headers{ContentType: "not a type"}, "not a media type"},
		{"filename without disposition", Headers{Filename: "a.txt"}, "needs content_disposition"},
		{"path in filename", Headers{ContentDisposition: "inline", Filename: "../a.txt"}, "path separator"},
		{"x-oss", Headers{Set: map[string]string{"x-oss-meta-a": "1"}}, "belong to OSS"},
		{"hop-by-hop", Headers{Set: map[string]string{"Connection": "close"}}, "hop-by-hop"},
		{"not forwarded", Headers{Set: map[string]string{"X-Frame-Options": "DENY"}}, "not forwarded"},
		{"derived", Headers{Set: map[string]string{"ETag": `"x"`}}, "follows from the response bytes"},
		{"value ctl", Headers{Set: map[string]string{"Cache-Control": "a\nb"}}, "control character"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.h.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
