package engine

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"

	"github.com/opaprules/opaprules/localoss"
)

const text = "hello, opaprules: 0123456789 abcdefghijklmnopqrstuvwxyz\n"

const baseRules = `rules:
  - name: private
    when: key startsWith "private/"
    actions: [{deny: {status: 403, message: "private, ${ key }"}}]
  - name: moved
    when: key startsWith "old/"
    actions: [{redirect: {status: 301, location: "/new/${ base }"}}]
  - name: shout
    when: query.shout == "1"
    actions: [{test_upper: {}}]
  - name: twice
    when: query.twice == "1"
    actions: [test_double]
  - name: download
    when: query.dl == "1"
    actions: [{headers: {content_disposition: attachment, filename: "${ base }", cache_control: "private, max-age=5"}}]
  - name: boom
    when: query.boom != ""
    actions: [{test_panic: {in_body: "${ query.boom == 'body' }"}}]
  - name: slow
    when: query.slow != ""
    actions: [{test_sleep: {for: "${ query.slow }"}}]
`

func TestPassthrough(t *testing.T) {
	e := newEnv(t, baseRules, map[string]string{"docs/a.txt": text, "docs/a.txt.ossmeta.json": `{"Cache-Control":"max-age=30","Content-Language":"en","x-oss-meta-owner":"ops"}`})
	r := e.get("/docs/a.txt")
	if r.status != 200 || r.body != text {
		t.Fatalf("got %d %q", r.status, r.body)
	}
	for name, want := range map[string]string{
		"Content-Length":   strconv.Itoa(len(text)),
		"Content-Type":     "text/plain; charset=utf-8",
		"Cache-Control":    "max-age=30",
		"Content-Language": "en",
	} {
		if got := r.header.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if r.header.Get("ETag") == "" || r.header.Get("Last-Modified") == "" {
		t.Errorf("ETag/Last-Modified not forwarded: %v", r.header)
	}
	// Not in the forwarded set: user metadata stays private to the bucket.
	if r.header.Get("x-oss-meta-owner") != "" {
		t.Error("x-oss-meta-owner leaked to the client")
	}
	st := e.srv.Stats()
	if st.OriginGets != 1 || st.WGORAccepted != 1 || st.WGORRejectedTotal() != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestPassthroughRangesAndConditionals(t *testing.T) {
	e := newEnv(t, baseRules, map[string]string{"a.txt": text})
	etag := e.get("/a.txt").header.Get("ETag")
	lastMod := e.get("/a.txt").header.Get("Last-Modified")
	n := len(text)
	for _, tc := range []struct {
		name         string
		header       []string
		status       int
		body         string
		contentRange string
	}{
		{"first bytes", []string{"Range", "bytes=0-4"}, 206, text[:5], fmt.Sprintf("bytes 0-4/%d", n)},
		{"open range", []string{"Range", "bytes=50-"}, 206, text[50:], fmt.Sprintf("bytes 50-%d/%d", n-1, n)},
		{"suffix", []string{"Range", "bytes=-3"}, 206, text[n-3:], fmt.Sprintf("bytes %d-%d/%d", n-3, n-1, n)},
		{"several ranges: whole body", []string{"Range", "bytes=0-1,5-6"}, 200, text, ""},
		{"past the end: OSS ignores it", []string{"Range", "bytes=1000-"}, 200, text, ""},
		{"if-none-match hit", []string{"If-None-Match", etag}, 304, "", ""},
		{"if-none-match miss", []string{"If-None-Match", `"other"`}, 200, text, ""},
		{"if-match miss", []string{"If-Match", `"other"`}, 412, "", ""},
		{"if-match hit", []string{"If-Match", etag}, 200, text, ""},
		{"if-modified-since now", []string{"If-Modified-Since", lastMod}, 304, "", ""},
		{"if-unmodified-since long ago", []string{"If-Unmodified-Since", "Mon, 01 Jan 2001 00:00:00 GMT"}, 412, "", ""},
		{"range with conditional", []string{"Range", "bytes=0-0", "If-Match", etag}, 206, text[:1], fmt.Sprintf("bytes 0-0/%d", n)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.get("/a.txt", tc.header...)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d (%s)", r.status, tc.status, r.body)
			}
			if tc.status < 300 && r.body != tc.body {
				t.Errorf("body %q, want %q", r.body, tc.body)
			}
			if tc.status == 412 && r.errorCode() != "PreconditionFailed" {
				t.Errorf("412 body %q", r.body)
			}
			if got := r.header.Get("Content-Range"); got != tc.contentRange {
				t.Errorf("Content-Range %q, want %q", got, tc.contentRange)
			}
		})
	}
}

