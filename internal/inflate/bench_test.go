package inflate

import (
	"bytes"
	"compress/zlib"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// benchInput is a zlib stream and the size it decodes to.
type benchInput struct {
	name string
	z    []byte
	size int
}

// corpusDir holds real pictures on the developer's machine, not on CI.
var corpusDir = func() string {
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "opaprules", "corpus", "pictures")
}()

func benchInputs(b *testing.B) []benchInput {
	in := []benchInput{
		{name: "png-photo-1920x1080", z: photoIDAT(b, 1920, 1080)},
		{name: "text-1M", z: zlibBytes(b, text(1<<20, 8), 6)},
	}
	for _, name := range []string{"canopee.png", "warty-final-ubuntu.png"} {
		file, err := os.ReadFile(filepath.Join(corpusDir, name))
		if err != nil {
			continue // the benchmark below skips it by name
		}
		in = append(in, benchInput{name: name, z: idat(b, file)})
	}
	for i := range in {
		out, err := io.ReadAll(mustZlibReader(b, in[i].z))
		if err != nil {
			b.Fatal(err)
		}
		in[i].size = len(out)
	}
	return in
}

func mustZlibReader(b *testing.B, z []byte) io.ReadCloser {
	r, err := zlib.NewReader(bytes.NewReader(z))
	if err != nil {
		b.Fatal(err)
	}
	return r
}

func find(in []benchInput, name string) (benchInput, bool) {
	for _, x := range in {
		if x.name == name {
			return x, true
		}
	}
	return benchInput{}, false
}

var benchNames = []string{"png-photo-1920x1080", "text-1M", "canopee.png", "warty-final-ubuntu.png"}

// BenchmarkZlib and BenchmarkStdlib decode the same streams into a buffer
// of the known size; SetBytes counts the decompressed bytes.
func BenchmarkZlib(b *testing.B) {
	in := benchInputs(b)
	for _, name := range benchNames {
		b.Run(name, func(b *testing.B) {
			x, ok := find(in, name)
			if !ok {
				b.Skipf("%s is not in %s", name, corpusDir)
			}
			dst := make([]byte, x.size)
			b.SetBytes(int64(x.size))
			for b.Loop() {
				if n, err := Zlib(dst, x.z); err != nil || n != x.size {
					b.Fatal(n, err)
				}
			}
		})
	}
}

func BenchmarkStdlib(b *testing.B) {
	in := benchInputs(b)
	for _, name := range benchNames {
		b.Run(name, func(b *testing.B) {
			x, ok := find(in, name)
			if !ok {
				b.Skipf("%s is not in %s", name, corpusDir)
			}
			dst := make([]byte, x.size)
			r := bytes.NewReader(x.z)
			zr := mustZlibReader(b, x.z)
			b.SetBytes(int64(x.size))
			for b.Loop() {
				// A reused reader into a preallocated buffer: the
				// cheapest way compress/zlib can do the same job.
				r.Reset(x.z)
				if err := zr.(zlib.Resetter).Reset(r, nil); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(zr, dst); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
