package actions

import (
	"bytes"
	"image"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/disintegration/imaging"

	"github.com/opaprules/opaprules/internal/imageio"
	"github.com/opaprules/opaprules/internal/reftest"
)

// heifEnc encodes m with libheif's heif-enc.
func heifEnc(t *testing.T, m *image.NRGBA, args ...string) []byte {
	t.Helper()
	dir := t.TempDir()
	src := reftest.WritePNG(t, dir, "in.png", m)
	out := filepath.Join(dir, "out.heic")
	reftest.Run(t, "heif-enc", append(args, "-o", out, src)...)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A HEIC goes through a plan as any source: without convert it comes out
// as JPEG (HEIC is read, not written), resized from pixels that match
// libheif's decode.
func TestHEICThroughAPlan(t *testing.T) {
	heavy(t)
	reftest.Tool(t, "heif-convert")
	src := photo(640, 480)
	data := heifEnc(t, src, "-q", "70")
	out, img := run(t, object(data, ""), &Resize{Width: 200, Mode: "fit", Filter: "lanczos"})
	if imageio.Sniff(out) != imageio.JPEG || size(img) != (image.Pt(200, 150)) {
		t.Fatalf("got %s %v, want a 200×150 JPEG", imageio.Sniff(out), size(img))
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "in.heic")
	if err := os.WriteFile(in, data, 0o644); err != nil {
		t.Fatal(err)
	}
	reftest.Run(t, "heif-convert", in, filepath.Join(dir, "ref.png"))
	want := imaging.Resize(reftest.ReadImage(t, filepath.Join(dir, "ref.png")), 200, 150, imaging.Lanczos)
	// JPEG q80 of the same pixels: the encode is what differs.
	if p := reftest.PSNR(img.Frames[0].Image, want); p < 36 {
		t.Errorf("%.1f dB from libheif's decode, resized the same way", p)
	}

	obj := object(data, "image/webp")
	out, _ = run(t, obj, &Resize{Width: 100, Mode: "fit", Filter: "lanczos"}, newConvert("auto"))
	if imageio.Sniff(out) != imageio.WebP || obj.Header.Get("Content-Type") != "image/webp" {
		t.Errorf("auto with Accept image/webp gave %s, %q", imageio.Sniff(out), obj.Header.Get("Content-Type"))
	}
}

// Limits apply from the header: a HEIC over max_source_pixels is refused
// before the decoder runs (its coded data is cut off here, which the
// decoder would reject as invalid instead).
func TestHEICLimitsFromHeader(t *testing.T) {
	reftest.Tool(t, "heif-enc")
	data := heifEnc(t, photo(320, 240), "-q", "50")
	i := bytes.LastIndex(data, []byte("mdat"))
	if i < 0 {
		t.Fatal("no mdat")
	}
	broken := data[:i-4]
	obj := object(broken, "")
	obj.Limits.MaxSourcePixels = 320*240 - 1
	wantCode(t, applyErr(obj, &Resize{Width: 10, Mode: "fit", Filter: "lanczos"}), http.StatusBadRequest, CodeImageTooLarge)
	obj = object(broken, "")
	obj.Limits.MaxDecodePixels = map[string]Count{"heic": 1000}
	err := applyErr(obj, &Resize{Width: 10, Mode: "fit", Filter: "lanczos"})
	wantCode(t, err, http.StatusBadRequest, CodeImageTooLarge)
	if e, _ := AsError(err); e == nil || !bytes.Contains([]byte(e.Message), []byte("max_decode_pixels.heic")) {
		t.Errorf("message %v does not name the limit", err)
	}
	if os.Getenv("OPAPRULES_HEAVY") != "" {
		// Within the limits the decoder does run, and fails.
		err := applyErr(object(broken, ""), &Resize{Width: 10, Mode: "fit", Filter: "lanczos"})
		wantCode(t, err, http.StatusBadRequest, CodeInvalidImage)
	}
}

func TestHEICUnsupportedForm(t *testing.T) {
	reftest.Tool(t, "heif-enc")
	data := heifEnc(t, photo(64, 48), "-q", "50", "-p", "chroma=444")
	err := applyErr(object(data, ""), &Resize{Width: 10, Mode: "fit", Filter: "lanczos"})
	wantCode(t, err, http.StatusBadRequest, CodeUnsupportedContent)
	if e, _ := AsError(err); e.Message != "heic images with 4:4:4 chroma are not supported" {
		t.Errorf("message %q", e.Message)
	}
}
