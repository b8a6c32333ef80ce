package engine

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"

	"github.com/opaprules/opaprules/internal/imageio"
	"github.com/opaprules/opaprules/internal/reftest"
)

// These tests run OSS IMG specs the way a client sends them, through the
// local OSS server and the real handler, and judge the answer as a client
// would: status, Content-Type, size, and pixels read back by the reference
// decoders (djpeg, dwebp; Go's for PNG, GIF, BMP, TIFF). Expected sizes
// come from Alibaba's IMG documentation (the 200×100 at w=150,h=80
// example of "Resize images", circle's r×2+1, indexcrop's partitions...).

var (
	red    = color.NRGBA{255, 0, 0, 255}
	green  = color.NRGBA{0, 255, 0, 255}
	blue   = color.NRGBA{0, 0, 255, 255}
	yellow = color.NRGBA{255, 255, 0, 255}
	white  = color.NRGBA{255, 255, 255, 255}
	black  = color.NRGBA{0, 0, 0, 255}
	clear_ = color.NRGBA{}
)

// quadrants is 200×100: red, green on top; blue, yellow below.
func quadrants() *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, 200, 100))
	for y := range 100 {
		for x := range 200 {
			c := red
			switch {
			case x >= 100 && y < 50:
				c = green
			case x < 100 && y >= 50:
				c = blue
			case x >= 100 && y >= 50:
				c = yellow
			}
			m.SetNRGBA(x, y, c)
		}
	}
	return m
}

func solidImg(w, h int, c color.NRGBA) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(m.Pix); i += 4 {
		m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	return m
}

func encodeAs(t testing.TB, format string, m image.Image, o imageio.EncodeOptions) string {
	t.Helper()
	o.Format = format
	if o.Speed == 0 {
		o.Speed = -1
	}
	b, err := imageio.Encode(&imageio.Image{Frames: []imageio.Frame{{Image: m}}, Format: format, Orientation: 1}, o)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// ossFiles are the test objects, made once per test binary.
func ossFiles(t testing.TB) map[string]string {
	ossFilesOnce.Do(func() { ossFilesMap = makeOSSFiles(t) })
	return ossFilesMap
}

var (
	ossFilesOnce sync.Once
	ossFilesMap  map[string]string
)

func makeOSSFiles(t testing.TB) map[string]string {
	var g bytes.Buffer
	pal := image.NewPaletted(image.Rect(0, 0, 40, 20), []color.Color{red, blue})
	if err := gif.EncodeAll(&g, &gif.GIF{Image: []*image.Paletted{pal, pal}, Delay: []int{10, 10}}); err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		"q.png":    encodeAs(t, "png", quadrants(), imageio.EncodeOptions{}),
		"q.jpg":    encodeAs(t, "jpeg", quadrants(), imageio.EncodeOptions{Quality: 90}),
		"gray.png": encodeAs(t, "png", solidImg(40, 40, color.NRGBA{128, 128, 128, 255}), imageio.EncodeOptions{}),
		// Stored 100×60 with EXIF orientation 6: shown 60×100.
		"portrait.jpg": encodeAs(t, "jpeg", reftest.Photo(100, 60, false), imageio.EncodeOptions{Quality: 90,
			Metadata: imageio.Metadata{EXIF: imageio.MinimalEXIF(nil, 6, false)}}),
		// Large enough for shrink-on-load at w_50.
		"big.jpg":        encodeAs(t, "jpeg", reftest.Photo(400, 300, false), imageio.EncodeOptions{Quality: 85}),
		"anim.gif":       g.String(),
		"black.png":      encodeAs(t, "png", solidImg(120, 60, black), imageio.EncodeOptions{}),
		"brand/logo.png": encodeAs(t, "png", solidImg(20, 10, red), imageio.EncodeOptions{}),
		"private/p.png":  encodeAs(t, "png", solidImg(20, 10, green), imageio.EncodeOptions{}),
	}
}

const ossRules = `
styles:
  thumb: image/resize,m_fill,w_64,h_64/format,webp
  badge: image/resize,w_100/watermark,image_cHJpdmF0ZS9wLnBuZw,g_nw,x_0,y_0
rules:
  - name: oss-img
    when: '"x-oss-process" in query'
    actions:
      - oss_process:
          spec: "${ query['x-oss-process'] }"
          watermark_prefixes: [brand/]
  - name: plain-resize
    when: query.plain == "1"
    actions:
      - resize: {width: 300}
      - convert: {format: webp}
`

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// ossGet fetches key with spec as x-oss-process.
func (e *env) ossGet(key, spec string) result {
	return e.get("/" + key + "?x-oss-process=" + url.QueryEscape(spec))
}

// decodeRef decodes a response body as a client's decoders would.
func decodeRef(t *testing.T, r result) *image.NRGBA {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "body")
	if err := os.WriteFile(path, []byte(r.body), 0o644); err != nil {
		t.Fatal(err)
	}
	var m image.Image
	var err error
	switch ct := r.header.Get("Content-Type"); ct {
	case "image/jpeg":
		m, err = reftest.DecodePNM(reftest.Run(t, "djpeg", "-pnm", path))
	case "image/webp":
		out := filepath.Join(dir, "out.pam")
		reftest.Run(t, "dwebp", "-quiet", path, "-pam", "-o", out)
		return reftest.ReadImage(t, out)
	case "image/png":
		m, err = png.Decode(strings.NewReader(r.body))
	case "image/gif":
		m, err = gif.Decode(strings.NewReader(r.body))
	case "image/bmp":
		m, err = bmp.Decode(strings.NewReader(r.body))
	case "image/tiff":
		m, err = tiff.Decode(strings.NewReader(r.body))
	default:
		t.Fatalf("Content-Type %q", ct)
	}
	if err != nil {
		t.Fatalf("decoding the %s answer: %v", r.header.Get("Content-Type"), err)
	}
	return reftest.NRGBA(m)
}

