package actions

import (
	"context"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"net/http"
	"strings"
	"sync"

	"github.com/disintegration/imaging"
	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goitalic"
	"golang.org/x/image/font/gofont/gomono"
	"golang.org/x/image/font/gofont/gomonobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"

	"github.com/opaprules/opaprules/internal/imageio"
	"github.com/opaprules/opaprules/internal/safefile"
)

func init() {
	Register(Definition{
		Name:    "watermark",
		Summary: "Draw a text or image watermark (or both side by side) at one of nine positions, or tiled over the whole image.",
		Doc: "`text`, an image: `image` (an object key in the same bucket, fetched once per " +
			"process and cached) or `file` (an image shipped with the deployment), or text and an " +
			"image side by side (`order`, `align`, `interval`). Text uses `font` at `size` pixels " +
			"(default a twentieth of the shorter side) in `color`, with an optional `shadow`; " +
			"`scale` sizes the watermark (with text and an image: the image) as a fraction of the " +
			"image width instead. `margin` keeps it off the edges (`margin_x`, `margin_y` per axis), " +
			"`offset_y` moves a watermark of the middle row down (negative: up). `tile: true` repeats " +
			"it over the whole image, with `margin` (or `gap_x`, `gap_y`) between tiles.\n\n" +
			"`font` is a built-in Go font (Latin, Greek, Cyrillic) or the path of a TrueType/OpenType " +
			"file or collection (.ttf, .otf, .ttc) shipped with the deployment; files are parsed once " +
			"per process. For Chinese, Japanese or Korean text ship a CJK font, such as WenQuanYi Zen " +
			"Hei (Debian's fonts-wqy-zenhei: wqy-zenhei.ttc, 16 MiB; the deployment zip grows by " +
			"about 10 MiB) or Noto Sans CJK (fonts-noto-cjk, about 20 MiB per weight).",
		Class: Transform,
		New: func() Action {
			return &Watermark{
				Font:     "goregular",
				Color:    Color{NRGBA: color.NRGBA{255, 255, 255, 255}, Set: true},
				Opacity:  0.5,
				Position: gravitySouthEast,
				Margin:   10,
				MarginX:  -1,
				MarginY:  -1,
				GapX:     -1,
				GapY:     -1,
				Order:    "image_first",
				Align:    "top",
			}
		},
	})
}

// Watermark draws text, an image object of the same bucket, an image
// file shipped with the deployment, or text and an image side by side,
// over every frame.
type Watermark struct {
	Text     string  `yaml:"text" doc:"text to draw"`
	Font     string  `yaml:"font" template:"false" doc:"goregular (default), gobold, goitalic, gomono, gomonobold, or the path of a TrueType/OpenType file or collection shipped with the deployment"`
	Size     float64 `yaml:"size" min:"0" max:"4096" doc:"font size in pixels; default: a twentieth of the image's shorter side"`
	Shadow   float64 `yaml:"shadow" min:"0" max:"1" doc:"opacity of a black shadow under the text, offset down and right by a twentieth of the size; 0 (default) draws none"`
	Image    string  `yaml:"image" doc:"object key of a watermark image in the same bucket, fetched once per process and cached"`
	File     string  `yaml:"file" template:"false" doc:"path of a watermark image shipped with the deployment, loaded when the rules load"`
	Scale    float64 `yaml:"scale" min:"0" max:"1" doc:"width of the watermark as a fraction of the image width (instead of size; for images, instead of their own size; with text and an image, sizes the image)"`
	Color    Color   `yaml:"color" doc:"text colour (default white)"`
	Opacity  float64 `yaml:"opacity" min:"0" max:"1" doc:"0 (invisible) to 1 (opaque); default 0.5"`
	Position string  `yaml:"position" enum:"center,north,south,east,west,north_east,north_west,south_east,south_west" doc:"where the watermark goes (default south_east)"`
	Margin   int     `yaml:"margin" min:"0" max:"10000" doc:"distance from the image edges in pixels (default 10); with tile, the gap between tiles"`
	MarginX  int     `yaml:"margin_x" min:"-1" max:"10000" doc:"horizontal distance from the left or right edge; -1 (default) uses margin"`
	MarginY  int     `yaml:"margin_y" min:"-1" max:"10000" doc:"vertical distance from the top or bottom edge; -1 (default) uses margin"`
	OffsetY  int     `yaml:"offset_y" min:"-10000" max:"10000" doc:"for the middle row (west, center, east): move the watermark down by this many pixels (negative: up)"`
	Rotate   float64 `yaml:"rotate" min:"-360" max:"360" doc:"turn the watermark clockwise by degrees"`
	Tile     bool    `yaml:"tile" doc:"repeat the watermark over the whole image"`
	GapX     int     `yaml:"gap_x" min:"-1" max:"10000" doc:"with tile, the horizontal gap between tiles; -1 (default) uses margin"`
	GapY     int     `yaml:"gap_y" min:"-1" max:"10000" doc:"with tile, the vertical gap between tiles; -1 (default) uses margin"`
	Order    string  `yaml:"order" enum:"image_first,text_first" doc:"with text and an image: which comes first, left to right (default image_first)"`
	Align    string  `yaml:"align" enum:"top,center,bottom" doc:"with text and an image: how they line up (default top)"`
	Interval int     `yaml:"interval" min:"0" max:"1000" doc:"with text and an image: the gap between them in pixels"`

	// prepared holds what Prepare loaded, shared by per-request copies.
	prepared *watermarkAssets
}

