package jpegdec

import (
	"bytes"
	"fmt"
	"image/jpeg"
	"os/exec"
	"sync"
	"testing"
)

var bench struct {
	once              sync.Once
	baseline, progJPG []byte
	progErr           string
}

// benchInputs encodes a 4000×3000 photo-like image at q90 with image/jpeg
// (baseline 4:2:0) and, when jpegtran is installed, losslessly converts it
// to progressive.
func benchInputs(b *testing.B) ([]byte, []byte) {
	bench.once.Do(func() {
		bench.baseline = encodeStd(b, photo(4000, 3000, 1), 90)
		path, err := exec.LookPath("jpegtran")
		if err != nil {
			bench.progErr = "jpegtran not installed"
			return
		}
		cmd := exec.Command(path, "-progressive")
		cmd.Stdin = bytes.NewReader(bench.baseline)
		out, err := cmd.Output()
		if err != nil {
			bench.progErr = err.Error()
			return
		}
		bench.progJPG = out
	})
	return bench.baseline, bench.progJPG
}

func BenchmarkDecode4000x3000(b *testing.B) {
	baseline, prog := benchInputs(b)
	for _, kind := range []struct {
		name string
		data []byte
	}{{"baseline", baseline}, {"progressive", prog}} {
		for _, s := range scales {
			b.Run(fmt.Sprintf("%s/scale=%d", kind.name, s), func(b *testing.B) {
				if kind.data == nil {
					b.Skip(bench.progErr)
				}
				b.SetBytes(int64(len(kind.data)))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := decode(bytes.NewReader(kind.data), Options{Scale: s}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		b.Run(kind.name+"/imagejpeg", func(b *testing.B) {
			if kind.data == nil {
				b.Skip(bench.progErr)
			}
			b.SetBytes(int64(len(kind.data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := jpeg.Decode(bytes.NewReader(kind.data)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