type px struct {
	x, y int
	c    color.NRGBA
}

func TestOSSProcessSpecs(t *testing.T) {
	e := newEnv(t, ossRules, ossFiles(t))
	for _, tc := range []struct {
		key, spec string
		ct        string // Content-Type
		size      image.Point
		pixels    []px
		check     func(t *testing.T, r result, m *image.NRGBA)
	}{
		// resize: the documentation's example, every mode.
		{key: "q.png", spec: "image/resize,w_150,h_80", ct: "image/png", size: image.Pt(150, 75)},
		{key: "q.png", spec: "image/resize,m_lfit,w_150,h_80", ct: "image/png", size: image.Pt(150, 75), pixels: []px{{10, 10, red}, {140, 10, green}, {10, 70, blue}, {140, 70, yellow}}},
		{key: "q.png", spec: "image/resize,m_mfit,w_150,h_80", ct: "image/png", size: image.Pt(160, 80)},
		{key: "q.png", spec: "image/resize,m_fill,w_150,h_80", ct: "image/png", size: image.Pt(150, 80), pixels: []px{{5, 5, red}, {145, 75, yellow}}},
		{key: "q.png", spec: "image/resize,m_pad,w_150,h_80", ct: "image/png", size: image.Pt(150, 80), pixels: []px{{75, 0, white}, {75, 1, white}, {75, 78, white}, {75, 79, white}, {10, 10, red}, {140, 70, yellow}}},
		{key: "q.png", spec: "image/resize,m_fixed,w_150,h_80", ct: "image/png", size: image.Pt(150, 80), pixels: []px{{10, 5, red}, {140, 75, yellow}}},
		{key: "q.png", spec: "image/resize,w_100", ct: "image/png", size: image.Pt(100, 50)},
		{key: "q.png", spec: "image/resize,h_50", ct: "image/png", size: image.Pt(100, 50)},
		{key: "q.png", spec: "image/resize,l_100", ct: "image/png", size: image.Pt(100, 50)},
		{key: "q.png", spec: "image/resize,s_50", ct: "image/png", size: image.Pt(100, 50)},
		{key: "q.png", spec: "image/resize,p_50", ct: "image/png", size: image.Pt(100, 50)},
		{key: "q.png", spec: "image/resize,w_400", ct: "image/png", size: image.Pt(200, 100)},
		{key: "q.png", spec: "image/resize,w_400,limit_0", ct: "image/png", size: image.Pt(400, 200)},
		{key: "q.png", spec: "image/resize,m_fill,w_50", ct: "image/png", size: image.Pt(50, 50)},
		{key: "q.png", spec: "image/resize,m_pad,w_100,color_000000", ct: "image/png", size: image.Pt(100, 100), pixels: []px{{50, 0, black}, {50, 99, black}, {10, 30, red}, {90, 70, yellow}}},
		{key: "q.png", spec: "image/resize,m_fixed,h_50", ct: "image/png", size: image.Pt(50, 50)},
		{key: "q.png", spec: "image/resize,p_200", ct: "image/png", size: image.Pt(200, 100)},
		{key: "q.png", spec: "image/resize,p_200,limit_0", ct: "image/png", size: image.Pt(400, 200)},
		{key: "q.png", spec: "image/resize,m_fill,l_100,s_100", ct: "image/png", size: image.Pt(100, 100)},
		{key: "q.png", spec: "image/resize,m_mfit,w_150,h_80,limit_0", ct: "image/png", size: image.Pt(160, 80)},
		{key: "q.png", spec: "image/resize,m_pad,w_400,h_400", ct: "image/png", size: image.Pt(200, 100)},
		{key: "big.jpg", spec: "image/resize,w_50/format,webp", ct: "image/webp", size: image.Pt(50, 38)},
		{key: "big.jpg", spec: "image/resize,m_fill,w_100,h_100", ct: "image/jpeg", size: image.Pt(100, 100)},
		// crop: origins by g, starts and extents.
		{key: "q.png", spec: "image/crop,w_100,h_50", ct: "image/png", size: image.Pt(100, 50), pixels: []px{{0, 0, red}, {99, 49, red}}},
		{key: "q.png", spec: "image/crop,x_100,y_50", ct: "image/png", size: image.Pt(100, 50), pixels: []px{{0, 0, yellow}, {99, 49, yellow}}},
		{key: "q.png", spec: "image/crop,x_150,y_0,w_100,h_100", ct: "image/png", size: image.Pt(50, 100), pixels: []px{{0, 0, green}, {49, 99, yellow}}},
		{key: "q.png", spec: "image/crop,g_se,w_50,h_25", ct: "image/png", size: image.Pt(50, 25), pixels: []px{{0, 0, yellow}}},
		{key: "q.png", spec: "image/crop,g_center,w_100,h_50", ct: "image/png", size: image.Pt(100, 50), pixels: []px{{0, 0, red}, {99, 49, yellow}}},
		{key: "q.png", spec: "image/crop,g_ne,w_50,h_50", ct: "image/png", size: image.Pt(50, 50), pixels: []px{{25, 25, green}}},
		{key: "q.png", spec: "image/crop,g_sw,x_10,w_50,h_50", ct: "image/png", size: image.Pt(50, 50), pixels: []px{{25, 25, blue}}},
		{key: "q.png", spec: "image/crop,g_nw,x_10,y_10", ct: "image/png", size: image.Pt(190, 90)},
		{key: "q.png", spec: "image/crop,g_se,x_10,y_10,w_50,h_50", ct: "image/png", size: image.Pt(40, 40), pixels: []px{{0, 0, yellow}}},
		// indexcrop: strips of x or y, past the last strip the original.
		{key: "q.png", spec: "image/indexcrop,x_80,i_0", ct: "image/png", size: image.Pt(80, 100)},
		{key: "q.png", spec: "image/indexcrop,x_80,i_2", ct: "image/png", size: image.Pt(40, 100), pixels: []px{{0, 0, green}}},
		{key: "q.png", spec: "image/indexcrop,x_80,i_5", ct: "image/png", size: image.Pt(200, 100)},
		{key: "q.png", spec: "image/indexcrop,y_30,i_1", ct: "image/png", size: image.Pt(200, 30)},
		{key: "q.png", spec: "image/indexcrop,x_10,y_60,i_1", ct: "image/png", size: image.Pt(200, 40), pixels: []px{{0, 0, blue}}},
		// circle: r×2+1, capped at (shorter side − 1)/2; outside transparent, or white in JPEG.
		{key: "q.png", spec: "image/circle,r_40", ct: "image/png", size: image.Pt(81, 81), pixels: []px{{40, 40, red}, {0, 0, clear_}, {80, 80, clear_}}},
		{key: "q.png", spec: "image/circle,r_500", ct: "image/png", size: image.Pt(99, 99)},
		{key: "q.jpg", spec: "image/circle,r_40", ct: "image/jpeg", size: image.Pt(81, 81), pixels: []px{{1, 1, white}, {20, 30, red}}},
		{key: "q.png", spec: "image/circle,r_40/format,jpg", ct: "image/jpeg", size: image.Pt(81, 81), pixels: []px{{1, 1, white}}},
		// rounded-corners
		{key: "q.png", spec: "image/rounded-corners,r_20", ct: "image/png", size: image.Pt(200, 100), pixels: []px{{0, 0, clear_}, {199, 99, clear_}, {100, 50, yellow}, {20, 0, red}}},
		{key: "q.png", spec: "image/rounded-corners,r_20/format,jpg", ct: "image/jpeg", size: image.Pt(200, 100), pixels: []px{{0, 0, white}}},
		// rotate: clockwise; other angles grow the canvas.
		{key: "q.png", spec: "image/rotate,90", ct: "image/png", size: image.Pt(100, 200), pixels: []px{{99, 0, red}, {0, 0, blue}, {0, 199, yellow}}},
		{key: "q.png", spec: "image/rotate,180", ct: "image/png", size: image.Pt(200, 100), pixels: []px{{0, 0, yellow}}},
		{key: "q.png", spec: "image/rotate,45", ct: "image/png", size: image.Pt(212, 212), pixels: []px{{0, 0, clear_}, {211, 211, clear_}}},
		{key: "q.png", spec: "image/rotate,0", ct: "image/png", size: image.Pt(200, 100)},
		{key: "q.png", spec: "image/rotate,360", ct: "image/png", size: image.Pt(200, 100)},
		// auto-orient: 1 (the default) turns the pixels upright first.
		{key: "portrait.jpg", spec: "image/resize,w_50", ct: "image/jpeg", size: image.Pt(50, 83)},
		{key: "portrait.jpg", spec: "image/auto-orient,1/resize,w_50", ct: "image/jpeg", size: image.Pt(50, 83)},
		{key: "portrait.jpg", spec: "image/auto-orient,0/resize,w_50", ct: "image/jpeg", size: image.Pt(50, 30)},
		{key: "portrait.jpg", spec: "image/resize,w_50/auto-orient,0", ct: "image/jpeg", size: image.Pt(50, 30)},
		// bright, contrast, sharpen, blur
		{key: "gray.png", spec: "image/bright,50", ct: "image/png", size: image.Pt(40, 40), check: func(t *testing.T, _ result, m *image.NRGBA) {
			if c := m.NRGBAAt(20, 20); c.R < 160 {
				t.Errorf("bright,50 left %v", c)
			}
		}},
		{key: "gray.png", spec: "image/bright,-50", ct: "image/png", size: image.Pt(40, 40), check: func(t *testing.T, _ result, m *image.NRGBA) {
			if c := m.NRGBAAt(20, 20); c.R > 96 {
				t.Errorf("bright,-50 left %v", c)
			}
		}},
		{key: "q.png", spec: "image/contrast,-100", ct: "image/png", size: image.Pt(200, 100), check: func(t *testing.T, _ result, m *image.NRGBA) {
			if c := m.NRGBAAt(10, 10); c.R > 200 || c.G < 60 {
				t.Errorf("contrast,-100 left red as %v", c)
			}
		}},
		{key: "q.png", spec: "image/sharpen,100", ct: "image/png", size: image.Pt(200, 100), pixels: []px{{50, 25, red}}},
		{key: "q.png", spec: "image/blur,r_3,s_2", ct: "image/png", size: image.Pt(200, 100), pixels: []px{{50, 25, red}}, check: func(t *testing.T, _ result, m *image.NRGBA) {
			if c := m.NRGBAAt(99, 25); c.G == 0 || c.R == 0 {
				t.Errorf("blur did not mix red and green at the edge: %v", c)
			}
			if c := m.NRGBAAt(95, 25); c.G != 0 {
				t.Errorf("blur r_3 reached 5 pixels: %v", c)
			}
		}},
		// format: the output, wherever it appears in the spec.
		{key: "q.png", spec: "image/format,webp", ct: "image/webp", size: image.Pt(200, 100)},
		{key: "q.png", spec: "image/format,jpg", ct: "image/jpeg", size: image.Pt(200, 100), pixels: []px{{50, 25, red}}},
		{key: "q.jpg", spec: "image/format,png", ct: "image/png", size: image.Pt(200, 100)},
		{key: "q.png", spec: "image/format,bmp", ct: "image/bmp", size: image.Pt(200, 100), pixels: []px{{150, 75, yellow}}},
		{key: "q.png", spec: "image/format,tiff", ct: "image/tiff", size: image.Pt(200, 100), pixels: []px{{150, 25, green}}},
		{key: "q.png", spec: "image/format,gif", ct: "image/png", size: image.Pt(200, 100)},
		{key: "anim.gif", spec: "image/format,gif", ct: "image/gif", size: image.Pt(40, 20)},
		{key: "q.png", spec: "image/resize,w_100/format,webp", ct: "image/webp", size: image.Pt(100, 50), pixels: []px{{25, 12, red}, {75, 37, yellow}}},
		{key: "q.png", spec: "image/format,webp/resize,w_100", ct: "image/webp", size: image.Pt(100, 50)},
		// quality: q relative to the source's own (90), Q absolute and never above it.
		{key: "q.jpg", spec: "image/quality,q_50", ct: "image/jpeg", size: image.Pt(200, 100), check: jpegQuality(45)},
		{key: "q.jpg", spec: "image/quality,Q_95", ct: "image/jpeg", size: image.Pt(200, 100), check: jpegQuality(90)},
		{key: "q.jpg", spec: "image/quality,Q_60", ct: "image/jpeg", size: image.Pt(200, 100), check: jpegQuality(60)},
		{key: "q.jpg", spec: "image/quality,q_50,Q_70", ct: "image/jpeg", size: image.Pt(200, 100), check: jpegQuality(70)},
		{key: "q.png", spec: "image/format,jpg/quality,q_80", ct: "image/jpeg", size: image.Pt(200, 100), check: jpegQuality(80)},
		{key: "q.jpg", spec: "image/resize,w_100/quality,q_80/format,webp", ct: "image/webp", size: image.Pt(100, 50)},
		// interlace: progressive JPEG.
		{key: "q.jpg", spec: "image/interlace,1", ct: "image/jpeg", size: image.Pt(200, 100), check: progressive(true)},
		{key: "q.png", spec: "image/format,jpg/interlace,1", ct: "image/jpeg", size: image.Pt(200, 100), check: progressive(true)},
		{key: "q.png", spec: "image/format,jpg/interlace,0", ct: "image/jpeg", size: image.Pt(200, 100), check: progressive(false)},
		// watermark: text, and images from the allowed prefix.
		{key: "black.png", spec: "image/watermark,text_" + b64("Hi") + ",color_FFFFFF,size_30,g_nw,x_0,y_0", ct: "image/png", size: image.Pt(120, 60), check: func(t *testing.T, _ result, m *image.NRGBA) {
			if n := countNot(m, image.Rect(0, 0, 40, 40), black); n < 30 {
				t.Errorf("text watermark drew %d pixels at the top left", n)
			}
			if n := countNot(m, image.Rect(60, 30, 120, 60), black); n != 0 {
				t.Errorf("text watermark drew %d pixels at the bottom right", n)
			}
		}},
		{key: "black.png", spec: "image/watermark,image_" + b64("brand/logo.png") + ",g_se,x_10,y_10", ct: "image/png", size: image.Pt(120, 60), pixels: []px{{100, 45, red}, {109, 49, red}, {110, 50, black}, {89, 40, black}}},
		{key: "black.png", spec: "image/watermark,image_" + b64("brand/logo.png?x-oss-process=image/resize,P_50") + ",g_nw,x_0,y_0", ct: "image/png", size: image.Pt(120, 60), pixels: []px{{0, 0, red}, {59, 29, red}, {60, 0, black}}},
		{key: "black.png", spec: "image/watermark,image_" + b64("brand/logo.png") + ",t_50,g_center", ct: "image/png", size: image.Pt(120, 60), pixels: []px{{60, 30, color.NRGBA{128, 0, 0, 255}}}},
		{key: "black.png", spec: "image/watermark,image_" + b64("brand/logo.png") + ",fill_1,x_0,y_0,padx_10,pady_10", ct: "image/png", size: image.Pt(120, 60), pixels: []px{{0, 0, red}, {30, 20, red}, {25, 0, black}}},
		// styles: operator-defined, trusted.
		{key: "q.png", spec: "style/thumb", ct: "image/webp", size: image.Pt(64, 64)},
		{key: "q.png", spec: "style/badge", ct: "image/png", size: image.Pt(100, 50), pixels: []px{{5, 5, green}, {20, 40, blue}, {75, 40, yellow}}},
		// several operations in order.
		{key: "q.png", spec: "image/resize,w_100/crop,w_50,h_50/rotate,90/format,png", ct: "image/png", size: image.Pt(50, 50), pixels: []px{{40, 10, red}, {10, 10, blue}}},
		{key: "q.png", spec: "image/crop,x_100,w_100,h_50/resize,p_50", ct: "image/png", size: image.Pt(50, 25), pixels: []px{{25, 12, green}}},
		{key: "q.png", spec: "image/resize,w_150,h_80,m_pad/circle,r_30/format,webp", ct: "image/webp", size: image.Pt(61, 61)},
	} {
		t.Run(tc.key+" "+tc.spec, func(t *testing.T) {
			r := e.ossGet(tc.key, tc.spec)
			if r.status != 200 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			if ct := r.header.Get("Content-Type"); ct != tc.ct {
				t.Fatalf("Content-Type %q, want %q", ct, tc.ct)
			}
			m := decodeRef(t, r)
			if m.Rect.Size() != tc.size {
				t.Fatalf("size %v, want %v", m.Rect.Size(), tc.size)
			}
			for _, p := range tc.pixels {
				if c := m.NRGBAAt(p.x, p.y); !nearColor(c, p.c, 12) {
					t.Errorf("pixel (%d,%d) = %v, want %v", p.x, p.y, c, p.c)
				}
			}
			if tc.check != nil {
				tc.check(t, r, m)
			}
		})
	}
}