type watermarkAssets struct {
	font *opentype.Font
	file *image.NRGBA
}

// Limits on watermark images: they are drawn over every response, so they
// are small by nature; these bound a misconfigured one.
const (
	maxWatermarkBytes  = 8 << 20
	maxWatermarkPixels = 4_000_000
	// watermarkCacheSize bounds the image watermarks kept per process (a
	// templated key could otherwise fill memory).
	watermarkCacheSize = 32
	// maxWatermarkTiles bounds the copies tile draws: a tiny mark over a
	// large image would otherwise cost millions of draws.
	maxWatermarkTiles = 10_000
)

// Validate needs text, an image or both, and one way to size text.
func (w *Watermark) Validate() error {
	if w.Image != "" && w.File != "" {
		return fmt.Errorf("set one of image and file")
	}
	if w.Text == "" && w.Image == "" && w.File == "" {
		return fmt.Errorf("set text, image or file")
	}
	if w.Size > 0 && w.Scale > 0 && !w.hasImage() {
		return fmt.Errorf("size and scale both set: use one")
	}
	if w.Size > 0 && w.Text == "" {
		return fmt.Errorf("size: applies to text; scale sizes images")
	}
	return nil
}

func (w *Watermark) hasImage() bool { return w.Image != "" || w.File != "" }

// Prepare parses the font and loads a watermark file once.
func (w *Watermark) Prepare() error {
	a, err := w.loadAssets()
	if err != nil {
		return err
	}
	w.prepared = a
	return nil
}

func (w *Watermark) loadAssets() (*watermarkAssets, error) {
	a := &watermarkAssets{}
	var err error
	// Text may be a template (empty here at load): any watermark that is
	// not an image, or is text with an image, needs the font.
	if w.Text != "" || !w.hasImage() {
		if a.font, err = loadFont(w.Font); err != nil {
			return nil, err
		}
	}
	if w.File != "" {
		data, err := readLimited(w.File, maxWatermarkBytes)
		if err != nil {
			return nil, fmt.Errorf("file: %v", err)
		}
		if a.file, err = decodeWatermark(data); err != nil {
			return nil, fmt.Errorf("file: %s: %v", w.File, err)
		}
	}
	return a, nil
}

var builtinFonts = map[string][]byte{
	"goregular":  goregular.TTF,
	"gobold":     gobold.TTF,
	"goitalic":   goitalic.TTF,
	"gomono":     gomono.TTF,
	"gomonobold": gomonobold.TTF,
}

// Fonts are parsed once per process: built-ins by name, files by path
// (a CJK collection is megabytes of tables; oss_process names its font per
// request).
var (
	fontsMu sync.Mutex
	fonts   = map[string]*opentype.Font{}
)