func TestTransformedRangesAndConditionals(t *testing.T) {
	e := newEnv(t, baseRules, map[string]string{"a.txt": text})
	up := strings.ToUpper(text)
	n := len(up)
	first := e.get("/a.txt?shout=1")
	etag := first.header.Get("ETag")
	origin := e.get("/a.txt").header.Get("ETag")
	if first.status != 200 || first.body != up || etag == "" || etag == origin {
		t.Fatalf("transformed: %d %q ETag %q (origin %q)", first.status, first.body, etag, origin)
	}
	for _, h := range []string{"Content-MD5", "x-oss-hash-crc64ecma"} {
		if first.header.Get(h) != "" {
			t.Errorf("%s of the original was forwarded with transformed bytes", h)
		}
	}
	if again := e.get("/a.txt?shout=1").header.Get("ETag"); again != etag {
		t.Fatalf("ETag not stable: %q then %q", etag, again)
	}
	if other := e.get("/a.txt?twice=1").header.Get("ETag"); other == etag || other == "" {
		t.Fatalf("different plans share an ETag: %q", other)
	}
	for _, tc := range []struct {
		name         string
		header       []string
		status       int
		body         string
		contentRange string
	}{
		{"first bytes", []string{"Range", "bytes=0-4"}, 206, up[:5], fmt.Sprintf("bytes 0-4/%d", n)},
		{"open", []string{"Range", "bytes=50-"}, 206, up[50:], fmt.Sprintf("bytes 50-%d/%d", n-1, n)},
		{"suffix", []string{"Range", "bytes=-3"}, 206, up[n-3:], fmt.Sprintf("bytes %d-%d/%d", n-3, n-1, n)},
		{"end past the size", []string{"Range", "bytes=50-9999"}, 206, up[50:], fmt.Sprintf("bytes 50-%d/%d", n-1, n)},
		{"unsatisfiable", []string{"Range", "bytes=1000-"}, 416, "", fmt.Sprintf("bytes */%d", n)},
		{"several: whole body", []string{"Range", "bytes=0-1,3-4"}, 200, up, ""},
		{"malformed: whole body", []string{"Range", "lines=1-2"}, 200, up, ""},
		{"if-range matches", []string{"Range", "bytes=0-0", "If-Range", etag}, 206, up[:1], fmt.Sprintf("bytes 0-0/%d", n)},
		{"if-range stale", []string{"Range", "bytes=0-0", "If-Range", origin}, 200, up, ""},
		{"if-none-match derived", []string{"If-None-Match", etag}, 304, "", ""},
		{"if-none-match origin etag is not ours", []string{"If-None-Match", origin}, 200, up, ""},
		{"if-none-match weak", []string{"If-None-Match", "W/" + etag}, 304, "", ""},
		{"if-match miss", []string{"If-Match", origin}, 412, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.get("/a.txt?shout=1", tc.header...)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d (%s)", r.status, tc.status, r.body)
			}
			if tc.status < 300 && r.body != tc.body {
				t.Errorf("body %q, want %q", r.body, tc.body)
			}
			if tc.status < 300 && r.header.Get("Content-Length") != strconv.Itoa(len(tc.body)) {
				t.Errorf("Content-Length %q for %d bytes", r.header.Get("Content-Length"), len(tc.body))
			}
			if got := r.header.Get("Content-Range"); got != tc.contentRange {
				t.Errorf("Content-Range %q, want %q", got, tc.contentRange)
			}
		})
	}
	// A 304 on the derived ETag is decided before the actions run.
	before := upperRuns.Load()
	if r := e.get("/a.txt?shout=1", "If-None-Match", etag); r.status != 304 || r.header.Get("ETag") != etag {
		t.Fatalf("304 expected, got %d", r.status)
	}
	if upperRuns.Load() != before {
		t.Error("the plan ran for a 304")
	}
}

