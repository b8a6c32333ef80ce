package pngdec

import (
	"bytes"
	"image/png"
	"reflect"
	"testing"
)

// FuzzDecode: whatever the bytes, Decode does not panic, and it agrees
// with image/png: both fail, or both return the same type and pixels.
func FuzzDecode(f *testing.F) {
	for _, p := range []testPNG{
		{w: 5, h: 4, colour: colourRGB, depth: 8, filter: cycle, level: 6, chunk: 9, samples: samples(3)},
		{w: 3, h: 6, colour: colourRGBA, depth: 8, filter: cycle, level: 1, samples: samples(4)},
		{w: 7, h: 2, colour: colourGrey, depth: 8, filter: cycle, level: 0, samples: samples(1)},
		{w: 4, h: 4, colour: colourGrey, depth: 8, filter: cycle, level: 6, interlace: true, samples: samples(1)},
	} {
		f.Add(p.encode())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if cfg, err := png.DecodeConfig(bytes.NewReader(data)); err == nil && cfg.Width*cfg.Height > 1<<20 {
			return
		}
		got, err := Decode(data)
		want, stdErr := png.Decode(bytes.NewReader(data))
		switch {
		case err != nil && stdErr != nil:
		case err != nil:
			t.Fatalf("Decode: %v; image/png decodes it", err)
		case stdErr != nil:
			// The one difference on purpose: bytes after the end of the
			// zlib stream in its last IDAT chunk, which libpng ignores
			// and image/png refuses.
			if stdErr.Error() != "png: invalid format: too much pixel data" {
				t.Fatalf("Decode succeeded; image/png: %v", stdErr)
			}
		default:
			if reflect.TypeOf(got) != reflect.TypeOf(want) || !samePixels(got, want) {
				t.Fatalf("Decode returned %T, different from image/png's %T", got, want)
			}
		}
	})
}

// FuzzPixelData fuzzes what lies under the chunk checksums that stop
// most mutations of whole files: the size and colour type in IHDR and the
// decompressed pixel data (filter bytes included, of any length), put
// into a well-formed file.
func FuzzPixelData(f *testing.F) {
	f.Add(uint8(5), uint8(4), uint8(colourRGB), false, []byte("\x01abcdefghijklmno\x04abcdefghijklmno\x02abcdefghijklmno\x03abcdefghijklmno"))
	f.Add(uint8(1), uint8(1), uint8(colourRGBA), false, []byte("\x04\xff\xfe\xfd\xfc"))
	f.Add(uint8(3), uint8(2), uint8(colourGrey), true, []byte("\x03abc\x04def"))
	f.Add(uint8(3), uint8(2), uint8(colourPalette), false, []byte("\x45\x01\x00\x01\x02\x04\x03\x02\x10"))
	f.Fuzz(func(t *testing.T, w, h, colour uint8, interlace bool, raw []byte) {
		p := testPNG{w: int(w), h: int(h), colour: colour, depth: 8, interlace: interlace}
		if colour == colourPalette && len(raw) > 0 {
			// A palette of raw[0]%32 entries (none: no PLTE) and a tRNS
			// of raw[0]/32.
			p.plte = bytes.Repeat([]byte{40, 80, 120}, int(raw[0]%32))
			if len(p.plte) == 0 {
				p.plte = nil
			}
			p.trns = bytes.Repeat([]byte{99}, int(raw[0]/32))
			if len(p.trns) == 0 {
				p.trns = nil
			}
			raw = raw[1:]
		}
		data := p.wrap(raw)
		got, err := Decode(data)
		want, stdErr := png.Decode(bytes.NewReader(data))
		if (err == nil) != (stdErr == nil) {
			t.Fatalf("Decode: %v; image/png: %v", err, stdErr)
		}
		if err == nil && (reflect.TypeOf(got) != reflect.TypeOf(want) || !samePixels(got, want)) {
			t.Fatalf("Decode returned %T, different from image/png's %T", got, want)
		}
	})
}