// maxFontFiles bounds the font files kept parsed.
const maxFontFiles = 16

// loadFont returns a built-in font or the first font of a font file or
// collection, parsed once per process.
func loadFont(name string) (*opentype.Font, error) {
	if name == "" {
		name = "goregular"
	}
	fontsMu.Lock()
	defer fontsMu.Unlock()
	if f := fonts[name]; f != nil {
		return f, nil
	}
	f, err := parseFont(name)
	if err != nil {
		return nil, err
	}
	if len(fonts) >= maxFontFiles+len(builtinFonts) {
		for k := range fonts {
			if _, builtin := builtinFonts[k]; !builtin {
				delete(fonts, k)
				break
			}
		}
	}
	fonts[name] = f
	return f, nil
}

func parseFont(name string) (*opentype.Font, error) {
	if ttf, ok := builtinFonts[name]; ok {
		return opentype.Parse(ttf)
	}
	data, err := readLimited(name, 64<<20)
	if err != nil {
		return nil, fmt.Errorf("font: %v (built-in fonts: goregular, gobold, goitalic, gomono, gomonobold)", err)
	}
	f, err := parseFirstFont(data)
	if err != nil {
		// Some fonts in wide use (WenQuanYi Zen Hei, the default of OSS
		// IMG's text watermarks) start tables at offsets that are not
		// multiples of 4, which the OpenType spec requires and
		// x/image/font/sfnt enforces; a copy with the tables realigned
		// parses.
		if aligned, ok := realignSFNT(data); ok {
			if f2, err2 := opentype.Parse(aligned); err2 == nil {
				return f2, nil
			}
		}
		return nil, fmt.Errorf("font: %s is not a TrueType or OpenType font: %v", name, err)
	}
	return f, nil
}

// parseFirstFont parses a font file, or the first font of a collection.
func parseFirstFont(data []byte) (*opentype.Font, error) {
	if c, err := opentype.ParseCollection(data); err == nil && c.NumFonts() > 0 {
		return c.Font(0)
	} else if len(data) >= 4 && string(data[:4]) == "ttcf" {
		return nil, err
	}
	return opentype.Parse(data)
}

// realignSFNT copies the first font of a font file or collection into a
// single-font file whose tables start on 4-byte boundaries.
func realignSFNT(data []byte) ([]byte, bool) {
	be := binary.BigEndian
	off := 0
	if len(data) >= 16 && string(data[:4]) == "ttcf" {
		off = int(be.Uint32(data[12:]))
	}
	if off < 0 || off+12 > len(data) {
		return nil, false
	}
	n := int(be.Uint16(data[off+4:]))
	dir := off + 12
	if n == 0 || n > 256 || dir+16*n > len(data) {
		return nil, false
	}
	out := make([]byte, 12+16*n, len(data)-off)
	copy(out, data[off:off+12])
	for i := range n {
		rec := data[dir+16*i : dir+16*i+16]
		o, l := int(be.Uint32(rec[8:])), int(be.Uint32(rec[12:]))
		if o < 0 || l < 0 || o > len(data) || l > len(data)-o {
			return nil, false
		}
		for len(out)%4 != 0 {
			out = append(out, 0)
		}
		copy(out[12+16*i:], rec[:8])
		be.PutUint32(out[12+16*i+8:], uint32(len(out)))
		be.PutUint32(out[12+16*i+12:], uint32(l))
		out = append(out, data[o:o+l]...)
	}
	return out, true
}

func readLimited(path string, max int64) ([]byte, error) {
	return safefile.ReadFile(path, max)
}

// decodeWatermark decodes a watermark image, upright, to NRGBA.
func decodeWatermark(data []byte) (*image.NRGBA, error) {
	cfg, err := imageio.DecodeConfig(data)
	if err != nil {
		return nil, err
	}
	if cfg.Pixels() > maxWatermarkPixels {
		return nil, fmt.Errorf("watermark image is %d×%d, over the limit of %d pixels", cfg.Width, cfg.Height, maxWatermarkPixels)
	}
	img, err := imageio.Decode(data, cfg, imageio.DecodeOptions{AutoOrient: true, FirstFrame: true})
	if err != nil {
		return nil, err
	}
	return copyNRGBA(img.Frames[0].Image), nil
}

