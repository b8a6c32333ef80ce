package engine

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opaprules/opaprules/rules"
)

func pngOf(t *testing.T, w, h int, c color.NRGBA) string {
	t.Helper()
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(m.Pix); i += 4 {
		m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func decodeSize(t *testing.T, body string) (image.Point, color.Color) {
	t.Helper()
	m, _, err := image.Decode(strings.NewReader(body))
	if err != nil {
		t.Fatalf("the answer is not a picture: %v", err)
	}
	return m.Bounds().Size(), m.At(0, 0)
}

const fallbackRules = `
  - name: private
    when: key startsWith "private/"
    actions: [{deny: {status: 403}}]
  - name: thumbnails
    when: '"w" in query'
    actions: [{resize: {width: "${ int(query.w) }"}}]
  - name: strict
    when: query.h != "" && int(query.h) > 0
    on_error: fallback
    actions: [{headers: {cache_control: "public, max-age=600"}}]
  - name: caching
    actions: [{headers: {cache_control: "public, max-age=86400"}}]
`

// A missing or broken picture gets the fallback, put through the plan;
// anything else keeps its error.
func TestFallback(t *testing.T) {
	red := color.NRGBA{200, 10, 10, 255}
	files := map[string]string{
		"brand/missing.png": pngOf(t, 40, 20, red),
		"photos/real.png":   pngOf(t, 40, 20, color.NRGBA{10, 200, 10, 255}),
		"photos/broken.jpg": "this is not a JPEG",
		"docs/a.txt":        text,
	}
	e := newEnv(t, `settings:
  fallback: {key: brand/missing.png, status: 404, cache_control: "public, max-age=60"}
rules:`+fallbackRules, files)

	missing := e.get("/photos/nope.jpg?w=20")
	if missing.status != 404 || missing.header.Get("Content-Type") != "image/png" || missing.header.Get("Cache-Control") != "public, max-age=60" {
		t.Fatalf("missing picture: %d %v %q", missing.status, missing.header, missing.body)
	}
	if size, c := decodeSize(t, missing.body); size != image.Pt(20, 10) || color.NRGBAModel.Convert(c) != red {
		t.Errorf("missing picture: the fallback came out %v %v, want 20×10 and red", size, c)
	}
	real := e.get("/photos/real.png?w=20")
	if real.status != 200 || real.header.Get("ETag") == "" || real.header.Get("ETag") == missing.header.Get("ETag") || missing.header.Get("ETag") == "" {
		t.Errorf("ETags: real %q, fallback %q: want both, and different", real.header.Get("ETag"), missing.header.Get("ETag"))
	}
	if r := e.get("/photos/nope.jpg?w=20", "If-None-Match", missing.header.Get("ETag")); r.status != 304 {
		t.Errorf("revalidating the fallback: %d", r.status)
	}

	broken := e.get("/photos/broken.jpg?w=10")
	if broken.status != 404 {
		t.Fatalf("undecodable picture: %d %s", broken.status, broken.body)
	}
	if size, _ := decodeSize(t, broken.body); size != image.Pt(10, 5) {
		t.Errorf("undecodable picture: fallback %v, want 10×5", size)
	}
	// A passthrough of a missing picture gets it too, through the plan's
	// headers, but with the fallback's own Cache-Control.
	plain := e.get("/photos/nope.png")
	if size, _ := decodeSize(t, plain.body); plain.status != 404 || size != image.Pt(40, 20) || plain.header.Get("Cache-Control") != "public, max-age=60" {
		t.Errorf("passthrough of a missing picture: %d %v %v", plain.status, size, plain.header)
	}
	// A rule with on_error: fallback that cannot be evaluated: the rest of
	// the plan still runs on the fallback.
	bad := e.get("/photos/real.png?w=8&h=abc")
	if size, _ := decodeSize(t, bad.body); bad.status != 404 || size != image.Pt(8, 4) {
		t.Errorf("on_error: fallback: %d %v", bad.status, size)
	}

	if r := e.get("/docs/none.txt"); r.status != 404 || r.errorCode() != "NoSuchKey" {
		t.Errorf("a missing text file: %d %s, want the 404 error", r.status, r.body)
	}
	if r := e.get("/private/nope.jpg"); r.status != 403 || r.errorCode() != "AccessDenied" {
		t.Errorf("deny: %d %s", r.status, r.body)
	}
}

// A fallback shipped as a file answers 200 by default, and when the
// fallback itself cannot be had, the client gets the original error.
func TestFallbackFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "placeholder.png")
	if err := os.WriteFile(file, []byte(pngOf(t, 30, 30, color.NRGBA{0, 0, 255, 255})), 0o644); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, "settings:\n  fallback: {file: "+file+"}\nrules:"+fallbackRules, nil)
	r := e.get("/photos/nope.webp?w=15")
	if size, _ := decodeSize(t, r.body); r.status != 200 || size != image.Pt(15, 15) || r.header.Get("Cache-Control") != "public, max-age=60" {
		t.Errorf("fallback file: %d %v %v", r.status, size, r.header)
	}

	e = newEnv(t, "settings:\n  fallback: {key: brand/gone.png}\nrules:"+fallbackRules, nil)
	if r := e.get("/photos/nope.jpg?w=15"); r.status != 404 || r.errorCode() != "NoSuchKey" {
		t.Errorf("a missing fallback: %d %s, want the original 404", r.status, r.body)
	}
}

