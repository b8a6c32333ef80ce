package engine

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Issue #10, finding 7: with OPAPRULES_LOG_EVENT=1, Proxy-Authorization,
// X-Api-Key and the sig of signed URLs were logged in clear. Masking is an
// allow-list now: a value is shown only when its field, header or query
// parameter is known to be harmless.
func TestMaskedEventAllowList(t *testing.T) {
	const secret = "c2VjcmV0LXZhbHVl"
	raw := `{"getObjectContext":{"outputRoute":"fc-ap.oss-cn-hangzhou.oss-object-process.aliyuncs.com","outputToken":"OSSV1#` + secret + `",
		"inputOssUrl":"https://b.oss/k?x-oss-signature=` + secret + `&x-oss-credential=LTAI` + secret + `&x-oss-security-token=` + secret + `&x-oss-date=20260101T000000Z&w=1"},
	"configuration":{"accessPointName":"media","payload":"` + secret + `","futureField":"` + secret + `","futureNumber":3},
	"userRequest":{"url":"https://media-x1-opapalias.oss/k.jpg?w=200&sig=` + secret + `&token=` + secret + `&expires=1893456000&flag",
		"headers":{"Proxy-Authorization":"Basic ` + secret + `","X-Api-Key":"` + secret + `","authorization":"OSS LTAI:` + secret + `",
			"Cookie":"s=` + secret + `","X-Custom-Secret":["` + secret + `","two"],"Accept":"image/webp","User-Agent":"curl/8",
			"Referer":"https://shop.example.com/p?session=` + secret + `&w=3","X-Forwarded-For":"203.0.113.9"}},
	"userIdentity":{"type":"AccessKey","accessKeyId":"LTAI` + secret + `"},
	"xOssRequestId":"5C1B138A109F4E405B2D","protocolVersion":"1.00"}`
	out := string(maskedEvent([]byte(raw)))
	if strings.Contains(out, secret) {
		t.Errorf("a secret survived masking: %s", out)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("masked event is not JSON: %v", err)
	}
	for _, kept := range []string{
		`"outputRoute":"fc-ap.oss-cn-hangzhou.oss-object-process.aliyuncs.com"`, `"accessPointName":"media"`,
		`"Accept":"image/webp"`, `"User-Agent":"curl/8"`, `"X-Forwarded-For":"203.0.113.9"`,
		`w=200`, `sig=***`, `token=***`, `expires=1893456000`, `&flag`, `x-oss-date=20260101T000000Z`, `w=1`,
		`"Proxy-Authorization":"***"`, `"X-Api-Key":"***"`, `"X-Custom-Secret":["***","***"]`,
		`session=***`, `"futureField":"***"`, `"futureNumber":3`, `"type":"AccessKey"`,
		`"xOssRequestId":"5C1B138A109F4E405B2D"`,
	} {
		if !strings.Contains(out, kept) {
			t.Errorf("want %s in the masked event: %s", kept, out)
		}
	}
	if got := string(maskedEvent([]byte("{not json"))); got != `"(not JSON)"` {
		t.Errorf("not JSON: %s", got)
	}
}

// FuzzMaskedEvent: whatever the event holds, a value planted under a name
// that is not on an allow-list never shows.
func FuzzMaskedEvent(f *testing.F) {
	f.Add("X-Api-Key", "q", "field")
	f.Add("Proxy-Authorization", "sig", "payload")
	f.Add("accept", "W", "outputRoute")
	const secret = "Zm9vYmFyc2VjcmV0"
	f.Fuzz(func(t *testing.T, header, param, field string) {
		ev := map[string]any{
			"getObjectContext": map[string]any{"outputRoute": "r", "outputToken": "t", field: secret},
			"userRequest": map[string]any{
				"url":     "https://a/k?" + param + "=" + secret,
				"headers": map[string]any{header: secret},
			},
		}
		raw, _ := json.Marshal(ev)
		out := string(maskedEvent(raw))
		if !strings.Contains(out, secret) {
			return
		}
		name := param[strings.LastIndexByte(param, '&')+1:]
		name, _, _ = strings.Cut(name, "=")
		if n, err := url.QueryUnescape(name); err == nil {
			name = n
		}
		h := http.CanonicalHeaderKey(header)
		if keptHeaders[h] || urlHeaders[h] || keptQuery[strings.ToLower(name)] || keptFields["getobjectcontext."+strings.ToLower(field)] {
			return
		}
		t.Fatalf("header %q, param %q, field %q: secret shows in %s", header, param, field, out)
	})
}