// Apply draws the watermark on every frame.
func (w *Watermark) Apply(ctx context.Context, obj *Object) error {
	img, err := obj.Image(ctx)
	if err != nil {
		return err
	}
	assets := w.prepared
	if assets == nil {
		if assets, err = w.loadAssets(); err != nil {
			return err
		}
	}
	b := img.Bounds()
	mark, err := w.mark(ctx, obj, assets, b.Dx(), b.Dy())
	if err != nil {
		return err
	}
	if mark == nil {
		return nil
	}
	spots, err := w.spots(b.Dx(), b.Dy(), mark.Rect.Dx(), mark.Rect.Dy())
	if err != nil {
		return err
	}
	alpha := uint32(math.Round(w.Opacity * 255))
	obj.SetImage(framesDo(img, false, func(m image.Image) image.Image {
		dst := copyNRGBA(m)
		for _, at := range spots {
			drawOver(dst, mark, at, alpha)
		}
		return dst
	}))
	return nil
}

// mark renders the watermark for a W×H image, rotated, or returns nil when
// there is nothing visible to draw.
func (w *Watermark) mark(ctx context.Context, obj *Object, a *watermarkAssets, W, H int) (*image.NRGBA, error) {
	var text, pic *image.NRGBA
	if w.Text != "" {
		var err error
		if text, err = w.renderText(a.font, W, H); err != nil {
			return nil, err
		}
	}
	if w.hasImage() {
		src := a.file
		if w.Image != "" {
			var err error
			if src, err = fetchWatermark(ctx, obj, w.Image); err != nil {
				return nil, err
			}
		}
		pic = w.scaleImage(src, W, H)
	}
	m := text
	switch {
	case pic != nil && text != nil:
		m = w.sideBySide(pic, text)
	case pic != nil:
		m = pic
	}
	if m == nil || w.Opacity == 0 {
		return nil, nil
	}
	if angle := math.Mod(w.Rotate, 360); angle != 0 {
		m = imaging.Rotate(m, -angle, color.Transparent)
	}
	return m, nil
}

// sideBySide puts the image and the text next to each other, in order,
// lined up at the top, centre or bottom, interval pixels apart.
func (w *Watermark) sideBySide(pic, text *image.NRGBA) *image.NRGBA {
	first, second := pic, text
	if w.Order == "text_first" {
		first, second = text, pic
	}
	fw, sw := first.Rect.Dx(), second.Rect.Dx()
	h := max(first.Rect.Dy(), second.Rect.Dy())
	out := image.NewNRGBA(image.Rect(0, 0, fw+w.Interval+sw, h))
	y := func(m *image.NRGBA) int {
		switch w.Align {
		case "center":
			return (h - m.Rect.Dy()) / 2
		case "bottom":
			return h - m.Rect.Dy()
		}
		return 0
	}
	draw.Draw(out, first.Rect.Sub(first.Rect.Min).Add(image.Pt(0, y(first))), first, first.Rect.Min, draw.Src)
	draw.Draw(out, second.Rect.Sub(second.Rect.Min).Add(image.Pt(fw+w.Interval, y(second))), second, second.Rect.Min, draw.Src)
	return out
}