func nearColor(a, b color.NRGBA, tol int) bool {
	if a.A == 0 && b.A == 0 {
		return true
	}
	d := func(x, y uint8) bool { return int(x)-int(y) <= tol && int(y)-int(x) <= tol }
	return d(a.R, b.R) && d(a.G, b.G) && d(a.B, b.B) && d(a.A, b.A)
}

func countNot(m *image.NRGBA, r image.Rectangle, c color.NRGBA) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if !nearColor(m.NRGBAAt(x, y), c, 12) {
				n++
			}
		}
	}
	return n
}

func jpegQuality(want int) func(*testing.T, result, *image.NRGBA) {
	return func(t *testing.T, r result, _ *image.NRGBA) {
		if q, ok := imageio.JPEGQuality([]byte(r.body)); !ok || q != want {
			t.Errorf("JPEG quality %d, want %d", q, want)
		}
	}
}

func progressive(want bool) func(*testing.T, result, *image.NRGBA) {
	return func(t *testing.T, r result, _ *image.NRGBA) {
		cfg, err := imageio.DecodeConfig([]byte(r.body))
		if err != nil || cfg.Progressive != want {
			t.Errorf("progressive %v (%v), want %v", cfg.Progressive, err, want)
		}
	}
}

// info and average-hue answer with JSON.
func TestOSSProcessJSON(t *testing.T) {
	e := newEnv(t, ossRules, ossFiles(t))
	r := e.ossGet("q.png", "image/info")
	if r.status != 200 || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("%d %v %s", r.status, r.header, r.body)
	}
	var doc map[string]map[string]string
	if err := json.Unmarshal([]byte(r.body), &doc); err != nil {
		t.Fatal(err)
	}
	src := ossFiles(t)["q.png"]
	for k, want := range map[string]string{"Format": "png", "ImageWidth": "200", "ImageHeight": "100", "FrameCount": "1", "FileSize": itoa(len(src))} {
		if got := doc[k]["value"]; got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	r = e.ossGet("portrait.jpg", "image/info")
	if err := json.Unmarshal([]byte(r.body), &doc); err != nil || doc["Orientation"]["value"] != "6" || doc["Format"]["value"] != "jpg" {
		t.Errorf("portrait: %v %v", doc, err)
	}
	r = e.ossGet("gray.png", "image/average-hue")
	if r.status != 200 || r.body != `{"RGB":"0x808080"}` || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("average-hue: %d %q", r.status, r.body)
	}
	r = e.ossGet("q.png", "image/average-hue")
	// The four quadrants' mean: (255+0+0+255)/4 red, (0+255+0+255)/4 green, 255/4 blue.
	if r.body != `{"RGB":"0x808040"}` {
		t.Fatalf("average-hue of the quadrants: %s", r.body)
	}
	r = e.ossGet("q.png", "image/resize,w_50/info")
	if err := json.Unmarshal([]byte(r.body), &doc); err != nil || doc["ImageWidth"]["value"] != "50" {
		t.Errorf("info after resize: %s %v", r.body, err)
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// Bad input: 400 (404 for a style that does not exist, 403 where the
// rule forbids it) with an OSS error document naming the operation and the
// parameter, OSS's code and, where OSS documents one, its EC.
func TestOSSProcessErrors(t *testing.T) {
	e := newEnv(t, ossRules+`
  - name: restricted
    when: query.r == "1"
    actions:
      - oss_process: {spec: "${ query.p }", allow: [resize, format]}
`, ossFiles(t))
	for _, tc := range []struct {
		spec   string
		status int
		code   string
		ec     string
		msg    string // part of <Message>
	}{
		{"", 400, "InvalidArgument", "", "empty spec"},
		{"image/", 400, "InvalidArgument", "0040-00000212", "no operation"},
		{"resize,w_100", 400, "InvalidArgument", "", "no category"},
		{"image/slim,1", 400, "InvalidArgument", "0040-00000213", "slim: unknown operation"},
		{"image/resize,w_100,,h_1", 400, "InvalidArgument", "", "resize: empty parameter"},
		// resize
		{"image/resize", 400, "MissingArgument", "0040-00000322", "resize: set w, h, l, s or p"},
		{"image/resize,w_100,m_abc", 400, "InvalidArgument", "0040-00000311", "resize: m: "},
		{"image/resize,w_0", 400, "InvalidArgument", "0040-00000312", "resize: w: "},
		{"image/resize,w_abc", 400, "InvalidArgument", "0040-00000312", "resize: w: "},
		{"image/resize,h_16385", 400, "InvalidArgument", "", "resize: h: "},
		{"image/resize,l_0", 400, "InvalidArgument", "0040-00000314", "resize: l: "},
		{"image/resize,s_0", 400, "InvalidArgument", "0040-00000315", "resize: s: "},
		{"image/resize,p_0", 400, "InvalidArgument", "0040-00000317", "resize: p: "},
		{"image/resize,w_100,limit_3", 400, "InvalidArgument", "0040-00000319", "resize: limit: "},
		{"image/resize,w_100,color_red", 400, "InvalidArgument", "", "resize: color: "},
		{"image/resize,w_100,x_1", 400, "InvalidArgument", "", "resize: x: unknown parameter"},
		{"image/resize,100", 400, "InvalidArgument", "", "resize: unexpected value"},
		// crop
		{"image/crop", 400, "MissingArgument", "", "crop: set x, y, w, h or g"},
		{"image/crop,x_100,y_50,w_abc,h_100", 400, "InvalidArgument", "0040-00000225", "crop: w: "},
		{"image/crop,x_100,y_50,w_100,h_-1", 400, "InvalidArgument", "0040-00000226", "crop: h: "},
		{"image/crop,w_500,h_500,g_fac", 400, "InvalidArgument", "0040-00000209", "crop: g: "},
		{"image/crop,x_200,y_0,w_10,h_10", 400, "InvalidArgument", "", "Advance cut's position is out of image."},
		{"image/crop,y_100", 400, "InvalidArgument", "", "Advance cut's position is out of image."},
		{"image/crop,g_se,x_10,w_10,h_10", 400, "InvalidArgument", "", "Advance cut's position is out of image."},
		// indexcrop
		{"image/indexcrop,x_0,i_0", 400, "InvalidArgument", "0040-00000230", "indexcrop: x: "},
		{"image/indexcrop,y_abc,i_0", 400, "InvalidArgument", "0040-00000230", "indexcrop: y: "},
		{"image/indexcrop,x_100,i_abc", 400, "InvalidArgument", "0040-00000229", "indexcrop: i: "},
		{"image/indexcrop,i_1", 400, "MissingArgument", "0040-00000230", "indexcrop: set x or y"},
		// circle, rounded-corners
		{"image/circle,r_abc", 400, "InvalidArgument", "0040-00000233", "circle: r: "},
		{"image/circle,r_5000", 400, "InvalidArgument", "0040-00000233", "circle: r: "},
		{"image/circle", 400, "MissingArgument", "0040-00000233", "circle: set r"},
		{"image/rounded-corners,r_abc", 400, "InvalidArgument", "0040-00000237", "rounded-corners: r: "},
		{"image/rounded-corners,r_5000", 400, "InvalidArgument", "0040-00000237", "rounded-corners: r: "},
		// rotate, auto-orient
		{"image/rotate,abc", 400, "InvalidArgument", "0040-00000217", "rotate: "},
		{"image/rotate,400", 400, "InvalidArgument", "0040-00000217", "rotate: "},
		{"image/rotate", 400, "InvalidArgument", "0040-00000216", "rotate: want one value"},
		{"image/rotate,90,200,300", 400, "InvalidArgument", "0040-00000203", "rotate: want one value"},
		{"image/resize,w_100/auto-orient,abc", 400, "InvalidArgument", "0040-00000215", "auto-orient: "},
		{"image/auto-orient,10", 400, "InvalidArgument", "0040-00000215", "auto-orient: "},
		// bright, contrast, sharpen, blur
		{"image/bright,101", 400, "InvalidArgument", "", "bright: "},
		{"image/bright", 400, "InvalidArgument", "", "bright: want one value"},
		{"image/contrast,-101", 400, "InvalidArgument", "", "contrast: "},
		{"image/sharpen,49", 400, "InvalidArgument", "", "sharpen: "},
		{"image/sharpen,400", 400, "InvalidArgument", "", "sharpen: "},
		{"image/blur,r_3", 400, "MissingArgument", "", "blur: set both r and s"},
		{"image/blur,r_51,s_2", 400, "InvalidArgument", "", "blur: r: "},
		{"image/blur,r_3,s_0", 400, "InvalidArgument", "", "blur: s: "},
		// format, quality, interlace
		{"image/format,jxl", 400, "InvalidArgument", "", "format: \"jxl\""},
		{"image/format", 400, "InvalidArgument", "", "format: want one format"},
		{"image/format,heic", 400, "NotImplemented", "", "format: heic output"},
		{"image/quality", 400, "MissingArgument", "0040-00000307", "quality: set q"},
		{"image/quality,Q_200", 400, "InvalidArgument", "0040-00000308", "quality: Q: "},
		{"image/quality,q_200", 400, "InvalidArgument", "0040-00000309", "quality: q: "},
		{"image/quality,200", 400, "InvalidArgument", "0040-00000310", "quality: unexpected value"},
		{"image/interlace", 400, "InvalidArgument", "0040-00000281", "interlace: want one value"},
		{"image/interlace,2", 400, "InvalidArgument", "0040-00000281", "interlace: "},
		// info, average-hue
		{"image/info,x_1", 400, "InvalidArgument", "", "info: takes no parameters"},
		{"image/info/resize,w_10", 400, "InvalidArgument", "", "resize: nothing may follow info"},
		{"image/average-hue/format,png", 400, "InvalidArgument", "", "format: nothing may follow average-hue"},
		// watermark
		{"image/watermark,t_50", 400, "MissingArgument", "", "watermark: set text or image"},
		{"image/watermark,text_!!", 400, "WatermarkError", "", "watermark: text: "},
		{"image/watermark,text_" + b64(strings.Repeat("x", 65)), 400, "WatermarkError", "", "watermark: text: "},
		{"image/watermark,text_" + b64("a") + ",type_" + b64("comic-sans"), 400, "WatermarkError", "", "watermark: type: "},
		{"image/watermark,text_" + b64("a") + ",voffset_2000", 400, "InvalidArgument", "0040-00000268", "watermark: voffset: "},
		{"image/watermark,text_" + b64("a") + ",rotate_400", 400, "InvalidArgument", "0040-00000272", "watermark: rotate: "},
		{"image/watermark,text_" + b64("a") + ",t_101", 400, "InvalidArgument", "", "watermark: t: "},
		{"image/watermark,text_" + b64("a") + ",g_middle", 400, "InvalidArgument", "", "watermark: g: "},
		{"image/watermark,text_" + b64("a") + ",color_GG0000", 400, "InvalidArgument", "", "watermark: color: "},
		{"image/watermark,text_" + b64("a") + ",size_0", 400, "InvalidArgument", "", "watermark: size: "},
		{"image/watermark,image_" + b64("private/p.png"), 403, "AccessDenied", "", "watermark: image: "},
		{"image/watermark,image_" + b64("brand/none.png"), 400, "WatermarkError", "", "watermark: the watermark image does not exist"},
		{"image/watermark,image_" + b64("brand/logo.png?x-oss-process=image/rotate,90"), 400, "WatermarkError", "", "watermark: image: "},
		{"image/watermark,image_" + b64("brand/logo.png?x-oss-process=image/resize,P_200"), 400, "WatermarkError", "", "watermark: image: "},
		// styles and video
		{"style/nosuch", 404, "NoSuchStyle", "", `the style "nosuch" does not exist`},
		{"style/a!b", 400, "InvalidArgument", "", "style name"},
		{"video/snapshot,w_100", 400, "MissingArgument", "", "snapshot: set t"},
		{"video/snapshot,t_1000,f_gif", 400, "InvalidArgument", "", "snapshot: f: "},
		{"video/snapshot,t_1000,m_slow", 400, "InvalidArgument", "", "snapshot: m: "},
		{"video/snapshot,t_-5", 400, "InvalidArgument", "", "snapshot: t: "},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			r := e.ossGet("q.png", tc.spec)
			checkOSSError(t, r, tc.status, tc.code, tc.ec, tc.msg)
		})
	}
	// A spec is compiled with the plan: a bad one never reads the original.
	before := e.srv.Stats().OriginGets
	if r := e.ossGet("q.png", "image/resize,w_0"); r.status != 400 {
		t.Fatalf("bad spec: %d", r.status)
	}
	if after := e.srv.Stats().OriginGets; after != before {
		t.Errorf("a bad spec read the original (%d GETs)", after-before)
	}
	// allow: a client may use only the operations the rule lists.
	for _, tc := range []struct {
		spec   string
		status int
		code   string
	}{
		{"image/resize,w_10/format,png", 200, ""},
		{"image/rotate,90", 403, "AccessDenied"},
		{"style/thumb", 403, "AccessDenied"},
		{"video/snapshot,t_1", 403, "AccessDenied"},
	} {
		r := e.get("/q.png?r=1&p=" + url.QueryEscape(tc.spec))
		if r.status != tc.status || r.errorCode() != tc.code {
			t.Errorf("allow: %s: %d %s, want %d %s", tc.spec, r.status, r.body, tc.status, tc.code)
		}
	}
}

