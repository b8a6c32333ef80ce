package pngdec

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
)

// testPNG describes a PNG the tests write themselves, so that every
// filter type meets every pixel layout (image/png's encoder picks filters
// by its own heuristic).
type testPNG struct {
	w, h      int
	colour    byte
	depth     byte
	interlace bool
	// filter gives row y's filter type (of each Adam7 pass's rows).
	filter func(y int) byte
	level  int    // zlib level
	chunk  int    // IDAT chunk size; 0 = one chunk
	trns   []byte // a tRNS chunk's body, if any
	// trnsFirst writes tRNS before PLTE (out of order).
	trnsFirst bool
	plte      []byte // a PLTE chunk's body, if any
	// samples returns the bytes of pixel (x, y), channels × depth/8 of them.
	samples func(x, y int) []byte
}

func channels(colour byte) int {
	return map[byte]int{colourGrey: 1, colourRGB: 3, colourPalette: 1, colourGreyAlpha: 2, colourRGBA: 4}[colour]
}

func (p testPNG) encode() []byte {
	bpp := channels(p.colour) * int(p.depth) / 8
	var raw bytes.Buffer
	passes := [][4]int{{0, 0, 1, 1}}
	if p.interlace {
		passes = [][4]int{{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}}
	}
	for _, ps := range passes {
		var prev []byte
		for y, row := ps[1], 0; y < p.h; y, row = y+ps[3], row+1 {
			var cur []byte
			for x := ps[0]; x < p.w; x += ps[2] {
				cur = append(cur, p.samples(x, y)...)
			}
			if len(cur) == 0 {
				continue
			}
			if prev == nil {
				prev = make([]byte, len(cur))
			}
			ft := p.filter(row)
			raw.WriteByte(ft)
			raw.Write(filterRow(ft, cur, prev, bpp))
			prev = cur
		}
	}
	return p.wrap(raw.Bytes())
}

// wrap writes a file around raw, the filtered rows (filter bytes
// included), compressed.
func (p testPNG) wrap(raw []byte) []byte {
	var z bytes.Buffer
	zw, err := zlib.NewWriterLevel(&z, p.level)
	if err != nil {
		panic(err)
	}
	zw.Write(raw)
	zw.Close()

	var out bytes.Buffer
	out.WriteString(signature)
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(p.w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(p.h))
	ihdr[8], ihdr[9] = p.depth, p.colour
	if p.interlace {
		ihdr[12] = 1
	}
	writeChunk(&out, "IHDR", ihdr)
	if p.trns != nil && p.trnsFirst {
		writeChunk(&out, "tRNS", p.trns)
	}
	if p.plte != nil {
		writeChunk(&out, "PLTE", p.plte)
	}
	if p.trns != nil && !p.trnsFirst {
		writeChunk(&out, "tRNS", p.trns)
	}
	writeChunk(&out, "tEXt", []byte("Comment\x00written by the pngdec tests"))
	data := z.Bytes()
	for len(data) > 0 {
		n := len(data)
		if p.chunk > 0 {
			n = min(n, p.chunk)
		}
		writeChunk(&out, "IDAT", data[:n])
		data = data[n:]
	}
	writeChunk(&out, "IEND", nil)
	return out.Bytes()
}

func writeChunk(b *bytes.Buffer, typ string, body []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(body)))
	b.Write(n[:])
	start := b.Len()
	b.WriteString(typ)
	b.Write(body)
	binary.BigEndian.PutUint32(n[:], crc32.ChecksumIEEE(b.Bytes()[start:]))
	b.Write(n[:])
}

// filterRow applies filter ft to cur (PNG specification 9.2), written
// from the specification's formulas, independently of the decoder.
func filterRow(ft byte, cur, prev []byte, bpp int) []byte {
	out := make([]byte, len(cur))
	for i := range cur {
		var a, b, c int
		if i >= bpp {
			a = int(cur[i-bpp])
			c = int(prev[i-bpp])
		}
		b = int(prev[i])
		var pred int
		switch ft {
		case filterSub:
			pred = a
		case filterUp:
			pred = b
		case filterAvg:
			pred = (a + b) / 2
		case filterPaeth:
			p := a + b - c
			pa, pb, pc := absInt(p-a), absInt(p-b), absInt(p-c)
			switch {
			case pa <= pb && pa <= pc:
				pred = a
			case pb <= pc:
				pred = b
			default:
				pred = c
			}
		}
		out[i] = cur[i] - byte(pred)
	}
	return out
}

func absInt(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
