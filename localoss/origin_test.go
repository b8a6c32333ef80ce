package localoss

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash/crc64"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/opaprules/opaprules/internal/ossmeta"
)

const digits = "0123456789"

var fixedMtime = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// originFixture serves an open bucket (no credentials) with a 10-byte object,
// an empty one and a few special files.
func originFixture(t *testing.T, cfg Config) *fixture {
	t.Helper()
	f := newFixture(t, cfg, map[string]string{
		"d.txt":                         digits,
		"empty.bin":                     "",
		"dir/photo.jpg":                 "jpegish",
		"gz.js":                         "gzipped?",
		"gz.js" + ossmeta.Suffix:        `{"Content-Encoding":"gzip","Cache-Control":"max-age=60","x-oss-meta-owner":"ops","Content-Type":"application/javascript"}`,
		"bad.txt":                       "x",
		"bad.txt" + ossmeta.Suffix:      `{"Set-Cookie":"no"}`,
		"secret-outside/placeholder.md": "",
	})
	for _, n := range []string{"d.txt", "empty.bin"} {
		if err := os.Chtimes(filepath.Join(f.dir, n), fixedMtime, fixedMtime); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func TestOriginRangeMatrix(t *testing.T) {
	tests := []struct {
		rng string
		// legacy is OSS's default behaviour, standard the one with
		// x-oss-range-behavior: standard. want is "200", "416" or the
		// expected 206 Content-Range.
		legacy, standard string
	}{
		{"", "200", "200"},
		{"bytes=0-0", "bytes 0-0/10", "bytes 0-0/10"},
		{"bytes=0-", "bytes 0-9/10", "bytes 0-9/10"},
		{"bytes=3-5", "bytes 3-5/10", "bytes 3-5/10"},
		{"bytes=-5", "bytes 5-9/10", "bytes 5-9/10"},
		{"bytes=-10", "bytes 0-9/10", "bytes 0-9/10"},
		{"bytes=5-2", "200", "200"},
		{"bytes=3-20", "200", "bytes 3-9/10"},
		{"bytes=10-", "200", "416"},
		{"bytes=20-30", "200", "416"},
		{"bytes=-20", "200", "bytes 0-9/10"},
		{"bytes=-0", "200", "416"},
		{"bytes=0-1,3-4", "200", "200"},
		{"bytes=abc", "200", "200"},
		{"bytes=+1-2", "200", "200"},
		{"items=0-1", "200", "200"},
		{"bytes = 0-1", "200", "200"},
	}
	check := func(t *testing.T, f *fixture, key, rng string, hdr map[string]string, want string, size int) {
		t.Helper()
		h := map[string]string{}
		for k, v := range hdr {
			h[k] = v
		}
		if rng != "" {
			h["Range"] = rng
		}
		resp, body := f.do("GET", "/local/"+key, h)
		content := digits[:size]
		switch want {
		case "200":
			if resp.StatusCode != 200 || string(body) != content || resp.Header.Get("Content-Range") != "" {
				t.Fatalf("got %d %q %q, want 200 whole", resp.StatusCode, resp.Header.Get("Content-Range"), body)
			}
			if resp.Header.Get("Content-MD5") == "" {
				t.Error("whole-body response without Content-MD5")
			}
		case "416":
			if resp.StatusCode != 416 || resp.Header.Get("Content-Range") != "bytes */"+strconv.Itoa(size) {
				t.Fatalf("got %d %q, want 416", resp.StatusCode, resp.Header.Get("Content-Range"))
			}
			if e := parseErr(t, body); e.Code != "InvalidRange" {
				t.Fatalf("code %s", e.Code)
			}
		default:
			var a, b, n int
			if _, err := fmtSscanf(want, &a, &b, &n); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 206 || resp.Header.Get("Content-Range") != want || string(body) != content[a:b+1] ||
				resp.Header.Get("Content-Length") != strconv.Itoa(b-a+1) {
				t.Fatalf("got %d %q %q, want 206 %s", resp.StatusCode, resp.Header.Get("Content-Range"), body, want)
			}
			if resp.Header.Get("Content-MD5") != "" || resp.Header.Get("x-oss-hash-crc64ecma") == "" {
				t.Error("range response: want whole-object CRC and no Content-MD5")
			}
		}
	}
	f := originFixture(t, Config{})
	std := originFixture(t, Config{StandardRange: true})
	for _, tt := range tests {
		t.Run("legacy/"+tt.rng, func(t *testing.T) { check(t, f, "d.txt", tt.rng, nil, tt.legacy, 10) })
		t.Run("header/"+tt.rng, func(t *testing.T) {
			check(t, f, "d.txt", tt.rng, map[string]string{"x-oss-range-behavior": "standard"}, tt.standard, 10)
		})
		t.Run("config/"+tt.rng, func(t *testing.T) { check(t, std, "d.txt", tt.rng, nil, tt.standard, 10) })
	}
	for _, rng := range []string{"bytes=0-", "bytes=0-0", "bytes=-1"} {
		t.Run("empty/"+rng, func(t *testing.T) {
			check(t, f, "empty.bin", rng, nil, "200", 0)
			check(t, std, "empty.bin", rng, nil, "416", 0)
		})
	}
}

func fmtSscanf(s string, a, b, n *int) (int, error) {
	var err error
	rest, ok := strings.CutPrefix(s, "bytes ")
	ab, ns, ok2 := strings.Cut(rest, "/")
	as, bs, ok3 := strings.Cut(ab, "-")
	if !ok || !ok2 || !ok3 {
		return 0, errors.New("bad content range " + s)
	}
	if *a, err = strconv.Atoi(as); err != nil {
		return 0, err
	}
	if *b, err = strconv.Atoi(bs); err != nil {
		return 0, err
	}
	*n, err = strconv.Atoi(ns)
	return 3, err
}

func TestOriginConditionalMatrix(t *testing.T) {
	f := originFixture(t, Config{})
	sum := md5.Sum([]byte(digits))
	etag := `"` + strings.ToUpper(hex.EncodeToString(sum[:])) + `"`
	weak := "W/" + etag
	lm := fixedMtime.Format(http.TimeFormat)
	before := fixedMtime.Add(-time.Second).Format(http.TimeFormat)
	after := fixedMtime.Add(time.Hour).Format(http.TimeFormat)
	tests := []struct {
		name string
		hdr  map[string]string
		want int
	}{
		{"no conditions", nil, 200},
		{"If-Match same", map[string]string{"If-Match": etag}, 200},
		{"If-Match other", map[string]string{"If-Match": `"abc"`}, 412},
		{"If-Match star", map[string]string{"If-Match": "*"}, 200},
		{"If-Match list", map[string]string{"If-Match": `"abc", ` + etag}, 200},
		{"If-Match comma inside tag", map[string]string{"If-Match": `"a,b", ` + etag}, 200},
		{"If-Match weak never matches", map[string]string{"If-Match": weak}, 412},
		{"If-None-Match same", map[string]string{"If-None-Match": etag}, 304},
		{"If-None-Match weak", map[string]string{"If-None-Match": weak}, 304},
		{"If-None-Match star", map[string]string{"If-None-Match": "*"}, 304},
		{"If-None-Match other", map[string]string{"If-None-Match": `"abc"`}, 200},
		{"If-None-Match list", map[string]string{"If-None-Match": `"abc",` + etag}, 304},
		{"If-Modified-Since equal", map[string]string{"If-Modified-Since": lm}, 304},
		{"If-Modified-Since later", map[string]string{"If-Modified-Since": after}, 304},
		{"If-Modified-Since earlier", map[string]string{"If-Modified-Since": before}, 200},
		{"If-Modified-Since invalid", map[string]string{"If-Modified-Since": "yesterday"}, 200},
		{"If-Unmodified-Since equal", map[string]string{"If-Unmodified-Since": lm}, 200},
		{"If-Unmodified-Since earlier", map[string]string{"If-Unmodified-Since": before}, 412},
		{"If-Unmodified-Since invalid", map[string]string{"If-Unmodified-Since": "x"}, 200},
		// Precedence (RFC 9110 13.2.2).
		{"If-Match wins over If-Unmodified-Since", map[string]string{"If-Match": etag, "If-Unmodified-Since": before}, 200},
		{"If-None-Match wins over If-Modified-Since", map[string]string{"If-None-Match": `"abc"`, "If-Modified-Since": after}, 200},
		{"412 before 304", map[string]string{"If-Match": `"abc"`, "If-None-Match": etag}, 412},
		{"If-Unmodified-Since 412 before 304", map[string]string{"If-Unmodified-Since": before, "If-None-Match": etag}, 412},
		{"304 before Range", map[string]string{"If-None-Match": etag, "Range": "bytes=0-1"}, 304},
		{"If-Match with Range", map[string]string{"If-Match": etag, "Range": "bytes=0-1"}, 206},
		{"If-Range etag", map[string]string{"If-Range": etag, "Range": "bytes=0-1"}, 206},
		{"If-Range other etag", map[string]string{"If-Range": `"abc"`, "Range": "bytes=0-1"}, 200},
		{"If-Range weak", map[string]string{"If-Range": weak, "Range": "bytes=0-1"}, 200},
		{"If-Range date", map[string]string{"If-Range": lm, "Range": "bytes=0-1"}, 206},
		{"If-Range older date", map[string]string{"If-Range": before, "Range": "bytes=0-1"}, 200},
	}
	for _, tt := range tests {
		for _, method := range []string{"GET", "HEAD"} {
			t.Run(method+"/"+tt.name, func(t *testing.T) {
				want := tt.want
				if method == "HEAD" && want == 206 {
					want = 200 // HEAD ignores Range
				}
				resp, body := f.do(method, "/local/d.txt", tt.hdr)
				if resp.StatusCode != want {
					t.Fatalf("status %d, want %d: %s", resp.StatusCode, want, body)
				}
				switch want {
				case 304:
					if len(body) != 0 || resp.Header.Get("ETag") != etag || resp.Header.Get("Last-Modified") != lm {
						t.Errorf("304: body %q ETag %q Last-Modified %q", body, resp.Header.Get("ETag"), resp.Header.Get("Last-Modified"))
					}
				case 412:
					if method == "GET" {
						if e := parseErr(t, body); e.Code != "PreconditionFailed" || e.Condition == "" {
							t.Errorf("412 document %+v", e)
						}
					} else if resp.Header.Get("x-oss-err") == "" {
						t.Error("HEAD 412 without x-oss-err")
					}
				}
			})
		}
	}
}

func TestOriginHeaders(t *testing.T) {
	f := originFixture(t, Config{})
	sum := md5.Sum([]byte(digits))
	crc := crc64.Checksum([]byte(digits), crc64.MakeTable(crc64.ECMA))
	for _, method := range []string{"GET", "HEAD"} {
		t.Run(method, func(t *testing.T) {
			resp, body := f.do(method, "/local/d.txt", nil)
			want := map[string]string{
				"ETag":                 `"` + strings.ToUpper(hex.EncodeToString(sum[:])) + `"`,
				"Content-MD5":          base64.StdEncoding.EncodeToString(sum[:]),
				"x-oss-hash-crc64ecma": strconv.FormatUint(crc, 10),
				"Last-Modified":        fixedMtime.Format(http.TimeFormat),
				"Content-Type":         "text/plain; charset=utf-8",
				"Content-Length":       "10",
				"Accept-Ranges":        "bytes",
				"x-oss-object-type":    "Normal",
				"Server":               "AliyunOSS",
			}
			for k, v := range want {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if len(resp.Header.Get("x-oss-request-id")) != 24 {
				t.Errorf("x-oss-request-id %q", resp.Header.Get("x-oss-request-id"))
			}
			if wantBody := map[string]string{"GET": digits, "HEAD": ""}[method]; string(body) != wantBody {
				t.Errorf("body %q", body)
			}
		})
	}
	t.Run("sidecar", func(t *testing.T) {
		// An explicit Accept-Encoding keeps net/http from un-gzipping.
		resp, body := f.do("GET", "/local/gz.js", map[string]string{"Accept-Encoding": "gzip"})
		if resp.StatusCode != 200 || string(body) != "gzipped?" {
			t.Fatalf("%d %q", resp.StatusCode, body)
		}
		for k, v := range map[string]string{"Content-Encoding": "gzip", "Cache-Control": "max-age=60",
			"x-oss-meta-owner": "ops", "Content-Type": "application/javascript"} {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("%s = %q, want %q", k, got, v)
			}
		}
	})
	t.Run("bad sidecar", func(t *testing.T) {
		resp, body := f.do("GET", "/local/bad.txt", nil)
		if e := parseErr(t, body); resp.StatusCode != 500 || e.Code != "InternalError" {
			t.Fatalf("%d %+v", resp.StatusCode, e)
		}
	})
	t.Run("response overrides", func(t *testing.T) {
		resp, _ := f.do("GET", "/local/d.txt?response-content-type=image%2Fpng&response-cache-control=no-store", nil)
		if resp.Header.Get("Content-Type") != "image/png" || resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("overrides not applied: %v", resp.Header)
		}
	})
	t.Run("content type by extension", func(t *testing.T) {
		resp, _ := f.do("HEAD", "/local/dir/photo.jpg", nil)
		if resp.Header.Get("Content-Type") != "image/jpeg" {
			t.Errorf("Content-Type %q", resp.Header.Get("Content-Type"))
		}
	})
	t.Run("beyond digest limit", func(t *testing.T) {
		g := originFixture(t, Config{DigestLimit: 5})
		resp, _ := g.do("GET", "/local/d.txt", nil)
		etag := resp.Header.Get("ETag")
		if !strings.HasSuffix(etag, `-1"`) || resp.Header.Get("x-oss-hash-crc64ecma") != "" || resp.Header.Get("Content-MD5") != "" {
			t.Errorf("ETag %q crc %q md5 %q", etag, resp.Header.Get("x-oss-hash-crc64ecma"), resp.Header.Get("Content-MD5"))
		}
		if again, _ := g.do("HEAD", "/local/d.txt", nil); again.Header.Get("ETag") != etag {
			t.Error("ETag not stable")
		}
	})
	t.Run("digest follows content changes", func(t *testing.T) {
		g := originFixture(t, Config{})
		r1, _ := g.do("HEAD", "/local/d.txt", nil)
		g.write("d.txt", "9876543210")
		later := fixedMtime.Add(time.Minute)
		if err := os.Chtimes(filepath.Join(g.dir, "d.txt"), later, later); err != nil {
			t.Fatal(err)
		}
		r2, _ := g.do("HEAD", "/local/d.txt", nil)
		if r1.Header.Get("ETag") == r2.Header.Get("ETag") {
			t.Error("ETag did not change with content")
		}
	})
}

func TestOriginErrors(t *testing.T) {
	f := originFixture(t, Config{})
	if err := os.WriteFile(filepath.Join(filepath.Dir(f.dir), "outside-"+filepath.Base(f.dir)), []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join("..", "outside-"+filepath.Base(f.dir)), filepath.Join(f.dir, "link.txt")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		method, target string
		status         int
		code           string
	}{
		{"GET", "/local/missing.txt", 404, "NoSuchKey"},
		{"GET", "/local/dir", 404, "NoSuchKey"},
		{"GET", "/local/dir/", 404, "NoSuchKey"},
		{"GET", "/local/dir//photo.jpg", 404, "NoSuchKey"},
		{"GET", "/local/gz.js" + ossmeta.Suffix, 404, "NoSuchKey"},
		{"GET", "/local/../outside", 400, "InvalidObjectName"},
		{"GET", "/local/dir/%2e%2e/%2e%2e/etc/passwd", 400, "InvalidObjectName"},
		{"GET", "/local/./d.txt", 400, "InvalidObjectName"},
		{"GET", "/local/dir%5C..%5Cd.txt", 400, "InvalidObjectName"},
		{"GET", "/local/link.txt", 403, "AccessDenied"},
		{"GET", "/local/d.txt?versionId=null", 200, ""},
		{"GET", "/local/d.txt?versionId=CAEQ", 404, "NoSuchVersion"},
		{"GET", "/local/", 501, "NotImplemented"},
		{"PUT", "/local/d.txt", 405, "MethodNotAllowed"},
		{"DELETE", "/local/d.txt", 405, "MethodNotAllowed"},
		{"POST", "/local/d.txt", 405, "MethodNotAllowed"},
		{"PUT", "/" + f.srv.Alias("media") + "/d.txt", 405, "MethodNotAllowed"},
		{"OPTIONS", "/photo.jpg", 405, "MethodNotAllowed"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, f.hs.URL+tt.target, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, body := doRequest(t, req)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if tt.code == "" {
				return
			}
			if resp.Header.Get("Content-Type") != "application/xml" {
				t.Errorf("Content-Type %q", resp.Header.Get("Content-Type"))
			}
			e := parseErr(t, body)
			if e.Code != tt.code || e.RequestId != resp.Header.Get("x-oss-request-id") || e.HostId == "" {
				t.Errorf("error document %+v", e)
			}
			if tt.code == "NoSuchKey" && e.Key == "" {
				t.Error("NoSuchKey without Key")
			}
			if strings.Contains(string(body), "secret") {
				t.Error("leaked content from outside the folder")
			}
		})
	}
	t.Run("HEAD 404 carries x-oss-err", func(t *testing.T) {
		resp, body := f.do("HEAD", "/local/missing.txt", nil)
		raw, err := base64.StdEncoding.DecodeString(resp.Header.Get("x-oss-err"))
		if resp.StatusCode != 404 || len(body) != 0 || err != nil || parseErr(t, raw).Code != "NoSuchKey" {
			t.Fatalf("%d %q %v", resp.StatusCode, raw, err)
		}
	})
}

