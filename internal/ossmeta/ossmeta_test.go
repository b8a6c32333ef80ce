package ossmeta

import (
	"errors"
	"io/fs"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     http.Header
		err      string
	}{
		{"stored headers", `{"content-type":"text/csv","Content-Encoding":"gzip","x-oss-meta-Owner":"ops"}`,
			http.Header{"Content-Type": {"text/csv"}, "Content-Encoding": {"gzip"}, "X-Oss-Meta-Owner": {"ops"}}, ""},
		{"empty", `{}`, http.Header{}, ""},
		{"a header OSS does not store", `{"Set-Cookie":"a=b"}`, nil, `header "Set-Cookie" cannot be set`},
		{"not strings", `{"Content-Type":1}`, nil, "cannot unmarshal"},
		{"not JSON", `Content-Type: text/csv`, nil, "invalid character"},
		{"too large", `{"x-oss-meta-a":"` + strings.Repeat("a", MaxSize) + `"}`, nil, "larger than 64 KiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode(strings.NewReader(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestIsSidecar(t *testing.T) {
	if !IsSidecar("a/b.jpg.ossmeta.json") || IsSidecar("a/b.jpg") || IsSidecar("ossmeta.json") {
		t.Error("IsSidecar")
	}
}

func TestReadFS(t *testing.T) {
	fsys := fstest.MapFS{
		"a.txt":                {Data: []byte("a")},
		"a.txt.ossmeta.json":   {Data: []byte(`{"x-oss-meta-owner":"ops"}`)},
		"b.txt":                {Data: []byte("b")},
		"p.txt":                {Data: []byte("p")},
		"p.txt.ossmeta.json":   {Mode: fs.ModeNamedPipe},
		"bad.txt.ossmeta.json": {Data: []byte(`[]`)},
	}
	if h, err := ReadFS(fsys, "a.txt"); err != nil || h.Get("X-Oss-Meta-Owner") != "ops" {
		t.Errorf("a.txt: %v, %v", h, err)
	}
	if h, err := ReadFS(fsys, "b.txt"); err != nil || h != nil {
		t.Errorf("no sidecar: %v, %v; want nil, nil", h, err)
	}
	if _, err := ReadFS(fsys, "p.txt"); !errors.Is(err, ErrNotRegular) {
		t.Errorf("a FIFO sidecar: %v, want ErrNotRegular", err)
	}
	if _, err := ReadFS(fsys, "bad.txt"); err == nil {
		t.Error("a sidecar that is not an object of strings was accepted")
	}
}
