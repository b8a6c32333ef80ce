package jpegdec

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.jpg")
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		// Truncations and a flipped byte in the entropy-coded data.
		f.Add(data[:len(data)*3/4])
		f.Add(data[:len(data)/3])
		if i := bytes.LastIndex(data, []byte{0xff, 0xda}); i > 0 && i+40 < len(data) {
			b := append([]byte(nil), data...)
			b[i+40] ^= 0x21
			f.Add(b)
		}
	}
	for _, data := range malformedInputs(f) {
		f.Add(data)
	}
	f.Add(encodeStd(f, photo(9, 17, 1), 50))
	f.Add(encodeStd(f, grayOf(photo(17, 9, 2)), 95))

	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		defer func() {
			if d := time.Since(start); d > 3*time.Second {
				t.Fatalf("slow input: %v", d)
			}
		}()
		cfg, cerr := DecodeConfig(bytes.NewReader(data))
		var firstErr error
		for i, s := range scales {
			img, err := decode(bytes.NewReader(data), Options{Scale: s})
			if err != nil {
				var fe FormatError
				var ue UnsupportedError
				if !errors.As(err, &fe) && !errors.As(err, &ue) {
					t.Fatalf("scale %d: unexpected error type %T: %v", s, err, err)
				}
			}
			// The bitstream parse does not depend on the scale.
			if i == 0 {
				firstErr = err
			} else if (err == nil) != (firstErr == nil) {
				t.Fatalf("scale %d: error %v, scale 1: %v", s, err, firstErr)
			}
			if err != nil {
				continue
			}
			if cerr != nil {
				t.Fatalf("Decode succeeded but DecodeConfig failed: %v", cerr)
			}
			b := img.Bounds()
			if b.Dx() != (cfg.Width+s-1)/s || b.Dy() != (cfg.Height+s-1)/s {
				t.Fatalf("scale %d: bounds %v for %dx%d", s, b, cfg.Width, cfg.Height)
			}
			// Touch the corners to catch short planes.
			img.At(b.Max.X-1, b.Max.Y-1)
			img.At(0, b.Max.Y-1)
			// Sharper chroma changes the planes, not the parse.
			sharp, err := decode(bytes.NewReader(data), Options{Scale: s, SharpChroma: true})
			if err != nil {
				t.Fatalf("scale %d: plain decode succeeded, SharpChroma: %v", s, err)
			}
			if sharp.Bounds() != b {
				t.Fatalf("scale %d: SharpChroma bounds %v, plain %v", s, sharp.Bounds(), b)
			}
			sharp.At(b.Max.X-1, b.Max.Y-1)
			sharp.At(0, b.Max.Y-1)
		}
	})
}
