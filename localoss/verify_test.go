package localoss

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
)

const sigBody = "signed object body"

// sigKeys are objects whose names stress canonicalization: slashes, spaces,
// '+', characters QueryEscape treats specially, and non-ASCII.
var sigKeys = []string{
	"photos/a.jpg",
	"dir/a b+c~!*'();:@&=$,.txt",
	"目录/文件 名.txt",
}

func sigFiles() map[string]string {
	m := map[string]string{}
	for _, k := range sigKeys {
		m[k] = sigBody
	}
	return m
}

// TestSDKSignaturesAccepted drives the real SDK, in every signing mode and
// addressing style it offers, against the server.
func TestSDKSignaturesAccepted(t *testing.T) {
	for _, sts := range []bool{false, true} {
		cfg := Config{AccessKeyID: testAK, AccessKeySecret: testSK, RequireClientAuth: true}
		var extra []oss.ClientOption
		name := "long-term"
		if sts {
			cfg.SecurityToken = testSTS
			extra = append(extra, oss.SecurityToken(testSTS))
			name = "sts"
		}
		f := newFixture(t, cfg, sigFiles())
		alias := f.srv.Alias("media")
		_, port, _ := strings.Cut(f.addr, ":")
		type mode struct {
			name     string
			endpoint string
			dial     bool
			bucket   string
			opts     []oss.ClientOption
		}
		var modes []mode
		for _, av := range []struct {
			name string
			opts []oss.ClientOption
		}{{"v1", v1()}, {"v4", v4()}} {
			o := append(append([]oss.ClientOption{}, av.opts...), extra...)
			modes = append(modes,
				mode{av.name + "/path-style/bucket", "http://" + f.addr, false, "local", o},
				mode{av.name + "/path-style/alias", "http://" + f.addr, false, alias, o},
				mode{av.name + "/virtual-host/bucket", "http://oss-cn-hangzhou.localoss.test:" + port, true, "local", o},
				mode{av.name + "/virtual-host/alias", "http://oss-cn-hangzhou.localoss.test:" + port, true, alias, o},
				mode{av.name + "/cname", "http://cdn.localoss.test:" + port, true, "local", append(o, oss.UseCname(true))},
				mode{av.name + "/force-path-style", "http://oss-cn-hangzhou.localoss.test:" + port, true, "local", append(o, oss.ForcePathStyle(true))},
			)
		}
		modes = append(modes, mode{"v4/additional-headers", "http://" + f.addr, false, "local",
			append(append(v4(), extra...), oss.AdditionalHeaders([]string{"host", "User-Agent"}))})

		for _, m := range modes {
			for _, key := range sigKeys {
				t.Run(name+"/"+m.name+"/"+key, func(t *testing.T) {
					dial := ""
					if m.dial {
						dial = f.addr
					}
					b, err := sdkClient(t, m.endpoint, dial, m.opts...).Bucket(m.bucket)
					if err != nil {
						t.Fatal(err)
					}
					// HEAD goes to the origin whichever role is addressed.
					hdr, err := b.GetObjectDetailedMeta(key)
					if err != nil {
						t.Fatalf("HEAD: %v", err)
					}
					if hdr.Get("Content-Length") != "18" {
						t.Errorf("HEAD Content-Length = %q", hdr.Get("Content-Length"))
					}
					if m.bucket != "local" || strings.HasSuffix(m.name, "cname") {
						return // GET through an access point would invoke
					}
					for _, opts := range [][]oss.Option{nil, {oss.VersionId("null"), oss.ResponseContentType("text/x-test")}} {
						rc, err := b.GetObject(key, opts...)
						if err != nil {
							t.Fatalf("GET %v: %v", opts, err)
						}
						got, _ := io.ReadAll(rc)
						rc.Close()
						if string(got) != sigBody {
							t.Errorf("GET body = %q", got)
						}
					}
					for _, opts := range [][]oss.Option{nil, {oss.VersionId("null")}} {
						u, err := b.SignURL(key, oss.HTTPGet, 60, opts...)
						if err != nil {
							t.Fatal(err)
						}
						if m.dial {
							// The presigned URL names the made-up host; send
							// it to the server with that Host header.
							pu, _ := url.Parse(u)
							req, _ := http.NewRequest("GET", "http://"+f.addr+pu.RequestURI(), nil)
							req.Host = pu.Host
							resp, body := doRequest(t, req)
							if resp.StatusCode != 200 || string(body) != sigBody {
								t.Fatalf("presigned GET %s: %d %s", u, resp.StatusCode, body)
							}
							continue
						}
						resp, body := doRequest(t, mustReq(t, "GET", u))
						if resp.StatusCode != 200 || string(body) != sigBody {
							t.Fatalf("presigned GET %s: %d %s", u, resp.StatusCode, body)
						}
					}
				})
			}
		}
	}
}

