package jpegdec

import (
	"bytes"
	"path/filepath"
	"testing"
)

// DecodeBytes decodes in place: the same result as Decode, input intact.
func TestDecodeBytes(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.jpg")
	for _, name := range files {
		data := readFixture(t, filepath.Base(name))
		keep := bytes.Clone(data)
		for _, s := range scales {
			for _, sharp := range []bool{false, true} {
				opts := Options{Scale: s, SharpChroma: sharp}
				a, errA := decode(bytes.NewReader(data), opts)
				b, errB := DecodeBytes(data, opts)
				if (errA == nil) != (errB == nil) {
					t.Fatalf("%s: Decode %v, DecodeBytes %v", name, errA, errB)
				}
				if errA != nil {
					continue
				}
				pa, pb := planesOf(t, a), planesOf(t, b)
				for i := range pa {
					if md, where := maxDiff(pa[i], pb[i]); md != 0 {
						t.Fatalf("%s scale %d: plane %d differs at %s", name, s, i, where)
					}
				}
			}
		}
		if !bytes.Equal(data, keep) {
			t.Fatalf("%s: DecodeBytes changed its input", name)
		}
	}
	if _, err := DecodeBytes(nil, Options{Scale: 3}); err == nil {
		t.Fatal("scale 3 accepted")
	}
	if _, err := DecodeBytes(nil, Options{}); err == nil {
		t.Fatal("empty input decoded")
	}
}