func TestOriginFaults(t *testing.T) {
	fault := map[string]*Fault{
		"503.txt":   {Status: 503},
		"429.txt":   {Status: 429, Message: "slow down"},
		"drop.txt":  {Drop: true},
		"cut.txt":   {CutAfter: 4},
		"delay.txt": {Delay: 50 * time.Millisecond},
	}
	files := map[string]string{}
	for k := range fault {
		files[k] = digits
	}
	f := newFixture(t, Config{OriginFault: func(method, key string) *Fault { return fault[key] }}, files)
	t.Run("status", func(t *testing.T) {
		for key, code := range map[string]string{"503.txt": "ServiceUnavailable", "429.txt": "TooManyRequests"} {
			resp, body := f.do("GET", "/local/"+key, nil)
			if e := parseErr(t, body); resp.StatusCode != fault[key].Status || e.Code != code {
				t.Errorf("%s: %d %+v", key, resp.StatusCode, e)
			}
		}
	})
	t.Run("drop", func(t *testing.T) {
		resp, err := http.Get(f.hs.URL + "/local/drop.txt")
		if err == nil {
			resp.Body.Close()
			t.Fatalf("got a response: %d", resp.StatusCode)
		}
	})
	t.Run("cut", func(t *testing.T) {
		resp, err := http.Get(f.hs.URL + "/local/cut.txt")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err == nil || string(body) != "0123" {
			t.Fatalf("body %q err %v: want a truncated body and an error", body, err)
		}
	})
	t.Run("delay", func(t *testing.T) {
		start := time.Now()
		resp, body := f.do("GET", "/local/delay.txt", nil)
		if resp.StatusCode != 200 || string(body) != digits || time.Since(start) < 50*time.Millisecond {
			t.Fatalf("%d %q after %v", resp.StatusCode, body, time.Since(start))
		}
	})
	if st := f.srv.Stats(); st.OriginGets != 6 {
		t.Errorf("OriginGets = %d, want 6", st.OriginGets)
	}
}