func TestUnknownLengthIsBuffered(t *testing.T) {
	e := newEnv(t, baseRules, map[string]string{"a.txt": text})
	r := e.get("/a.txt?twice=1")
	if r.status != 200 || r.body != text+text || r.header.Get("Content-Length") != strconv.Itoa(2*len(text)) {
		t.Fatalf("got %d, %d bytes, Content-Length %s", r.status, len(r.body), r.header.Get("Content-Length"))
	}
}

func TestTerminalPlansNeverReadTheOrigin(t *testing.T) {
	e := newEnv(t, baseRules, map[string]string{"private/a.txt": text})
	r := e.get("/private/a.txt?dl=1")
	if r.status != 403 || r.errorCode() != "AccessDenied" || !strings.Contains(r.body, "<Message>private, private/a.txt</Message>") {
		t.Fatalf("deny: %d %s", r.status, r.body)
	}
	if r.header.Get("Content-Type") != "application/xml" || r.header.Get("Cache-Control") != "public, max-age=60" {
		t.Errorf("deny headers %v", r.header)
	}
	if !strings.Contains(r.body, "<RequestId>"+r.header.Get("x-oss-request-id")+"</RequestId>") {
		t.Errorf("RequestId does not match x-oss-request-id: %s", r.body)
	}
	r = e.get("/old/b.txt")
	if r.status != 301 || r.header.Get("Location") != "/new/b.txt" || r.body != "" {
		t.Fatalf("redirect: %d %v %q", r.status, r.header, r.body)
	}
	if st := e.srv.Stats(); st.OriginGets != 0 || st.WGORAccepted != 2 {
		t.Errorf("the origin was read for a terminal plan: %+v", st)
	}
}

func TestHeadersOnlyPlanStreamsWithOverrides(t *testing.T) {
	e := newEnv(t, baseRules, map[string]string{"docs/报告.txt": text})
	r := e.get("/docs/%E6%8A%A5%E5%91%8A.txt?dl=1", "Range", "bytes=0-1")
	if r.status != 206 || r.body != text[:2] {
		t.Fatalf("got %d %q", r.status, r.body)
	}
	if cd := r.header.Get("Content-Disposition"); cd != `attachment; filename="__.txt"; filename*=UTF-8''%E6%8A%A5%E5%91%8A.txt` {
		t.Errorf("Content-Disposition %q", cd)
	}
	if r.header.Get("Cache-Control") != "private, max-age=5" {
		t.Errorf("Cache-Control %q", r.header.Get("Cache-Control"))
	}
}

func TestPanicsAnswerOnce(t *testing.T) {
	e := newEnv(t, baseRules, map[string]string{"a.txt": text})
	r := e.get("/a.txt?boom=apply")
	if r.status != 500 || r.errorCode() != "InternalError" || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("panic in Apply: %d %s %v", r.status, r.body, r.header)
	}
	if strings.Contains(r.body, "boom") {
		t.Error("the panic value leaked to the client")
	}
	// A panic while streaming cannot turn into a 500 any more: the upload
	// is aborted, the client sees a broken response, and nothing crashes.
	req, _ := http.NewRequest(http.MethodGet, e.ts.URL+"/a.txt?boom=body", nil)
	resp, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
	if err == nil {
		b := new(bytes.Buffer)
		_, err = b.ReadFrom(resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode == 200 && b.String() == text {
			t.Fatal("a panicking body arrived complete")
		}
	}
	// The process is still serving.
	if r := e.get("/a.txt"); r.status != 200 {
		t.Fatalf("after the panics: %d", r.status)
	}
	// One WriteGetObjectResponse per invocation: two accepted, and the
	// aborted upload, which the server counts as refused.
	if st := e.srv.Stats(); st.WGORAccepted+st.WGORRejectedTotal() != st.Invocations {
		t.Errorf("responses do not match invocations: %+v", st)
	}
}