// renderText draws the text in colour on a transparent canvas that fits it.
func (w *Watermark) renderText(f *opentype.Font, W, H int) (*image.NRGBA, error) {
	size := w.Size
	if size == 0 {
		size = math.Max(10, float64(min(W, H))/20)
	}
	if w.Scale > 0 && !w.hasImage() {
		// Text width grows linearly with size: measure once, then solve.
		probe, err := textWidth(f, w.Text, 100)
		if err != nil {
			return nil, err
		}
		if probe > 0 {
			size = 100 * w.Scale * float64(W) / probe
		}
	}
	size = math.Min(size, 4096)
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingNone})
	if err != nil {
		return nil, err
	}
	defer face.Close()
	metrics := face.Metrics()
	adv := font.MeasureString(face, w.Text)
	tw, th := adv.Ceil()+2, (metrics.Ascent+metrics.Descent).Ceil()+2
	if tw <= 2 || th <= 2 {
		return nil, nil
	}
	shadow := 0
	if w.Shadow > 0 {
		shadow = max(1, int(math.Round(size/20)))
	}
	mask := image.NewAlpha(image.Rect(0, 0, tw, th))
	d := font.Drawer{Dst: mask, Src: image.Opaque, Face: face, Dot: fixed.Point26_6{X: fixed.I(1), Y: metrics.Ascent + fixed.I(1)}}
	d.DrawString(w.Text)
	out := image.NewNRGBA(image.Rect(0, 0, tw+shadow, th+shadow))
	if shadow > 0 {
		sa := uint32(math.Round(w.Shadow * 255))
		for y := range th {
			for x := range tw {
				if a := mask.Pix[y*mask.Stride+x]; a != 0 {
					out.Pix[out.PixOffset(x+shadow, y+shadow)+3] = uint8((uint32(a)*sa + 127) / 255)
				}
			}
		}
	}
	c := w.Color.NRGBA
	text := image.NewNRGBA(mask.Rect)
	for i, a := range mask.Pix {
		if a == 0 {
			continue
		}
		text.Pix[4*i], text.Pix[4*i+1], text.Pix[4*i+2] = c.R, c.G, c.B
		text.Pix[4*i+3] = uint8((uint32(a)*uint32(c.A) + 127) / 255)
	}
	if shadow == 0 {
		return text, nil
	}
	draw.Draw(out, text.Rect, text, image.Point{}, draw.Over)
	return out, nil
}

func textWidth(f *opentype.Font, text string, size float64) (float64, error) {
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingNone})
	if err != nil {
		return 0, err
	}
	defer face.Close()
	return float64(font.MeasureString(face, text)) / 64, nil
}

// scaleImage sizes an image watermark: to scale × the image width, or its
// own size shrunk to fit inside the margins.
func (w *Watermark) scaleImage(src *image.NRGBA, W, H int) *image.NRGBA {
	sw, sh := src.Rect.Dx(), src.Rect.Dy()
	tw := sw
	if w.Scale > 0 {
		tw = max(1, int(math.Round(w.Scale*float64(W))))
	}
	th := max(1, int(math.Round(float64(sh)*float64(tw)/float64(sw))))
	// A margin only narrows the room along the axis it applies to.
	mx, my := w.margins()
	if !strings.HasSuffix(w.Position, "west") && !strings.HasSuffix(w.Position, "east") {
		mx = 0
	}
	if !strings.HasPrefix(w.Position, "north") && !strings.HasPrefix(w.Position, "south") {
		my = 0
	}
	if room := image.Pt(max(1, W-2*mx), max(1, H-2*my)); tw > room.X || th > room.Y {
		f := math.Min(float64(room.X)/float64(tw), float64(room.Y)/float64(th))
		tw, th = max(1, int(float64(tw)*f)), max(1, int(float64(th)*f))
	}
	if tw == sw && th == sh {
		return src
	}
	return imaging.Resize(src, tw, th, imaging.Lanczos)
}

// margins returns the horizontal and vertical distances from the edges.
func (w *Watermark) margins() (int, int) {
	mx, my := w.Margin, w.Margin
	if w.MarginX >= 0 {
		mx = w.MarginX
	}
	if w.MarginY >= 0 {
		my = w.MarginY
	}
	return mx, my
}

