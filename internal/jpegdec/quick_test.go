package jpegdec

import (
	"bytes"
	"image/jpeg"
	"testing"
)

func TestQuick(t *testing.T) {
	src := photo(203, 117, 1)
	data := encodeStd(t, src, 90)
	ref, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	rp := planesOf(t, ref)
	for _, s := range []int{1, 2, 4, 8} {
		img, err := Decode(bytes.NewReader(data), Options{Scale: s})
		if err != nil {
			t.Fatal(err)
		}
		gp := planesOf(t, img)
		for i := range rp {
			want := boxDown(rp[i], s)
			md, where := maxDiff(gp[i], want)
			t.Logf("scale %d plane %d: maxdiff %d %s psnr %.1f", s, i, md, where, psnr(gp[i], want))
		}
	}
}