// An invocation that cannot finish before the function's timeout still
// answers the client, with the watchdog's 503, before FC would give up on
// it. The local server plays FC's side: it answers 504 InvokeTimeout when
// no WriteGetObjectResponse has come by the same timeout, so which of the
// two the client sees says whether the watchdog was in time, without the
// test reading a clock.
func TestDeadline(t *testing.T) {
	e := newEnv(t, baseRules, map[string]string{"a.txt": text})
	e.ts.Close()
	e = (&env{t: t, dir: e.dir, fcTimeout: 2 * time.Second}).start(e.handler.cfg.Rules, localoss.Config{InvokeTimeout: 2 * time.Second})
	r := e.get("/a.txt?slow=4s")
	if r.status != 503 || r.errorCode() != "RequestTimeout" {
		t.Fatalf("got %d %s, want the watchdog's 503 RequestTimeout before the function timeout", r.status, r.body)
	}
}

func TestPlanTimeoutFromLimits(t *testing.T) {
	e := newEnv(t, "limits: {timeout: 200ms}\n"+baseRules, map[string]string{"a.txt": text})
	r := e.get("/a.txt?slow=400ms&shout=1")
	if r.status != 503 || r.errorCode() != "RequestTimeout" {
		t.Fatalf("got %d %s", r.status, r.body)
	}
}

func TestOriginFailures(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fault  *localoss.Fault
		status int
		code   string
	}{
		{"denied", &localoss.Fault{Status: 403}, 403, "AccessDenied"},
		{"throttled", &localoss.Fault{Status: 429}, 503, "ServiceUnavailable"},
		{"broken", &localoss.Fault{Status: 500}, 503, "ServiceUnavailable"},
		{"conflict passes", &localoss.Fault{Status: 409, Code: "Conflict"}, 409, "Conflict"},
		{"unknown 4xx becomes 400", &localoss.Fault{Status: 418, Code: "Teapot"}, 400, "Teapot"},
		{"unreachable", &localoss.Fault{Drop: true}, 503, "ServiceUnavailable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, baseRules, map[string]string{"a.txt": text})
			e.ts.Close()
			rs := e.handler.cfg.Rules
			e = (&env{t: t, dir: e.dir, fcTimeout: 10 * time.Second}).start(rs, localoss.Config{OriginFault: func(string, string) *localoss.Fault { return tc.fault }})
			for _, path := range []string{"/a.txt", "/a.txt?shout=1"} {
				r := e.get(path)
				if r.status != tc.status || r.errorCode() != tc.code {
					t.Errorf("%s: got %d %s, want %d %s", path, r.status, r.errorCode(), tc.status, tc.code)
				}
				if cc := r.header.Get("Cache-Control"); cc == "" {
					t.Errorf("%s: error without Cache-Control", path)
				}
			}
		})
	}
	e := newEnv(t, baseRules, nil)
	if r := e.get("/missing.txt"); r.status != 404 || r.errorCode() != "NoSuchKey" {
		t.Errorf("missing object: %d %s", r.status, r.body)
	}
	if r := e.get("/a.txt?versionId=v9"); r.status != 404 {
		t.Errorf("versionId was not forwarded: %d %s", r.status, r.body)
	}
}

