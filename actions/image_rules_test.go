package actions_test

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/opaprules/opaprules/actions"
	"github.com/opaprules/opaprules/internal/imageio"
	"github.com/opaprules/opaprules/rules"
)

// The image actions as operators write them: decoded from rules.yaml,
// templated per request, run as a plan.
const imageRules = `version: 1
limits: {max_source_pixels: 20M}
rules:
  - name: thumbnails
    when: ext == "jpg" && "w" in query
    actions:
      - rotate: {auto_orient: true}
      - resize: {width: "${ int(query.w) }", max_width: 300, mode: fill, height: 100, gravity: smart, filter: linear}
      - crop: {width: 280, gravity: center}
      - adjust: {contrast: 10, sharpen: 0.5}
      - flip: {direction: horizontal}
      - watermark: {text: "© ${ bucket }", position: south_east, opacity: 0.4, color: "#ffcc0080"}
      - convert: {format: auto, prefer: [webp], quality: 82, keep_metadata: [], background: white}
`

func TestImageActionsFromRules(t *testing.T) {
	rs, err := rules.Load("rules.yaml", []byte(imageRules))
	if err != nil {
		t.Fatal(err)
	}
	plan, err := rs.Evaluate(&rules.Request{
		Key: "photos/a.jpg", RawQuery: "w=5000", Method: "GET", Bucket: "shop",
		Header: http.Header{"Accept": {"image/avif,image/webp,*/*"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Steps) != 7 {
		t.Fatalf("plan has %d steps", len(plan.Steps))
	}
	src := image.NewRGBA(image.Rect(0, 0, 600, 400))
	for i := range src.Pix {
		src.Pix[i] = uint8(i * 7)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, src, nil); err != nil {
		t.Fatal(err)
	}
	req := &actions.Request{Key: "photos/a.jpg", Header: http.Header{"Accept": {"image/avif,image/webp,*/*"}}}
	obj := actions.NewObject(req, bytes.NewReader(buf.Bytes()), int64(buf.Len()), http.Header{"Content-Type": {"image/jpeg"}}, plan.Limits)
	defer obj.Close()
	var vary []string
	for _, s := range plan.Steps {
		if err := s.Action.Apply(context.Background(), obj); err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		if v, ok := s.Action.(actions.Varier); ok {
			h, k := v.Vary(req)
			vary = append(vary, h+"="+k)
		}
	}
	r, n, err := obj.Result(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(r)
	cfg, err := imageio.DecodeConfig(out)
	if err != nil || int64(len(out)) != n {
		t.Fatal(err)
	}
	// w=5000 clamps to max_width 300; fill 300×100, then a 280-wide crop.
	if cfg.Format != "webp" || cfg.Width != 280 || cfg.Height != 100 {
		t.Fatalf("got %s %dx%d, want webp 280x100", cfg.Format, cfg.Width, cfg.Height)
	}
	if ct := obj.Header.Get("Content-Type"); ct != "image/webp" {
		t.Fatalf("Content-Type %q", ct)
	}
	if strings.Join(vary, ";") != "Accept=webp" {
		t.Fatalf("vary %v", vary)
	}
}

func TestImageActionsLoadErrors(t *testing.T) {
	for _, tc := range []struct{ action, want string }{
		{`resize: {mode: fit}`, "set width, height"},
		{`resize: {width: 10, filter: bicubic}`, "filter"},
		{`crop: {gravity: north}`, "gravity needs"},
		{`convert: {format: heic}`, "format"},
		{`convert: {format: jpeg, keep_metadata: [gps]}`, "list exif too"},
		{`convert: {format: jpeg, quality: 101}`, "quality"},
		{`watermark: {text: a, color: mauve}`, "color"},
		{`watermark: {opacity: 1}`, "set text, image or file"},
		{`watermark: {text: a, font: /no/such/font.ttf}`, "font"},
		{`flip: {}`, "direction"},
		{`adjust: {}`, "at least one"},
		{`rotate: {angle: 720}`, "angle"},
	} {
		src := "version: 1\nrules:\n  - name: r\n    actions:\n      - " + tc.action + "\n"
		_, err := rules.Load("rules.yaml", []byte(src))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.action, err, tc.want)
		}
	}
}