// spots returns where the w×h mark goes on a W×H image.
func (w *Watermark) spots(W, H, mw, mh int) ([]image.Point, error) {
	mx, my := w.margins()
	if !w.Tile {
		x, y := (W-mw)/2, (H-mh)/2+w.OffsetY
		if strings.HasSuffix(w.Position, "west") {
			x = mx
		}
		if strings.HasSuffix(w.Position, "east") {
			x = W - mw - mx
		}
		if strings.HasPrefix(w.Position, "north") {
			y = my
		}
		if strings.HasPrefix(w.Position, "south") {
			y = H - mh - my
		}
		return []image.Point{{x, y}}, nil
	}
	gx, gy := w.Margin, w.Margin
	if w.GapX >= 0 {
		gx = w.GapX
	}
	if w.GapY >= 0 {
		gy = w.GapY
	}
	stepX, stepY := mw+gx, mh+gy
	if n := int64((W-mx)/stepX+1) * int64((H-my)/stepY+1); n > maxWatermarkTiles {
		return nil, Errorf(http.StatusBadRequest, CodeInvalidArgument,
			"watermark: tiling a %d×%d mark over a %d×%d image takes %d copies, over the limit of %d", mw, mh, W, H, n, maxWatermarkTiles)
	}
	var out []image.Point
	for y := my; y < H; y += stepY {
		for x := mx; x < W; x += stepX {
			out = append(out, image.Pt(x, y))
		}
	}
	return out, nil
}

// drawOver composes mark over dst at the given point with an extra
// opacity (0..255), in non-premultiplied colour.
func drawOver(dst, mark *image.NRGBA, at image.Point, opacity uint32) {
	r := mark.Rect.Add(at).Intersect(dst.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		d := dst.Pix[dst.PixOffset(r.Min.X, y):dst.PixOffset(r.Max.X, y)]
		s := mark.Pix[mark.PixOffset(r.Min.X-at.X, y-at.Y):]
		for i := 0; i < len(d); i += 4 {
			sa := uint32(s[i+3]) * opacity / 255
			if sa == 0 {
				continue
			}
			da := uint32(d[i+3])
			// out = src·sa + dst·da·(1−sa), all scaled by 255.
			dw := da * (255 - sa) / 255
			oa := sa + dw
			for c := range 3 {
				d[i+c] = uint8((uint32(s[i+c])*sa + uint32(d[i+c])*dw + oa/2) / oa)
			}
			d[i+3] = uint8(oa)
		}
	}
}

// The image watermark cache holds decoded watermark objects per key, for
// the life of the process: a watermark is one small object drawn on every
// response, so it is fetched once, not per request.
var watermarkCache = struct {
	sync.Mutex
	m map[string]*watermarkEntry
}{m: map[string]*watermarkEntry{}}

type watermarkEntry struct {
	done chan struct{}
	img  *image.NRGBA
	err  error
}

func fetchWatermark(ctx context.Context, obj *Object, key string) (*image.NRGBA, error) {
	watermarkCache.Lock()
	e := watermarkCache.m[key]
	if e == nil {
		if len(watermarkCache.m) >= watermarkCacheSize {
			for k := range watermarkCache.m { // evict any one
				delete(watermarkCache.m, k)
				break
			}
		}
		e = &watermarkEntry{done: make(chan struct{})}
		watermarkCache.m[key] = e
		watermarkCache.Unlock()
		e.img, e.err = loadWatermarkObject(ctx, obj, key)
		if e.err != nil {
			// A failure is not cached: the next request tries again.
			watermarkCache.Lock()
			delete(watermarkCache.m, key)
			watermarkCache.Unlock()
		}
		close(e.done)
		return e.img, e.err
	}
	watermarkCache.Unlock()
	select {
	case <-e.done:
		return e.img, e.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func loadWatermarkObject(ctx context.Context, obj *Object, key string) (*image.NRGBA, error) {
	if obj.Fetcher == nil {
		return nil, fmt.Errorf("watermark: image %q: no fetcher for other objects", key)
	}
	data, err := obj.Fetcher.Fetch(ctx, key, maxWatermarkBytes)
	if err != nil {
		return nil, fmt.Errorf("watermark: image %q: %w", key, err)
	}
	m, err := decodeWatermark(data)
	if err != nil {
		return nil, fmt.Errorf("watermark: image %q: %w", key, err)
	}
	return m, nil
}

// Interface guards (see docs/adding-an-action.md).
var (
	_ Action    = (*Watermark)(nil)
	_ Validator = (*Watermark)(nil)
	_ Preparer  = (*Watermark)(nil)
)