func TestGzipOrigin(t *testing.T) {
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write([]byte(text))
	w.Close()
	e := newEnv(t, baseRules, map[string]string{"z.txt": gz.String(), "z.txt.ossmeta.json": `{"Content-Encoding":"gzip","Content-Type":"text/plain"}`,
		"b.txt": "x", "b.txt.ossmeta.json": `{"Content-Encoding":"br"}`})
	r := e.get("/z.txt")
	if r.status != 200 || r.body != gz.String() || r.header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("passthrough must forward the stored bytes: %d %q", r.status, r.header.Get("Content-Encoding"))
	}
	r = e.get("/z.txt?shout=1")
	if r.status != 200 || r.body != strings.ToUpper(text) || r.header.Get("Content-Encoding") != "" {
		t.Fatalf("transform of gzip: %d %q %q", r.status, r.body, r.header.Get("Content-Encoding"))
	}
	if r := e.get("/b.txt?shout=1"); r.status != 400 || r.errorCode() != "UnsupportedContentEncoding" {
		t.Fatalf("brotli: %d %s", r.status, r.body)
	}
}

func TestRequestTimeParameterErrors(t *testing.T) {
	e := newEnv(t, `rules:
  - name: sized
    when: int(query.w) > 0
    actions: [test_upper]
`, map[string]string{"a.txt": text})
	r := e.get("/a.txt?w=abc")
	if r.status != 400 || r.errorCode() != "InvalidArgument" || !strings.Contains(r.body, `rule "sized"`) {
		t.Fatalf("got %d %s", r.status, r.body)
	}
	if e.srv.Stats().OriginGets != 0 {
		t.Error("the origin was read for a request that failed in its rules")
	}
}

func TestObjectMetadataRules(t *testing.T) {
	e := newEnv(t, `rules:
  - name: big-only
    when: object.size > 10 && object.meta.tier == "gold"
    actions: [test_upper]
`, map[string]string{"a.txt": text, "a.txt.ossmeta.json": `{"x-oss-meta-tier":"gold"}`, "b.txt": text})
	if r := e.get("/a.txt"); r.body != strings.ToUpper(text) {
		t.Errorf("object.* rule did not match: %q", r.body)
	}
	if r := e.get("/b.txt"); r.body != text {
		t.Errorf("object.* rule matched: %q", r.body)
	}
	if r := e.get("/b.txt", "Range", "bytes=0-2"); r.status != 206 || r.body != text[:3] {
		t.Errorf("range after a metadata read: %d %q", r.status, r.body)
	}
}

// bucket names the bucket the handler reads: the configured one, else the
// one in the event's inputOssUrl.
func TestBucketInConditions(t *testing.T) {
	e := newEnv(t, `rules:
  - name: by-bucket
    when: bucket == "`+localoss.DefaultBucket+`"
    actions: [test_upper]
`, map[string]string{"a.txt": text})
	if r := e.get("/a.txt"); r.body != strings.ToUpper(text) {
		t.Errorf("bucket did not match the configured bucket: %q", r.body)
	}
	e.handler.cfg.Bucket = ""
	if r := e.get("/a.txt"); r.body != strings.ToUpper(text) {
		t.Errorf("bucket did not come from inputOssUrl: %q", r.body)
	}
}

func TestTwoAccessPoints(t *testing.T) {
	e := newEnv(t, `rules:
  - name: media-shouts
    access_points: [media]
    actions: [test_upper]
  - name: partners-denied
    access_points: [partners]
    when: key startsWith "internal/"
    actions: [deny]
`, map[string]string{"a.txt": text, "internal/b.txt": text})
	media, partners := e.srv.Alias("media"), e.srv.Alias("partners")
	for _, tc := range []struct {
		host, path string
		status     int
		body       string
	}{
		{media + ".oss.test", "/a.txt", 200, strings.ToUpper(text)},
		{partners + ".oss.test", "/a.txt", 200, text},
		{partners + ".oss.test", "/internal/b.txt", 403, ""},
		{media + ".oss.test", "/internal/b.txt", 200, strings.ToUpper(text)},
		{"", "/internal/b.txt", 200, text},
	} {
		r := e.getHost(tc.host, tc.path)
		if r.status != tc.status || (tc.body != "" && r.body != tc.body) {
			t.Errorf("%s%s: %d %q", tc.host, tc.path, r.status, r.body)
		}
	}
}

