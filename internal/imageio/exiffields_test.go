package imageio

import (
	"encoding/binary"
	"testing"
)

// exifSample has IFD0 (Make, Orientation, XResolution), an EXIF directory
// (ExifVersion, ISOSpeedRatings) and a GPS directory (GPSLatitudeRef).
func exifSample() []byte {
	le := binary.LittleEndian
	b := []byte("II*\x00\x08\x00\x00\x00")
	entry := func(tag, typ uint16, count, value uint32) {
		b = le.AppendUint16(b, tag)
		b = le.AppendUint16(b, typ)
		b = le.AppendUint32(b, count)
		b = le.AppendUint32(b, value)
	}
	// IFD0 at 8 with 5 entries: 2 + 60 + 4 = 66 bytes, data from 74.
	b = le.AppendUint16(b, 5)
	entry(0x010F, 2, 4, le.Uint32([]byte("ACME")))
	entry(0x0112, 3, 1, 6)
	entry(0x011A, 5, 1, 74)
	entry(0x8769, 4, 1, 82)
	entry(0x8825, 4, 1, 112)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, 72)
	b = le.AppendUint32(b, 1)
	// EXIF IFD at 82: 2 entries (2 + 24 + 4 = 30 bytes).
	b = le.AppendUint16(b, 2)
	entry(0x9000, 7, 4, le.Uint32([]byte("0230")))
	entry(0x8827, 3, 1, 400)
	b = le.AppendUint32(b, 0)
	// GPS IFD at 112.
	b = le.AppendUint16(b, 1)
	entry(0x0001, 2, 2, le.Uint32([]byte("N\x00\x00\x00")))
	b = le.AppendUint32(b, 0)
	return b
}

func TestEXIFFields(t *testing.T) {
	want := []Field{{"Make", "ACME"}, {"Orientation", "6"}, {"XResolution", "72/1"}, {"ExifVersion", "0230"}, {"ISOSpeedRatings", "400"}}
	got := EXIFFields(exifSample(), false)
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	withGPS := EXIFFields(exifSample(), true)
	if last := withGPS[len(withGPS)-1]; last != (Field{"GPSLatitudeRef", "N"}) {
		t.Fatalf("GPS: %v", withGPS)
	}
}

// FuzzEXIFFields: any bytes, no panic, and bounded output.
func FuzzEXIFFields(f *testing.F) {
	f.Add(exifSample())
	f.Add([]byte("MM\x00*\x00\x00\x00\x08\x00\x01\x01\x0f\x00\x02\xff\xff\xff\xff\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, fl := range EXIFFields(b, true) {
			if len(fl.Value) > 64*24 {
				t.Fatalf("%s: %d bytes", fl.Name, len(fl.Value))
			}
		}
	})
}
