package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/opaprules/opaprules/rules"
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
			key:   "photos/a b.jpg", query: "w=200&w=300", ap: "media", alias: "media-a1b2c3-opapalias", ip: "10.0.0.1",
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
			name:  "access point from its own endpoint (second host form)",
			event: `{` + route + `},"userRequest":{"url":"https://fc-ap-01-1119335441650000.oss-cn-qingdao.oss-object-process.aliyuncs.com/p/q.png"}}`,
			key:   "p/q.png", ap: "fc-ap-01",
		},
		{
			name:  "access point from its internal endpoint",
			event: `{` + route + `},"userRequest":{"url":"https://thumbs-2024-1283516515.oss-cn-beijing-internal.oss-object-process.aliyuncs.com/q.png"}}`,
			key:   "q.png", ap: "thumbs-2024",
		},
		{
			name:  "access point from outputRoute when nothing else names it",
			event: `{"getObjectContext":{"outputRoute":"test-ap-process-name-43-1283516515-opap.oss-cn-beijing-internal.oss-object-process.aliyuncs.com","outputToken":"t"},"userRequest":{"url":"https://cdn.example.com/a.jpg"}}`,
			key:   "a.jpg", ap: "test-ap-process-name-43",
		},
		{
			name:  "an alias host wins over outputRoute",
			event: `{"getObjectContext":{"outputRoute":"other-1283516515-opap.oss-cn-beijing.oss-object-process.aliyuncs.com","outputToken":"t"},"userRequest":{"url":"https://media-a1b2c3-opapalias.oss-cn-beijing.aliyuncs.com/a.jpg"}}`,
			key:   "a.jpg", ap: "media", alias: "media-a1b2c3-opapalias",
		},
		{
			name:  "a bucket host names no access point",
			event: `{"getObjectContext":{"outputRoute":"127.0.0.1:9000","outputToken":"t"},"userRequest":{"url":"https://bucket-123.oss-cn-beijing.aliyuncs.com/a.jpg"}}`,
			key:   "a.jpg",
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
			req, err := ev.request("", nil)
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

func TestEventShortfall(t *testing.T) {
	const full = `{"getObjectContext":{"outputRoute":"r","outputToken":"OSSV1#tok"},"configuration":{"accessPointName":"media"},"userRequest":{"url":"https://h/a.jpg","headers":{"Accept":"*/*"}}}`
	for _, tc := range []struct {
		name, event string
		level       slog.Level
		problem     string // a part of it; "" for none
	}{
		{"full", full, 0, ""},
		{"not JSON", `hello`, slog.LevelError, "outputRoute"},
		{"no route", `{"getObjectContext":{"outputToken":"t"}}`, slog.LevelError, "outputRoute"},
		{"no object", `{"getObjectContext":{"outputRoute":"r","outputToken":"t"}}`, slog.LevelError, "names the object"},
		{"empty key", `{"getObjectContext":{"outputRoute":"r","outputToken":"t"},"userRequest":{"url":"https://h/"}}`, slog.LevelError, "no object key"},
		{"documented fields only", `{"getObjectContext":{"outputRoute":"r","outputToken":"t","inputOssUrl":"https://b.oss/k.txt"}}`, slog.LevelWarn, "userRequest.url"},
		{"no headers", `{"getObjectContext":{"outputRoute":"r","outputToken":"t"},"configuration":{"accessPointName":"m"},"userRequest":{"url":"https://h/a.jpg"}}`, slog.LevelWarn, "userRequest.headers"},
		{"no access point", `{"getObjectContext":{"outputRoute":"r","outputToken":"t"},"userRequest":{"url":"https://h/a.jpg","headers":{"Accept":"*/*"}}}`, slog.LevelWarn, "access point"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			level, problem := eventShortfall([]byte(tc.event))
			if tc.problem == "" {
				if problem != "" {
					t.Fatalf("a full event reported: %v %s", level, problem)
				}
				return
			}
			if level != tc.level || !strings.Contains(problem, tc.problem) {
				t.Errorf("got %v %q, want %v and %q", level, problem, tc.level, tc.problem)
			}
		})
	}
}

// TestInvokeLogsShortEvents: an event that does not decode is logged
// masked, at error level, once a minute with a count of those left out.
func TestInvokeLogsShortEvents(t *testing.T) {
	var buf bytes.Buffer
	rs, err := rules.Load("r.yaml", []byte("version: 1\nrules: []\n"))
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Config{Rules: rs, Logger: slog.New(slog.NewJSONHandler(&buf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	lines := func() []map[string]any {
		var out []map[string]any
		for _, l := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
			var m map[string]any
			if json.Unmarshal(l, &m) == nil && strings.HasPrefix(m["msg"].(string), "event ") {
				out = append(out, m)
			}
		}
		return out
	}
	noRoute := []byte(`{"getObjectContext":{"outputToken":"OSSV1#secret+/"},"userRequest":{"url":"https://h/a.jpg","headers":{"Authorization":"OSS ak:sig"}}}`)
	for range 3 {
		if err := h.Invoke(context.Background(), noRoute, Credentials{}); !errors.Is(err, errNoRoute) {
			t.Fatalf("Invoke: %v", err)
		}
	}
	got := lines()
	if len(got) != 1 {
		t.Fatalf("want one report in the first minute, got %d:\n%s", len(got), buf.String())
	}
	if got[0]["level"] != "ERROR" || got[0]["msg"] != "event does not decode" || !strings.Contains(got[0]["problem"].(string), "outputRoute") {
		t.Errorf("report %v", got[0])
	}
	ev, _ := json.Marshal(got[0]["event"])
	if strings.Contains(string(ev), "secret") || strings.Contains(string(ev), "ak:sig") || !strings.Contains(string(ev), "https://h/a.jpg") {
		t.Errorf("event not masked, or masked away: %s", ev)
	}
	// A minute later the next one is logged with the count of those left out.
	h.reportShortEvent(slog.LevelError, "again", noRoute, time.Now().Add(shortEventInterval+time.Second))
	got = lines()
	if len(got) != 2 || got[1]["suppressed_since_last"] != float64(2) {
		t.Fatalf("after a minute: %v", got)
	}
	// Partial decodes are a kind of their own, at warning level.
	h.reportShortEvent(slog.LevelWarn, "partly", noRoute, time.Now().Add(shortEventInterval+2*time.Second))
	if got = lines(); len(got) != 3 || got[2]["level"] != "WARN" || got[2]["msg"] != "event decodes only partly" {
		t.Fatalf("warn report: %v", got)
	}
}

// eventShortfall decodes an event as Invoke does and says what it lacks.
func eventShortfall(data []byte) (slog.Level, string) {
	ev, err := decodeEvent(data)
	var req *rules.Request
	if err == nil {
		req, err = ev.request("", nil)
	}
	return shortfall(ev, req, err)
}