func checkOSSError(t *testing.T, r result, status int, code, ec, msg string) {
	t.Helper()
	if r.status != status || r.errorCode() != code {
		t.Fatalf("got %d %s, want %d %s: %s", r.status, r.errorCode(), status, code, r.body)
	}
	if r.header.Get("Content-Type") != "application/xml" {
		t.Errorf("Content-Type %q", r.header.Get("Content-Type"))
	}
	var doc struct{ Message string }
	if err := xml.Unmarshal([]byte(r.body), &doc); err != nil {
		t.Fatalf("%v: %s", err, r.body)
	}
	if !strings.Contains(doc.Message, msg) {
		t.Errorf("message does not mention %q: %s", msg, doc.Message)
	}
	if !strings.HasPrefix(doc.Message, `rule "oss-img": oss_process: `) && !strings.HasPrefix(doc.Message, `rule "restricted": oss_process: `) {
		t.Errorf("message does not name the rule and action: %s", doc.Message)
	}
	gotEC := between(r.body, "<EC>", "</EC>")
	if gotEC != ec {
		t.Errorf("EC %q, want %q: %s", gotEC, ec, r.body)
	}
	if ec != "" && !strings.Contains(r.body, "<RecommendDoc>https://api.aliyun.com/troubleshoot?q="+ec+"</RecommendDoc>") {
		t.Errorf("no RecommendDoc for %s: %s", ec, r.body)
	}
}

