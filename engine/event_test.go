package engine

import (
	"errors"
	"strings"
	"testing"
)

func TestDecodeEvent(t *testing.T) {
	const route = `"getObjectContext":{"outputRoute":"fc-ap.oss-cn-hangzhou.oss-object-process.aliyuncs.com","outputToken":"OSSV1#a+b/c=="`
	for _, tc := range []struct {
		name, event               string
		key, query, ap, alias, ip string
		header                    [2]string
	}{
		{
			name:  "alias host, headers as strings",
			event: `{` + route + `},"userRequest":{"url":"https://media-a1b2c3-opapalias.oss-cn-hangzhou.aliyuncs.com/photos/a%20b.jpg?w=200&w=300","headers":{"Accept":"image/webp","X-Forwarded-For":"203.0.113.9, 10.0.0.1"}}}`,
			key:   "photos/a b.jpg", query: "w=200&w=300", ap: "media", alias: "media-a1b2c3-opapalias", ip: "203.0.113.9",
			header: [2]string{"Accept", "image/webp"},
		},
		{
			name:  "configuration wins, headers as lists, unknown fields ignored",
			event: `{` + route + `,"inputOssUrl":"https://b.oss/x"},"configuration":{"accessPointName":"partners","accessPointAlias":"partners-zz9-opapalias","payload":"x","future":1},"userRequest":{"url":"https://media-a1b2c3-opapalias.oss/k.txt","headers":{"Accept":["text/plain","text/html"]}},"somethingNew":{"a":1}}`,
			key:   "k.txt", ap: "partners", alias: "partners-zz9-opapalias",
			header: [2]string{"Accept", "text/plain"},
		},
		{
			name:  "path-style alias",
			event: `{` + route + `},"userRequest":{"url":"http://oss-cn-hangzhou.aliyuncs.com/docs-0f3-opapalias/dir/x.pdf"}}`,
			key:   "dir/x.pdf", ap: "docs", alias: "docs-0f3-opapalias",
		},
		{
			name:  "access point from an ARN",
			event: `{` + route + `},"configuration":{"accessPointArn":"acs:oss:cn-hangzhou:123:accesspoint/reports"},"userRequest":{"url":"https://h.example/r.csv"}}`,
			key:   "r.csv", ap: "reports",
		},
		{
			name:  "key from a path-style inputOssUrl",
			event: `{"getObjectContext":{"outputRoute":"r","outputToken":"t","inputOssUrl":"http://127.0.0.1:9000/bucket/a/b.txt?x-oss-signature=s"}}`,
			key:   "a/b.txt",
		},
		{
			name:  "key from a virtual-hosted inputOssUrl",
			event: `{"getObjectContext":{"outputRoute":"r","outputToken":"t","inputOssUrl":"https://bucket.oss-cn-hangzhou.aliyuncs.com/a/b.txt?Signature=s"}}`,
			key:   "a/b.txt",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := decodeEvent([]byte(tc.event))
			if err != nil {
				t.Fatal(err)
			}
			req, err := ev.request()
			if err != nil {
				t.Fatal(err)
			}
			if req.Key != tc.key || req.RawQuery != tc.query || req.AccessPoint != tc.ap || req.AccessPointAlias != tc.alias || req.IP != tc.ip {
				t.Errorf("got key %q query %q ap %q alias %q ip %q", req.Key, req.RawQuery, req.AccessPoint, req.AccessPointAlias, req.IP)
			}
			if tc.header[0] != "" && req.Header.Get(tc.header[0]) != tc.header[1] {
				t.Errorf("header %s = %q", tc.header[0], req.Header.Get(tc.header[0]))
			}
		})
	}
}

func TestDecodeEventFailures(t *testing.T) {
	for _, tc := range []struct {
		name, event string
		noRoute     bool
	}{
		{"not JSON", `hello`, true},
		{"no route", `{"getObjectContext":{"outputToken":"t"}}`, true},
		{"no token", `{"getObjectContext":{"outputRoute":"r"}}`, true},
		{"route but no object", `{"getObjectContext":{"outputRoute":"r","outputToken":"t"}}`, false},
		{"route but ill-typed", `{"getObjectContext":{"outputRoute":"r","outputToken":"t"},"userRequest":7}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := decodeEvent([]byte(tc.event))
			if err == nil {
				t.Fatal("no error")
			}
			if got := errors.Is(err, errNoRoute); got != tc.noRoute {
				t.Fatalf("errNoRoute = %v, want %v (%v)", got, tc.noRoute, err)
			}
			if !tc.noRoute && (ev == nil || ev.GetObjectContext.OutputToken != "t") {
				t.Fatal("the route and token must survive so the client can be answered")
			}
		})
	}
}

func TestMaskedEvent(t *testing.T) {
	raw := `{"getObjectContext":{"outputRoute":"r","outputToken":"OSSV1#secret-token","inputOssUrl":"https://b.oss/k?x-oss-signature=SIG&x-oss-credential=LTAIabc%2F2026&x-oss-security-token=STS&w=1"},
		"userRequest":{"url":"https://a/k?Signature=S2&OSSAccessKeyId=LTAIkey","headers":{"Authorization":"OSS LTAIkey:sig","Cookie":"session=1","Accept":"image/webp"}}}`
	out := string(maskedEvent([]byte(raw)))
	for _, secret := range []string{"secret-token", "SIG", "LTAIabc", "STS", "S2", "LTAIkey", "session=1"} {
		if strings.Contains(out, secret) {
			t.Errorf("%q survived masking: %s", secret, out)
		}
	}
	for _, kept := range []string{"image/webp", `"outputRoute":"r"`, "w=1"} {
		if !strings.Contains(out, kept) {
			t.Errorf("%q was masked too: %s", kept, out)
		}
	}
}

// Headers a V4 presigned URL signed must be sent with it, or OSS refuses
// the read; the list comes from x-oss-additional-headers.
func TestSignedHeaders(t *testing.T) {
	got := signedHeaders("https://b.oss/k?x-oss-signature-version=OSS4-HMAC-SHA256&x-oss-additional-headers=host%3Brange&x-oss-signature=s")
	if strings.Join(got, ",") != "host,range" {
		t.Errorf("signedHeaders = %v", got)
	}
	if got := signedHeaders("https://b.oss/k?Signature=s"); got != nil {
		t.Errorf("V1 URL: %v", got)
	}
}

func TestMemoryLimit(t *testing.T) {
	for _, tc := range []struct {
		mem, env string
		want     int64
	}{
		{"1024", "", 1024 << 20 * 85 / 100},
		{"512", "", 512 << 20 * 85 / 100},
		{"1024", "2GiB", 0},
		{"", "", 0},
		{"lots", "", 0},
	} {
		if got := memoryLimit(tc.mem, tc.env); got != tc.want {
			t.Errorf("memoryLimit(%q, %q) = %d, want %d", tc.mem, tc.env, got, tc.want)
		}
	}
}
