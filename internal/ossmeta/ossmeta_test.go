package ossmeta

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
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