func between(s, a, b string) string {
	_, after, ok := strings.Cut(s, a)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(after, b)
	return v
}

// The derived ETag covers the spec: another spec, another ETag; the same
// spec, the same one, so a CDN can revalidate.
func TestOSSProcessETag(t *testing.T) {
	e := newEnv(t, ossRules, ossFiles(t))
	a := e.ossGet("q.png", "image/resize,w_100")
	b := e.ossGet("q.png", "image/resize,w_101")
	a2 := e.ossGet("q.png", "image/resize,w_100")
	if a.header.Get("ETag") == "" || a.header.Get("ETag") == b.header.Get("ETag") || a.header.Get("ETag") != a2.header.Get("ETag") {
		t.Fatalf("ETags %q %q %q", a.header.Get("ETag"), b.header.Get("ETag"), a2.header.Get("ETag"))
	}
	if r := e.get("/q.png?x-oss-process="+url.QueryEscape("image/resize,w_100"), "If-None-Match", a.header.Get("ETag")); r.status != 304 {
		t.Fatalf("revalidation: %d", r.status)
	}
	// A style's content feeds the ETag: the same name with new content is
	// new bytes.
	s1 := e.ossGet("q.png", "style/thumb")
	other := newEnv(t, strings.Replace(ossRules, "w_64,h_64", "w_32,h_32", 1), ossFiles(t))
	s2 := other.ossGet("q.png", "style/thumb")
	if s1.header.Get("ETag") == s2.header.Get("ETag") {
		t.Fatal("a changed style kept its ETag")
	}
}

