// Package jpegenc writes baseline and progressive JPEG (JFIF) files with
// Huffman tables fitted to each picture.
//
// image/jpeg writes the example tables of the standard (Annex K.3), which
// suit no picture in particular: libjpeg's optimize_coding (what libvips
// turns on) collects the symbol statistics of the quantised picture first
// and writes the optimal length-limited code for them, 10-20% smaller at
// the same quality. This package does the same: every block is
// transformed and quantised once into a coefficient store, a first pass
// over the store counts the symbols, a second one writes them. The store
// is what progressive output needs anyway, so both modes share it; the
// progressive scan script is libjpeg's default (jpeg_simple_progression):
// DC first at a point transform of 1, low then high luma AC bands at 2,
// chroma AC at 1, then the refinement scans.
//
// Sampling follows image/jpeg and libvips' default: colour pictures are
// written as YCbCr 4:2:0 (JFIF's BT.601 full-range conversion), grey ones
// as one component. The quantisation tables are the standard's, scaled by
// quality as libjpeg does, so a quality means what it means to cjpeg,
// libvips and image/jpeg.
package jpegenc

import (
	"errors"
	"image"
	"io"
)

// Options say how to encode.
type Options struct {
	// Quality is 1..100 on libjpeg's scale; values outside are clamped.
	Quality int
	// Progressive writes a progressive (SOF2) file with libjpeg's default
	// scan script; otherwise one baseline (SOF0) scan.
	Progressive bool
	// Chroma444 keeps colour at full resolution instead of 4:2:0.
	Chroma444 bool
}

// maxSide is the largest width or height a JPEG frame header can hold.
const maxSide = 65535

// Encode writes m to w as a JPEG. m is taken as opaque: alpha, if any, is
// dropped (flatten it first). Fast paths read *image.YCbCr, *image.Gray,
// *image.RGBA and *image.NRGBA directly; any other image goes through its
// colour model.
func Encode(w io.Writer, m image.Image, o Options) error {
	b, err := Append(nil, m, o)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// Append appends the JPEG encoding of m to dst.
func Append(dst []byte, m image.Image, o Options) ([]byte, error) {
	r := m.Bounds()
	if r.Empty() {
		return dst, errors.New("jpegenc: empty image")
	}
	if r.Dx() > maxSide || r.Dy() > maxSide {
		return dst, errors.New("jpegenc: image is too large for JPEG")
	}
	q := min(max(o.Quality, 1), 100)
	f := newFrame(m, o.Chroma444)
	f.quant = scaledTables(q)
	f.transform(m)
	e := &encoder{f: f, bw: bitWriter{buf: dst}}
	e.writeHeaders(o.Progressive)
	if o.Progressive {
		for _, s := range progressiveScript(len(f.comps)) {
			e.writeScan(s)
		}
	} else {
		all := make([]int, len(f.comps))
		for i := range all {
			all[i] = i
		}
		e.writeScan(scan{comps: all, ss: 0, se: 63})
	}
	e.bw.buf = append(e.bw.buf, 0xFF, 0xD9)
	return e.bw.buf, nil
}