func TestFallbackLoadErrors(t *testing.T) {
	dir := t.TempDir()
	notPicture := filepath.Join(dir, "a.txt")
	os.WriteFile(notPicture, []byte("hello"), 0o644)
	for _, tc := range []struct{ name, yaml, want string }{
		{"no fallback", "rules:\n  - name: a\n    when: int(query.w) > 0\n    on_error: fallback\n", `5:15: rule "a": on_error: fallback needs settings.fallback`},
		{"key and file", "settings:\n  fallback: {key: a.png, file: b.png}\nrules: []\n", "3:3: settings.fallback: set exactly one of key and file"},
		{"not a picture", "settings:\n  fallback: {file: " + notPicture + "}\nrules: []\n", "is not a picture"},
		{"missing file", "settings:\n  fallback: {file: " + filepath.Join(dir, "none.png") + "}\nrules: []\n", "no such file"},
		{"bad status", "settings:\n  fallback: {key: a.png, status: 302}\nrules: []\n", "status"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := rules.Load("rules.yaml", []byte("version: 1\n"+tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}

// image.* reads the picture's header from the first bytes of the original,
// which then still streams through whole.
func TestImageFactsInConditions(t *testing.T) {
	opaque := pngOf(t, 40, 20, color.NRGBA{1, 2, 3, 255})
	clear := pngOf(t, 10, 30, color.NRGBA{1, 2, 3, 0})
	e := newEnv(t, `rules:
  - name: facts
    when: image.format != "" || key endsWith ".txt"
    actions: [{headers: {cache_control: "w=${ image.width },h=${ image.height },f=${ image.format },a=${ image.alpha },n=${ image.frames },o=${ image.orientation }"}}]
`, map[string]string{"a.png": opaque, "b.png": clear, "c.txt": text})
	for _, tc := range []struct{ path, want, body string }{
		{"/a.png", "w=40,h=20,f=png,a=false,n=1,o=1", opaque},
		{"/b.png", "w=10,h=30,f=png,a=true,n=1,o=1", clear},
		{"/c.txt", "w=0,h=0,f=,a=false,n=0,o=0", text},
	} {
		r := e.get(tc.path)
		if r.status != 200 || r.header.Get("Cache-Control") != tc.want || r.body != tc.body {
			t.Errorf("%s: %d %q (body intact: %v), want %q", tc.path, r.status, r.header.Get("Cache-Control"), r.body == tc.body, tc.want)
		}
	}
	// With a conditional, the passthrough asks the origin again.
	if r := e.get("/a.png", "Range", "bytes=0-3"); r.status != 206 || r.body != opaque[:4] {
		t.Errorf("range after a header read: %d %q", r.status, r.body)
	}
}