// BenchmarkOSSProcessVsActions compares image/resize,w_300/format,webp
// through oss_process with the same plan written as actions (resize:
// {width: 300}, convert: {format: webp}), on a 1600×1200 JPEG through the
// local OSS server. The two alternate within each iteration, so machine
// noise hits both alike; the handler's median time of each and their
// ratio are reported. They must answer the same bytes.
func BenchmarkOSSProcessVsActions(b *testing.B) {
	files := maps.Clone(ossFiles(b))
	files["big.jpg"] = encodeAs(b, "jpeg", reftest.Photo(1600, 1200, false), imageio.EncodeOptions{Quality: 85})
	e := newEnv(b, ossRules, files)
	e.durations = make(chan time.Duration, 1)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	oss := e.ts.URL + "/big.jpg?x-oss-process=" + url.QueryEscape("image/resize,w_300/format,webp")
	plain := e.ts.URL + "/big.jpg?plain=1"
	get := func(u string) ([]byte, time.Duration) {
		resp, err := client.Get(u)
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("GET %s: %v %v", u, err, resp)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			b.Fatal(err)
		}
		return body, <-e.durations
	}
	a, _ := get(oss)
	p, _ := get(plain)
	if !bytes.Equal(a, p) {
		b.Fatalf("oss_process answered %d bytes, the actions %d: not the same plan", len(a), len(p))
	}
	var ossT, plainT []time.Duration
	b.ResetTimer()
	first := true
	for b.Loop() {
		// Which goes first alternates too: the second of a pair may find
		// the heap in another state.
		if first {
			_, d := get(oss)
			ossT = append(ossT, d)
		}
		_, d := get(plain)
		plainT = append(plainT, d)
		if !first {
			_, d := get(oss)
			ossT = append(ossT, d)
		}
		first = !first
	}
	o, q := median(ossT), median(plainT)
	b.ReportMetric(o, "oss-p50-ms")
	b.ReportMetric(q, "actions-p50-ms")
	b.ReportMetric(o/q, "ratio")
}

// Text watermarks in OSS's default font, WenQuanYi Zen Hei, from font_dir:
// Chinese text is drawn with its glyphs, not the empty boxes a Latin font
// has for them; a font the deployment lacks is the client's 400.
func TestOSSProcessCJKWatermark(t *testing.T) {
	const font = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"
	if _, err := os.Stat(font); err != nil {
		if os.Getenv("OPAPRULES_REQUIRE_TOOLS") != "" {
			t.Fatal("fonts-wqy-zenhei is not installed")
		}
		t.Skip("fonts-wqy-zenhei is not installed")
	}
	dir := t.TempDir()
	if err := os.Symlink(font, filepath.Join(dir, "wqy-zenhei.ttc")); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, `
rules:
  - name: oss-img
    when: query.fonts == "1"
    actions: [{oss_process: {spec: "${ query['x-oss-process'] }", font_dir: `+dir+`}}]
  - name: latin
    when: query.fonts == ""
    actions: [{oss_process: {spec: "${ query['x-oss-process'] }"}}]
`, ossFiles(t))
	spec := "image/watermark,text_" + b64("你好") + ",color_FFFFFF,size_40,g_center"
	get := func(extra, spec string) result {
		return e.get("/black.png?" + extra + "x-oss-process=" + url.QueryEscape(spec))
	}
	cjk, latin := get("fonts=1&", spec), get("", spec)
	if cjk.status != 200 || latin.status != 200 {
		t.Fatalf("%d %s / %d %s", cjk.status, cjk.body, latin.status, latin.body)
	}
	mc, ml := decodeRef(t, cjk), decodeRef(t, latin)
	inkC, inkL := countNot(mc, mc.Rect, black), countNot(ml, ml.Rect, black)
	if inkC < 200 {
		t.Fatalf("the CJK text drew %d pixels", inkC)
	}
	diff := 0
	for y := range 60 {
		for x := range 120 {
			if !nearColor(mc.NRGBAAt(x, y), ml.NRGBAAt(x, y), 40) {
				diff++
			}
		}
	}
	if diff < inkC/4 {
		t.Fatalf("wqy-zenhei and the fallback drew alike (%d of %d/%d pixels differ)", diff, inkC, inkL)
	}
	r := get("fonts=1&", "image/watermark,text_"+b64("a")+",type_"+b64("fangzhengshusong"))
	if r.status != 400 || r.errorCode() != "WatermarkError" || !strings.Contains(r.body, "not installed") {
		t.Fatalf("a missing font: %d %s", r.status, r.body)
	}
}

// video/snapshot runs the snapshot action: a frame, read by ranges, sized
// and encoded as the spec says.
func TestOSSVideoSnapshot(t *testing.T) {
	reftest.Tool(t, "ffmpeg")
	e := newEnv(t, ossRules, nil)
	makeVideo(t, filepath.Join(e.dir, "videos", "v.mp4"), 4, "320x240", "500k")
	for _, tc := range []struct {
		spec   string
		format string
		w, h   int
	}{
		{"video/snapshot,t_1000", "image/jpeg", 320, 240},
		{"video/snapshot,t_1500,w_160,f_png", "image/png", 160, 120},
		{"video/snapshot,t_2000,h_60,m_fast,ar_auto", "image/jpeg", 80, 60},
	} {
		r := e.ossGet("videos/v.mp4", tc.spec)
		if r.status != 200 || r.header.Get("Content-Type") != tc.format {
			t.Errorf("%s: %d %s %s", tc.spec, r.status, r.header.Get("Content-Type"), r.body)
			continue
		}
		if cfg, err := imageio.DecodeConfig([]byte(r.body)); err != nil || cfg.Width != tc.w || cfg.Height != tc.h {
			t.Errorf("%s: frame %+v, %v; want %d×%d", tc.spec, cfg, err, tc.w, tc.h)
		}
	}
	checkOSSError(t, e.ossGet("videos/v.mp4", "video/snapshot,t_60000"), 400, "SnapshotOutOfRange", "", "")
}