func TestOriginFS(t *testing.T) {
	mfs := fstest.MapFS{
		"a/b.txt": {Data: []byte(digits), ModTime: fixedMtime},
		"no-time": {Data: []byte("x")},
	}
	f := newFixture(t, Config{FS: mfs}, nil)
	resp, body := f.do("GET", "/local/a/b.txt", map[string]string{"Range": "bytes=2-4"})
	if resp.StatusCode != 206 || string(body) != "234" || resp.Header.Get("Last-Modified") != fixedMtime.Format(http.TimeFormat) {
		t.Fatalf("%d %q %v", resp.StatusCode, body, resp.Header)
	}
	resp, _ = f.do("HEAD", "/local/no-time", nil)
	if resp.StatusCode != 200 || resp.Header.Get("Last-Modified") == "" {
		t.Fatalf("%d %v", resp.StatusCode, resp.Header)
	}
}

func TestOriginVirtualHost(t *testing.T) {
	f := originFixture(t, Config{})
	resp, body := f.do("GET", "/d.txt", map[string]string{"Host": "local.oss-cn-hangzhou.aliyuncs.com"})
	if resp.StatusCode != 200 || string(body) != digits {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
	if st := f.srv.Stats(); st.OriginGets != 1 || st.ClientGets != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestNewValidation(t *testing.T) {
	dir := t.TempDir()
	for name, cfg := range map[string]Config{
		"no origin":          {},
		"both origins":       {Dir: dir, FS: fstest.MapFS{}},
		"bad bucket":         {Dir: dir, Bucket: "Bad_Bucket"},
		"bad access point":   {Dir: dir, DefaultAccessPoint: "-x"},
		"half credentials":   {Dir: dir, AccessKeyID: "a"},
		"auth without creds": {Dir: dir, RequireClientAuth: true},
		"missing dir":        {Dir: filepath.Join(dir, "nope")},
	} {
		if s, err := New(cfg); err == nil {
			s.Close()
			t.Errorf("%s: New succeeded", name)
		}
	}
}
