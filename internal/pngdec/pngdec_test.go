package pngdec

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/png"
	"reflect"
	"testing"
)

// sample returns byte k of pixel (x, y): a gradient with noise, so that
// every filter's arithmetic wraps around 0 and 255.
func sample(x, y, k int) byte {
	h := uint32(x*73856093 ^ y*19349663 ^ k*83492791)
	h ^= h >> 13
	h *= 0x5bd1e995
	return byte(x*3+y*5+k*40) + byte(h>>24)%32
}

func samples(n int) func(x, y int) []byte {
	return func(x, y int) []byte {
		b := make([]byte, n)
		for k := range b {
			b[k] = sample(x, y, k)
		}
		return b
	}
}

func each(ft byte) func(int) byte { return func(int) byte { return ft } }

// cycle uses every filter type in turn, so that each row predicts from a
// row unfiltered by another filter.
func cycle(y int) byte { return byte(y % 5) }

// TestMatchesImagePNG: for every file, fast path or not, Decode returns
// what image/png returns, type and pixels.
func TestMatchesImagePNG(t *testing.T) {
	layouts := []struct {
		name   string
		colour byte
		fast   bool
	}{
		{"grey", colourGrey, true},
		{"rgb", colourRGB, true},
		{"rgba", colourRGBA, true},
		{"grey+alpha", colourGreyAlpha, false},
	}
	sizes := [][2]int{{1, 1}, {1, 9}, {9, 1}, {2, 3}, {5, 5}, {13, 11}, {67, 33}}
	filters := []struct {
		name string
		f    func(int) byte
	}{
		{"none", each(filterNone)}, {"sub", each(filterSub)}, {"up", each(filterUp)},
		{"avg", each(filterAvg)}, {"paeth", each(filterPaeth)}, {"cycle", cycle},
	}
	for _, l := range layouts {
		for _, sz := range sizes {
			for _, f := range filters {
				for _, interlace := range []bool{false, true} {
					p := testPNG{w: sz[0], h: sz[1], colour: l.colour, depth: 8, interlace: interlace, filter: f.f, level: 6,
						chunk: 7, samples: samples(channels(l.colour))}
					name := fmt.Sprintf("%s/%dx%d/%s", l.name, sz[0], sz[1], f.name)
					if interlace {
						name += "/adam7"
					}
					t.Run(name, func(t *testing.T) {
						checkSame(t, p.encode(), l.fast)
					})
				}
			}
		}
	}
}

// TestPalettes: 8-bit palette files on the fast path, with the palette
// image/png builds: tRNS shorter and longer than PLTE, indices past the
// palette's end (opaque black), every filter.
func TestPalettes(t *testing.T) {
	plte := make([]byte, 3*12)
	for i := range plte {
		plte[i] = byte(i * 7)
	}
	cases := map[string]struct {
		trns []byte
		top  int // indices are below top
	}{
		"opaque":             {nil, 12},
		"tRNS shorter":       {[]byte{0, 128, 255}, 12},
		"tRNS longer":        {[]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}, 15},
		"indices past PLTE":  {nil, 40},
		"indices, tRNS, 256": {[]byte{9, 8, 7}, 256},
	}
	for name, tc := range cases {
		for _, f := range []struct {
			name string
			f    func(int) byte
		}{{"none", each(filterNone)}, {"paeth", each(filterPaeth)}, {"cycle", cycle}} {
			for _, interlace := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%s/interlaced=%v", name, f.name, interlace), func(t *testing.T) {
					p := testPNG{w: 29, h: 13, colour: colourPalette, depth: 8, interlace: interlace, plte: plte, trns: tc.trns, filter: f.f, level: 6,
						samples: func(x, y int) []byte { return []byte{byte(int(sample(x, y, 0)) % tc.top)} }}
					checkSame(t, p.encode(), true)
				})
			}
		}
	}
}

// TestOtherPNGsGoToImagePNG: what the fast path leaves to image/png comes
// back as image/png decodes it.
func TestOtherPNGsGoToImagePNG(t *testing.T) {
	cases := map[string]testPNG{
		"rgb 16-bit":            {w: 19, h: 7, colour: colourRGB, depth: 16, samples: samples(6)},
		"rgba 16-bit":           {w: 19, h: 7, colour: colourRGBA, depth: 16, samples: samples(8)},
		"grey 16-bit":           {w: 19, h: 7, colour: colourGrey, depth: 16, samples: samples(2)},
		"rgb with tRNS":         {w: 19, h: 7, colour: colourRGB, depth: 8, trns: []byte{0, sample(3, 3, 0), 0, sample(3, 3, 1), 0, sample(3, 3, 2)}, samples: samples(3)},
		"grey with tRNS":        {w: 19, h: 7, colour: colourGrey, depth: 8, trns: []byte{0, sample(2, 2, 0)}, samples: samples(1)},
		"interlaced grey+alpha": {w: 19, h: 7, colour: colourGreyAlpha, depth: 8, interlace: true, samples: samples(2)},
	}
	for name, p := range cases {
		t.Run(name, func(t *testing.T) {
			p.filter, p.level = cycle, 6
			checkSame(t, p.encode(), false)
		})
	}
}

