package actions

import (
	"context"
	"encoding/json"
	"io"
	"testing"

	"github.com/opaprules/opaprules/internal/imageio"
)

func runJSON(t *testing.T, obj *Object, acts ...Action) (map[string]any, string) {
	t.Helper()
	defer obj.Close()
	for _, a := range acts {
		if err := a.Apply(context.Background(), obj); err != nil {
			t.Fatal(err)
		}
	}
	r, _, err := obj.Result(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r)
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%q: %v", b, err)
	}
	return doc, obj.Header.Get("Content-Type")
}

func TestImageInfo(t *testing.T) {
	src := encodeWith(t, &Image{Frames: []Frame{{Image: photo(120, 80)}}, Format: "jpeg"}, imageio.EncodeOptions{
		Format: "jpeg", Metadata: imageio.Metadata{EXIF: exifWithGPS()},
	})
	value := func(doc map[string]any, k string) any {
		v, ok := doc[k].(map[string]any)
		if !ok {
			return nil
		}
		return v["value"]
	}
	doc, ct := runJSON(t, object(src, ""), &ImageInfo{})
	if ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	for k, want := range map[string]string{
		"FileSize": itoa(len(src)), "Format": "jpg", "FrameCount": "1", "ImageWidth": "120", "ImageHeight": "80",
		"Artist": "Alice", "Copyright": "(c) Bob",
	} {
		if got := value(doc, k); got != want {
			t.Errorf("%s = %v, want %q", k, got, want)
		}
	}
	if value(doc, "GPSLatitude") != nil {
		t.Error("GPS reported without gps: true")
	}
	doc, _ = runJSON(t, object(src, ""), &ImageInfo{GPS: true})
	if got := value(doc, "GPSLatitude"); got != "31/1, 14/1, 2/1" {
		t.Errorf("GPSLatitude = %v", got)
	}
	// After a resize, info describes the result as encoded.
	r := newResize(60, 0, "")
	doc, _ = runJSON(t, object(src, ""), r, &ImageInfo{})
	if value(doc, "ImageWidth") != "60" || value(doc, "ImageHeight") != "40" {
		t.Errorf("after resize: %v", doc)
	}
	gif := animatedGIF(t, 3, 20, 10)
	doc, _ = runJSON(t, object(gif, ""), &ImageInfo{})
	if value(doc, "Format") != "gif" || value(doc, "FrameCount") != "3" {
		t.Errorf("gif: %v", doc)
	}
	err := applyErr(object([]byte("not an image at all"), ""), &ImageInfo{})
	wantCode(t, err, 400, CodeInvalidImage)
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }
