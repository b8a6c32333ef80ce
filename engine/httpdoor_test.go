package engine

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/opaprules/opaprules/actions"
)

// The HTTP front door answers as the OPAP path does, status, forwarded
// headers, derived ETag and bytes, reading the original through the SDK;
// it adds Vary, and its rules never see FC's own headers.
func TestHTTPDoorAgreesWithOPAP(t *testing.T) {
	const rulesYAML = `
settings: {error_cache_control_4xx: "public, max-age=5"}
rules:
  - name: deny
    when: key startsWith "private/"
    actions: [{deny: {status: 404}}]
  - name: moved
    when: key startsWith "old/"
    actions: [{redirect: {location: "/new/${ base }"}}]
  - name: bad
    when: key startsWith "bad/"
    actions: [{headers: {cache_control: "${ int(query.n) > 1 ? 'a' : 'b' }"}}]
  - name: hotlink
    when: headers.referer startsWith "https://evil/"
    actions: [{deny: {status: 403}}]
  - name: upper
    when: query.upper == "1"
    actions: [{test_upper: {tag: "${ query.tag }"}}]
  - name: leak
    when: query.leak == "1"
    actions: [{headers: {cache_control: "x${ headers['x-fc-access-key-secret'] }"}}]
`
	body := strings.Repeat("hello, world\n", 300)
	e := newEnv(t, rulesYAML, map[string]string{"docs/a.txt": body, "private/x.txt": "secret", "bad/b.txt": "b"})
	door := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		if err := e.handler.ServeHTTP(ctx, w, r, Credentials{AccessKeyID: testAK, AccessKeySecret: testSK}, r.Header.Get("x-fc-request-id")); err != nil {
			t.Errorf("ServeHTTP: %v", err)
		}
	}))
	defer door.Close()
	etag := e.get("/docs/a.txt?upper=1&tag=x").header.Get("ETag")

	for _, c := range []struct {
		name   string
		path   string
		header []string
	}{
		{"transform", "/docs/a.txt?upper=1&tag=x", nil},
		{"transform, range", "/docs/a.txt?upper=1&tag=x", []string{"Range", "bytes=10-99"}},
		{"transform, unsatisfiable range", "/docs/a.txt?upper=1&tag=x", []string{"Range", "bytes=999999-"}},
		{"transform, not modified", "/docs/a.txt?upper=1&tag=x", []string{"If-None-Match", etag}},
		{"transform, precondition failed", "/docs/a.txt?upper=1&tag=x", []string{"If-Match", `"other"`}},
		{"passthrough", "/docs/a.txt", nil},
		{"passthrough, range", "/docs/a.txt", []string{"Range", "bytes=0-9"}},
		{"passthrough, not modified", "/docs/a.txt", []string{"If-Modified-Since", "Fri, 01 Jan 2100 00:00:00 GMT"}},
		{"deny", "/private/x.txt", nil},
		{"hotlink deny", "/docs/a.txt", []string{"Referer", "https://evil/page"}},
		{"redirect", "/old/a%20b.txt", nil},
		{"condition fails", "/bad/b.txt?n=abc", nil},
		{"missing", "/docs/none.txt", nil},
		{"FC's headers stay out of the rules", "/docs/a.txt?leak=1", []string{"x-fc-access-key-secret", "s3cr3t"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			want := e.get(c.path, c.header...)
			got := doorGet(t, door.URL+c.path, "GET", c.header...)
			if got.status != want.status {
				t.Errorf("status: door %d, OPAP %d", got.status, want.status)
			}
			for _, name := range actions.ForwardedHeaders {
				if g, w := got.header.Get(name), want.header.Get(name); g != w && !strings.Contains(w, "s3cr3t") {
					t.Errorf("%s: door %q, OPAP %q", name, g, w)
				}
			}
			if want.errorCode() != got.errorCode() || want.errorCode() == "" && got.body != want.body {
				t.Errorf("body: door %d bytes (%s), OPAP %d bytes (%s)", len(got.body), got.errorCode(), len(want.body), want.errorCode())
			}
			if v := got.header.Get("Vary"); v != "Referer, X-Fc-Access-Key-Secret" {
				t.Errorf("Vary %q", v)
			}
			// Through an OPAP, x-fc-* from the client are only the client's
			// own headers; through FC's HTTP trigger they are FC's, its
			// credentials among them.
			if strings.Contains(got.header.Get("Cache-Control"), "s3cr3t") {
				t.Errorf("an FC credential reached a response: %q", got.header.Get("Cache-Control"))
			}
		})
	}

	head := doorGet(t, door.URL+"/docs/a.txt?upper=1&tag=x", "HEAD")
	if head.status != 200 || head.body != "" || head.header.Get("Content-Length") != "3900" || head.header.Get("ETag") != etag {
		t.Errorf("HEAD: %d %v %q", head.status, head.header, head.body)
	}
	if r := doorGet(t, door.URL+"/docs/a.txt", "DELETE"); r.status != 405 || r.errorCode() != "MethodNotAllowed" || r.header.Get("Allow") != "GET, HEAD" {
		t.Errorf("DELETE: %d %v %s", r.status, r.header, r.body)
	}
	if r := doorGet(t, door.URL+"/", "GET"); r.status != 400 || r.errorCode() != "InvalidArgument" {
		t.Errorf("no key: %d %s", r.status, r.body)
	}
}

func doorGet(t *testing.T, url, method string, header ...string) result {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	client := &http.Client{Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{DisableCompression: true}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return result{resp.StatusCode, resp.Header, string(b)}
}