// checkSame decodes data with Decode and with image/png and compares.
func checkSame(t *testing.T, data []byte, fast bool) {
	t.Helper()
	want, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("image/png: %v", err)
	}
	if _, _, ok, err := scan(data); ok != fast || err != nil {
		t.Fatalf("fast path = %v, %v; want %v", ok, err, fast)
	}
	got, err := Decode(data)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if reflect.TypeOf(got) != reflect.TypeOf(want) {
		t.Fatalf("Decode returned %T, image/png %T", got, want)
	}
	if !samePixels(got, want) {
		t.Fatalf("pixels differ from image/png's")
	}
}

func samePixels(a, b image.Image) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	type pixer interface {
		PixOffset(x, y int) int
	}
	switch a := a.(type) {
	case *image.Gray:
		return bytes.Equal(a.Pix, b.(*image.Gray).Pix)
	case *image.RGBA:
		return bytes.Equal(a.Pix, b.(*image.RGBA).Pix)
	case *image.NRGBA:
		return bytes.Equal(a.Pix, b.(*image.NRGBA).Pix)
	case *image.Paletted:
		bp := b.(*image.Paletted)
		return bytes.Equal(a.Pix, bp.Pix) && reflect.DeepEqual(a.Palette, bp.Palette)
	}
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if a.At(x, y) != b.At(x, y) {
				return false
			}
		}
	}
	return true
}

// TestBadFiles: a damaged file is an error, never a panic or a picture.
func TestBadFiles(t *testing.T) {
	good := testPNG{w: 23, h: 17, colour: colourRGB, depth: 8, filter: cycle, level: 6, chunk: 50, samples: samples(3)}
	data := good.encode()
	idat := bytes.Index(data, []byte("IDAT"))

	withIHDR := func(w, h int) []byte {
		p := good
		p.w, p.h = w, h
		return p.encode()
	}
	cases := map[string][]byte{
		"empty":        nil,
		"not a png":    []byte("GIF89a"),
		"bad crc":      flip(data, idat+10),
		"no IDAT":      withoutChunk(data, "IDAT"),
		"no IEND":      data[:len(data)-12],
		"width 0":      withIHDR(0, 5),
		"bad filter":   withFilterByte(5),
		"short stream": truncatedIDAT(good),
		"palette, tRNS before PLTE": testPNG{w: 5, h: 3, colour: colourPalette, depth: 8, plte: []byte{1, 2, 3},
			trns: []byte{1}, trnsFirst: true, filter: cycle, level: 6, samples: func(int, int) []byte { return []byte{0} }}.encode(),
		"palette, no PLTE": testPNG{w: 5, h: 3, colour: colourPalette, depth: 8, filter: cycle, level: 6,
			samples: func(int, int) []byte { return []byte{0} }}.encode(),
	}
	for i := len(signature); i < len(data); i += 37 {
		cases[fmt.Sprintf("truncated at %d", i)] = data[:i]
	}
	for name, d := range cases {
		t.Run(name, func(t *testing.T) {
			m, err := Decode(d)
			if err == nil {
				t.Fatalf("decoded %v, want an error", m.Bounds())
			}
			if _, stdErr := png.Decode(bytes.NewReader(d)); stdErr == nil {
				t.Errorf("image/png decodes it: the test's file is not broken")
			}
		})
	}
}

func flip(data []byte, i int) []byte {
	d := append([]byte(nil), data...)
	d[i] ^= 0x40
	return d
}

func withoutChunk(data []byte, typ string) []byte {
	var out []byte
	out = append(out, data[:len(signature)]...)
	p := data[len(signature):]
	for len(p) >= 12 {
		n := int(p[0])<<24 | int(p[1])<<16 | int(p[2])<<8 | int(p[3])
		if string(p[4:8]) != typ {
			out = append(out, p[:12+n]...)
		}
		p = p[12+n:]
	}
	return out
}

// withFilterByte writes a file whose row 1 has filter type ft.
func withFilterByte(ft byte) []byte {
	p := testPNG{w: 5, h: 3, colour: colourRGB, depth: 8, level: 6, samples: samples(3)}
	p.filter = func(y int) byte {
		if y == 1 {
			return ft
		}
		return 0
	}
	return p.encode()
}

// truncatedIDAT writes p with one row fewer of pixel data than IHDR says.
func truncatedIDAT(p testPNG) []byte {
	short := p
	short.h--
	d := short.encode()
	// Put the full height back in IHDR (and its CRC right).
	full := p.encode()
	ihdrEnd := len(signature) + 8 + 13 + 4
	return append(append([]byte(nil), full[:ihdrEnd]...), d[ihdrEnd:]...)
}

func TestErrorsAreFormatErrors(t *testing.T) {
	_, err := Decode(withFilterByte(9))
	var fe FormatError
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v (%T), want a FormatError", err, err)
	}
}
