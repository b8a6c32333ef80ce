package actions

import (
	"encoding/binary"
	"slices"
	"testing"

	"github.com/opaprules/opaprules/internal/imageio"
)

// exifWithGPS builds an EXIF block with Artist, Copyright and a GPS
// directory holding a latitude.
func exifWithGPS() []byte {
	le := binary.LittleEndian
	b := []byte("II*\x00\x08\x00\x00\x00")
	// IFD0 at 8: 3 entries.
	b = le.AppendUint16(b, 3)
	entry := func(tag, typ uint16, count, value uint32) {
		b = le.AppendUint16(b, tag)
		b = le.AppendUint16(b, typ)
		b = le.AppendUint32(b, count)
		b = le.AppendUint32(b, value)
	}
	const artistOff, copyOff, gpsOff = 8 + 2 + 36 + 4, 8 + 2 + 36 + 4 + 6, 8 + 2 + 36 + 4 + 6 + 8
	entry(0x013B, 2, 6, artistOff)
	entry(0x8298, 2, 8, copyOff)
	entry(0x8825, 4, 1, gpsOff)
	b = le.AppendUint32(b, 0)
	b = append(b, "Alice\x00"...)
	b = append(b, "(c) Bob\x00"...)
	// GPS IFD: latitude (3 rationals, out of line).
	b = le.AppendUint16(b, 1)
	entry(0x0002, 5, 3, uint32(gpsOff+2+12+4))
	b = le.AppendUint32(b, 0)
	for _, v := range []uint32{31, 1, 14, 1, 2, 1} {
		b = le.AppendUint32(b, v)
	}
	return b
}

// fakeICC has the header fields the code reads (an RGB colour space at
// offset 16); the rest is filler to carry through.
var fakeICC = append([]byte("\x00\x00\x02\x00lcms\x02\x10\x00\x00mntrRGB XYZ "), make([]byte, 200)...)

var cmykICC = append([]byte("\x00\x00\x02\x00lcms\x02\x10\x00\x00prtrCMYKLab "), make([]byte, 200)...)

// A CMYK profile describes the source's ink values, not the RGB pixels an
// encoder writes: it is dropped even when icc is kept.
func TestMetadataDropsNonRGBProfile(t *testing.T) {
	src := encodeWith(t, &Image{Frames: []Frame{{Image: photo(32, 24)}}, Format: "jpeg"}, imageio.EncodeOptions{
		Format: "jpeg", Metadata: imageio.Metadata{ICC: cmykICC},
	})
	out, _ := run(t, object(src, ""), &Flip{Direction: "horizontal"}, newConvert("jpeg"))
	if m := imageio.ReadMetadata("jpeg", out); len(m.ICC) != 0 {
		t.Fatal("CMYK profile carried onto RGB output")
	}
}

func TestMetadataKeep(t *testing.T) {
	src := encodeWith(t, &Image{Frames: []Frame{{Image: photo(64, 48)}}, Format: "jpeg"}, imageio.EncodeOptions{
		Format: "jpeg", Metadata: imageio.Metadata{EXIF: exifWithGPS(), ICC: fakeICC},
	})
	for _, format := range []string{"jpeg", "png", "webp"} {
		for _, tc := range []struct {
			keep                       []string
			icc, exif, gps, copyrights bool
		}{
			{keep: nil, icc: true}, // the default keeps the colour profile only
			{keep: []string{}},
			{keep: []string{"copyright"}, copyrights: true},
			{keep: []string{"exif"}, exif: true, copyrights: true},
			{keep: []string{"exif", "gps", "icc"}, icc: true, exif: true, gps: true, copyrights: true},
		} {
			c := newConvert(format)
			if tc.keep != nil {
				c.KeepMetadata = tc.keep
			}
			out, _ := run(t, object(src, ""), &Flip{Direction: "horizontal"}, c)
			m := imageio.ReadMetadata(format, out)
			hasCopyright := len(m.EXIF) > 0 && slices.Equal(imageio.MinimalEXIF(m.EXIF, 1, true), imageio.MinimalEXIF(exifWithGPS(), 1, true))
			if got := slices.Equal(m.ICC, fakeICC); got != tc.icc {
				t.Errorf("%s keep %v: ICC kept %v, want %v", format, tc.keep, got, tc.icc)
			}
			if got := imageio.HasGPS(m.EXIF); got != tc.gps {
				t.Errorf("%s keep %v: GPS kept %v, want %v", format, tc.keep, got, tc.gps)
			}
			if hasCopyright != tc.copyrights {
				t.Errorf("%s keep %v: copyright kept %v, want %v", format, tc.keep, hasCopyright, tc.copyrights)
			}
			if !tc.exif && !tc.copyrights && len(m.EXIF) > 0 {
				t.Errorf("%s keep %v: output carries EXIF", format, tc.keep)
			}
		}
	}
}
