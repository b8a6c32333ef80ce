package localoss

import (
	"net/http/httptest"
	"testing"
)

func TestResolve(t *testing.T) {
	s, err := New(Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	def := s.Alias("local")
	tests := []struct {
		host, target string
		role         role
		key, ap      string
		alias        string
		res0         string // first canonical resource
	}{
		{"127.0.0.1:8080", "/photo.jpg?w=1", roleAccessPoint, "photo.jpg", "local", def, "/" + def + "/photo.jpg"},
		{"localhost:8080", "/a/b.jpg", roleAccessPoint, "a/b.jpg", "local", def, "/" + def + "/a/b.jpg"},
		{"127.0.0.1:8080", "/local/a/b.jpg", roleBucket, "a/b.jpg", "", "", "/local/a/b.jpg"},
		{"local.oss-cn-hangzhou.aliyuncs.com", "/a.jpg", roleBucket, "a.jpg", "", "", "/local/a.jpg"},
		{"LOCAL.localhost:1", "/a.jpg", roleBucket, "a.jpg", "", "", "/local/a.jpg"},
		{"[::1]:8080", "/media-1f2e-opapalias/x/y.png", roleAccessPoint, "x/y.png", "media", "media-1f2e-opapalias", "/media-1f2e-opapalias/x/y.png"},
		{"fc-ap-01-3b00521f-opapalias.oss-cn-hangzhou.oss-object-process.aliyuncs.com", "/k", roleAccessPoint, "k", "fc-ap-01", "fc-ap-01-3b00521f-opapalias", "/fc-ap-01-3b00521f-opapalias/k"},
		// Not aliases: no hash part, or a single label host.
		{"x-opapalias.example.com", "/k", roleAccessPoint, "k", "local", def, "/" + def + "/k"},
		{"media-1f2e-opapalias", "/k", roleAccessPoint, "k", "local", def, "/" + def + "/k"},
		{"127.0.0.1", "/-opapalias/k", roleAccessPoint, "-opapalias/k", "local", def, "/" + def + "/-opapalias/k"},
		{"127.0.0.1", "/", roleAccessPoint, "", "local", def, "/" + def + "/"},
	}
	for _, tt := range tests {
		t.Run(tt.host+tt.target, func(t *testing.T) {
			r := httptest.NewRequest("GET", tt.target, nil)
			r.Host = tt.host
			got := s.resolve(r)
			if got.role != tt.role || got.key != tt.key || got.accessPoint != tt.ap || got.alias != tt.alias || got.resources[0] != tt.res0 {
				t.Errorf("got %+v", got)
			}
		})
	}
}

func TestAliasShape(t *testing.T) {
	s, err := New(Config{Dir: t.TempDir(), Bucket: "photos"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a := s.Alias("media")
	if parseAlias(a) != "media" || len(a) > 63 || a == s.Alias("thumbs") {
		t.Errorf("alias %q", a)
	}
	other, err := New(Config{Dir: t.TempDir(), Bucket: "other"})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if other.Alias("media") == a {
		t.Error("alias does not depend on the bucket")
	}
}

func TestFwdHeaders(t *testing.T) {
	in := map[string][]string{
		"X-Oss-Fwd-Header-Content-Type":      {"image/webp"},
		"X-Oss-Fwd-Header-Etag":              {`"abc"`},
		"X-Oss-Fwd-Header-Content-Length":    {"5"},
		"X-Oss-Fwd-Header-Connection":        {"close"},
		"X-Oss-Fwd-Header-Transfer-Encoding": {"chunked"},
		"X-Oss-Fwd-Header-X-Oss-Request-Id":  {"spoof"},
		"X-Oss-Fwd-Header-Vary":              {"Accept"},
		"X-Oss-Fwd-Status":                   {"200"},
		"Content-Type":                       {"application/octet-stream"},
	}
	got := fwdHeaders(in)
	want := map[string]string{"Content-Type": "image/webp", "Etag": `"abc"`, "Vary": "Accept"}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for k, v := range want {
		if got.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, got.Get(k), v)
		}
	}
}

// Only hosts that name the bucket or an alias make every path a key;
// serve's own pages live on the plain address.
func TestVirtualHosted(t *testing.T) {
	s, err := New(Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for host, want := range map[string]bool{
		"127.0.0.1:8080":                          false,
		"localhost:8080":                          false,
		"[::1]:8080":                              false,
		"media-1f2e-opapalias":                    false, // one label: not virtual-host style
		"x-opapalias.example.com":                 false,
		"example.com":                             false,
		"local.localhost:8080":                    true,
		"LOCAL.oss-cn-hangzhou.aliyuncs.com":      true,
		"media-1f2e-opapalias.localhost:8080":     true,
		s.Alias("local") + ".oss-cn-hangzhou.com": true,
	} {
		if got := s.VirtualHosted(host); got != want {
			t.Errorf("VirtualHosted(%q) = %v, want %v", host, got, want)
		}
	}
}