func TestSDKClient(t *testing.T) {
	e := newEnv(t, baseRules, map[string]string{"docs/a b+c.txt": text})
	client, err := oss.New(e.ts.URL, testAK, testSK, oss.AuthVersion(oss.AuthV4), oss.Region(localoss.DefaultRegion))
	if err != nil {
		t.Fatal(err)
	}
	b, err := client.Bucket(e.srv.Alias("media"))
	if err != nil {
		t.Fatal(err)
	}
	body, err := b.GetObject("docs/a b+c.txt", oss.Range(0, 4), oss.AddParam("shout", "1"))
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	got := new(bytes.Buffer)
	got.ReadFrom(body)
	if got.String() != "HELLO" {
		t.Fatalf("SDK GetObject through the alias: %q", got.String())
	}
}

func TestMalformedEvent(t *testing.T) {
	e := newEnv(t, baseRules, map[string]string{"a.txt": text})
	e.mangle = func(b []byte) []byte {
		var m map[string]any
		json.Unmarshal(b, &m)
		delete(m, "userRequest")
		delete(m["getObjectContext"].(map[string]any), "inputOssUrl")
		out, _ := json.Marshal(m)
		return out
	}
	if r := e.get("/a.txt"); r.status != 400 || r.errorCode() != "MalformedEvent" {
		t.Fatalf("got %d %s", r.status, r.body)
	}
	e.mangle = func(b []byte) []byte {
		var m map[string]any
		json.Unmarshal(b, &m)
		m["userRequest"] = "not an object"
		out, _ := json.Marshal(m)
		return out
	}
	if r := e.get("/a.txt"); r.status != 400 || r.errorCode() != "MalformedEvent" {
		t.Fatalf("ill-typed event with a route: %d %s", r.status, r.body)
	}
}

func TestConcurrentRequests(t *testing.T) {
	e := newEnv(t, baseRules, map[string]string{"a.txt": text, "private/p.txt": text})
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path, want := []string{"/a.txt", "/a.txt?shout=1", "/private/p.txt", "/a.txt?twice=1"}[i%4], 0
			switch i % 4 {
			case 0, 1, 3:
				want = 200
			case 2:
				want = 403
			}
			if r := e.get(path); r.status != want {
				errs <- fmt.Sprintf("%s: %d", path, r.status)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Error(msg)
	}
	if st := e.srv.Stats(); st.WGORAccepted != 32 || st.WGORRejectedTotal() != 0 || e.invokeErrs.Load() != 0 {
		t.Errorf("stats %+v, invoke errors %d", st, e.invokeErrs.Load())
	}
}

// Rotating a redaction key changes the bytes, so it must change the ETag.
func TestETagFollowsRedactionKey(t *testing.T) {
	t.Setenv("OPAPRULES_TEST_HASH_KEY", "first-key-of-16-bytes-or-more")
	e := newEnv(t, `rules:
  - name: pii
    actions: [{redact: {style: hash, hash_key_env: OPAPRULES_TEST_HASH_KEY}}]
`, map[string]string{"a.txt": "mail ops@example.com\n"})
	first := e.get("/a.txt")
	t.Setenv("OPAPRULES_TEST_HASH_KEY", "second-key-of-16-bytes-or-more")
	second := e.get("/a.txt")
	if first.status != 200 || second.status != 200 || first.body == second.body {
		t.Fatalf("bodies: %q %q", first.body, second.body)
	}
	if first.header.Get("ETag") == second.header.Get("ETag") {
		t.Error("a rotated key kept the ETag")
	}
}