func mustReq(t *testing.T, method, u string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// TestSignatureRejections checks each way a signature can be wrong.
func TestSignatureRejections(t *testing.T) {
	f := newFixture(t, Config{AccessKeyID: testAK, AccessKeySecret: testSK, RequireClientAuth: true}, sigFiles())
	key := "photos/a.jpg"
	bucket := func(t *testing.T, ak, sk string, opts ...oss.ClientOption) *oss.Bucket {
		c, err := oss.New("http://"+f.addr, ak, sk, opts...)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := c.Bucket("local")
		return b
	}
	getErr := func(t *testing.T, b *oss.Bucket) oss.ServiceError {
		rc, err := b.GetObject(key)
		if err == nil {
			rc.Close()
			t.Fatal("GET succeeded")
		}
		return serviceError(t, err)
	}
	tests := []struct {
		name     string
		run      func(t *testing.T) (status int, code string)
		wantCode string
		status   int
	}{
		{"v1 wrong secret", func(t *testing.T) (int, string) {
			e := getErr(t, bucket(t, testAK, "nope", v1()...))
			if !strings.HasPrefix(parseErr(t, []byte(e.RawMessage)).StringToSign, "GET\n") {
				t.Errorf("no StringToSign in %s", e.RawMessage)
			}
			return e.StatusCode, e.Code
		}, "SignatureDoesNotMatch", 403},
		{"v4 wrong secret", func(t *testing.T) (int, string) {
			e := getErr(t, bucket(t, testAK, "nope", v4()...))
			if !strings.HasPrefix(parseErr(t, []byte(e.RawMessage)).CanonicalRequest, "GET\n/local/photos/a.jpg\n") {
				t.Errorf("no CanonicalRequest in %s", e.RawMessage)
			}
			return e.StatusCode, e.Code
		}, "SignatureDoesNotMatch", 403},
		{"v1 unknown key id", func(t *testing.T) (int, string) {
			e := getErr(t, bucket(t, "LTAIother", testSK, v1()...))
			return e.StatusCode, e.Code
		}, "InvalidAccessKeyId", 403},
		{"v4 unknown key id", func(t *testing.T) (int, string) {
			e := getErr(t, bucket(t, "LTAIother", testSK, v4()...))
			return e.StatusCode, e.Code
		}, "InvalidAccessKeyId", 403},
		{"v4 wrong region", func(t *testing.T) (int, string) {
			e := getErr(t, bucket(t, testAK, testSK, oss.AuthVersion(oss.AuthV4), oss.Region("cn-beijing")))
			return e.StatusCode, e.Code
		}, "InvalidArgument", 400},
		{"token sent to long-term key", func(t *testing.T) (int, string) {
			e := getErr(t, bucket(t, testAK, testSK, append(v4(), oss.SecurityToken("x"))...))
			return e.StatusCode, e.Code
		}, "InvalidSecurityToken", 403},
		{"v2 not supported", func(t *testing.T) (int, string) {
			e := getErr(t, bucket(t, testAK, testSK, oss.AuthVersion(oss.AuthV2)))
			return e.StatusCode, e.Code
		}, "InvalidArgument", 400},
		{"anonymous", func(t *testing.T) (int, string) {
			resp, body := f.do("GET", "/local/"+key, nil)
			return resp.StatusCode, parseErr(t, body).Code
		}, "AccessDenied", 403},
		{"anonymous HEAD through access point", func(t *testing.T) (int, string) {
			resp, _ := f.do("HEAD", "/"+f.srv.Alias("media")+"/"+key, nil)
			return resp.StatusCode, resp.Header.Get("x-oss-err")
		}, "", 403},
		{"v1 presign tampered sub-resource", func(t *testing.T) (int, string) {
			u, _ := bucket(t, testAK, testSK, v1()...).SignURL(key, oss.HTTPGet, 60)
			resp, body := doRequest(t, mustReq(t, "GET", u+"&response-content-type=text/evil"))
			return resp.StatusCode, parseErr(t, body).Code
		}, "SignatureDoesNotMatch", 403},
		{"v4 presign tampered query", func(t *testing.T) (int, string) {
			u, _ := bucket(t, testAK, testSK, v4()...).SignURL(key, oss.HTTPGet, 60)
			resp, body := doRequest(t, mustReq(t, "GET", u+"&foo=bar"))
			return resp.StatusCode, parseErr(t, body).Code
		}, "SignatureDoesNotMatch", 403},
		{"v4 presign other key", func(t *testing.T) (int, string) {
			u, _ := bucket(t, testAK, testSK, v4()...).SignURL(key, oss.HTTPGet, 60)
			resp, body := doRequest(t, mustReq(t, "GET", strings.Replace(u, "a.jpg", "b.jpg", 1)))
			return resp.StatusCode, parseErr(t, body).Code
		}, "SignatureDoesNotMatch", 403},
		{"v4 presign unsigned x-oss header", func(t *testing.T) (int, string) {
			u, _ := bucket(t, testAK, testSK, v4()...).SignURL(key, oss.HTTPGet, 60)
			req := mustReq(t, "GET", u)
			req.Header.Set("x-oss-range-behavior", "standard")
			resp, body := doRequest(t, req)
			return resp.StatusCode, parseErr(t, body).Code
		}, "SignatureDoesNotMatch", 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, code := tt.run(t)
			if status != tt.status || (tt.wantCode != "" && code != tt.wantCode) {
				t.Errorf("got %d %s, want %d %s", status, code, tt.status, tt.wantCode)
			}
		})
	}
}

// TestSignatureTimeChecks moves the server clock to expire presigned URLs and
// skew header signatures.
func TestSignatureTimeChecks(t *testing.T) {
	f := newFixture(t, Config{AccessKeyID: testAK, AccessKeySecret: testSK}, sigFiles())
	key := "photos/a.jpg"
	for _, av := range []struct {
		name string
		opts []oss.ClientOption
	}{{"v1", v1()}, {"v4", v4()}} {
		b, _ := sdkClient(t, "http://"+f.addr, "", av.opts...).Bucket("local")
		u, err := b.SignURL(key, oss.HTTPGet, 60)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(av.name+"/presign valid", func(t *testing.T) {
			if resp, body := doRequest(t, mustReq(t, "GET", u)); resp.StatusCode != 200 {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
		})
		t.Run(av.name+"/presign expired", func(t *testing.T) {
			f.clock.Shift(2 * time.Minute)
			defer f.clock.Shift(-2 * time.Minute)
			resp, body := doRequest(t, mustReq(t, "GET", u))
			if e := parseErr(t, body); resp.StatusCode != 403 || e.Code != "AccessDenied" || e.Message != "Request has expired." {
				t.Fatalf("%d %+v", resp.StatusCode, e)
			}
		})
		t.Run(av.name+"/header skewed", func(t *testing.T) {
			f.clock.Shift(20 * time.Minute)
			defer f.clock.Shift(-20 * time.Minute)
			_, err := b.GetObject(key)
			if e := serviceError(t, err); e.StatusCode != 403 || e.Code != "RequestTimeTooSkewed" {
				t.Fatalf("%d %s", e.StatusCode, e.Code)
			}
		})
		t.Run(av.name+"/header within skew", func(t *testing.T) {
			f.clock.Shift(10 * time.Minute)
			defer f.clock.Shift(-10 * time.Minute)
			rc, err := b.GetObject(key)
			if err != nil {
				t.Fatal(err)
			}
			rc.Close()
		})
	}
}

// TestSTSTokenRequired checks that a configured security token must be sent.
func TestSTSTokenRequired(t *testing.T) {
	f := newFixture(t, Config{AccessKeyID: testAK, AccessKeySecret: testSK, SecurityToken: testSTS}, sigFiles())
	for _, tc := range []struct {
		name  string
		opts  []oss.ClientOption
		code  string
		allow bool
	}{
		{"v4 with token", append(v4(), oss.SecurityToken(testSTS)), "", true},
		{"v1 with token", append(v1(), oss.SecurityToken(testSTS)), "", true},
		{"v4 without token", v4(), "InvalidAccessKeyId", false},
		{"v1 wrong token", append(v1(), oss.SecurityToken("other")), "InvalidSecurityToken", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := sdkClient(t, "http://"+f.addr, "", tc.opts...).Bucket("local")
			rc, err := b.GetObject("photos/a.jpg")
			if tc.allow {
				if err != nil {
					t.Fatal(err)
				}
				rc.Close()
				return
			}
			if e := serviceError(t, err); e.Code != tc.code {
				t.Fatalf("code %s, want %s", e.Code, tc.code)
			}
		})
	}
}
