package actions

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"math"
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
		Summary: "Draw a text or image watermark at one of nine positions, or tiled over the whole image.",
		Doc: "Exactly one of `text`, `image` (an object key in the same bucket, fetched once per " +
			"process and cached) or `file` (an image shipped with the deployment). Text uses `font` " +
			"at `size` pixels (default a twentieth of the shorter side) in `color`; `scale` sizes the " +
			"watermark as a fraction of the image width instead. `tile: true` repeats it over the " +
			"whole image, with `margin` as the gap between tiles.",
		Class: Transform,
		New: func() Action {
			return &Watermark{
				Font:     "goregular",
				Color:    Color{NRGBA: color.NRGBA{255, 255, 255, 255}, Set: true},
				Opacity:  0.5,
				Position: gravitySouthEast,
				Margin:   10,
			}
		},
	})
}

// Watermark draws text, an image object of the same bucket, or an image
// file shipped with the deployment over every frame.
type Watermark struct {
	Text     string  `yaml:"text" doc:"text to draw"`
	Font     string  `yaml:"font" template:"false" doc:"goregular (default), gobold, goitalic, gomono, gomonobold, or the path of a TrueType/OpenType file shipped with the deployment"`
	Size     float64 `yaml:"size" min:"0" max:"4096" doc:"font size in pixels; default: a twentieth of the image's shorter side"`
	Image    string  `yaml:"image" doc:"object key of a watermark image in the same bucket, fetched once per process and cached"`
	File     string  `yaml:"file" template:"false" doc:"path of a watermark image shipped with the deployment, loaded when the rules load"`
	Scale    float64 `yaml:"scale" min:"0" max:"1" doc:"width of the watermark as a fraction of the image width (instead of size; for images, instead of their own size)"`
	Color    Color   `yaml:"color" doc:"text colour (default white)"`
	Opacity  float64 `yaml:"opacity" min:"0" max:"1" doc:"0 (invisible) to 1 (opaque); default 0.5"`
	Position string  `yaml:"position" enum:"center,north,south,east,west,north_east,north_west,south_east,south_west" doc:"where the watermark goes (default south_east)"`
	Margin   int     `yaml:"margin" min:"0" max:"10000" doc:"distance from the image edges in pixels (default 10); with tile, the gap between tiles"`
	Rotate   float64 `yaml:"rotate" min:"-360" max:"360" doc:"turn the watermark clockwise by degrees"`
	Tile     bool    `yaml:"tile" doc:"repeat the watermark over the whole image"`

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
)

// Validate needs exactly one source and one way to size text.
func (w *Watermark) Validate() error {
	n := 0
	for _, s := range []string{w.Text, w.Image, w.File} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("set exactly one of text, image and file")
	}
	if w.Size > 0 && w.Scale > 0 {
		return fmt.Errorf("size and scale both set: use one")
	}
	if w.Size > 0 && w.Text == "" {
		return fmt.Errorf("size: applies to text; scale sizes images")
	}
	return nil
}

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
	// not an image needs the font.
	if w.File == "" && w.Image == "" {
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

var (
	builtinParsedMu sync.Mutex
	builtinParsed   = map[string]*opentype.Font{}
)

// loadFont returns a built-in font (parsed once per process) or parses a
// font file.
func loadFont(name string) (*opentype.Font, error) {
	if name == "" {
		name = "goregular"
	}
	if ttf, ok := builtinFonts[name]; ok {
		builtinParsedMu.Lock()
		defer builtinParsedMu.Unlock()
		if f := builtinParsed[name]; f != nil {
			return f, nil
		}
		f, err := opentype.Parse(ttf)
		if err != nil {
			return nil, err
		}
		builtinParsed[name] = f
		return f, nil
	}
	data, err := readLimited(name, 32<<20)
	if err != nil {
		return nil, fmt.Errorf("font: %v (built-in fonts: goregular, gobold, goitalic, gomono, gomonobold)", err)
	}
	f, err := opentype.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("font: %s is not a TrueType or OpenType font: %v", name, err)
	}
	return f, nil
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
	return imaging.Clone(img.Frames[0].Image), nil
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
	spots := w.spots(b.Dx(), b.Dy(), mark.Rect.Dx(), mark.Rect.Dy())
	alpha := uint32(math.Round(w.Opacity * 255))
	obj.SetImage(framesDo(img, false, func(m image.Image) image.Image {
		dst := imaging.Clone(m)
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
	var m *image.NRGBA
	switch {
	case w.Text != "":
		var err error
		if m, err = w.renderText(a.font, W, H); err != nil {
			return nil, err
		}
	default:
		src := a.file
		if w.Image != "" {
			var err error
			if src, err = fetchWatermark(ctx, obj, w.Image); err != nil {
				return nil, err
			}
		}
		m = w.scaleImage(src, W, H)
	}
	if m == nil || w.Opacity == 0 {
		return nil, nil
	}
	if angle := math.Mod(w.Rotate, 360); angle != 0 {
		m = imaging.Rotate(m, -angle, color.Transparent)
	}
	return m, nil
}

// renderText draws the text in colour on a transparent canvas that fits it.
func (w *Watermark) renderText(f *opentype.Font, W, H int) (*image.NRGBA, error) {
	size := w.Size
	if size == 0 {
		size = math.Max(10, float64(min(W, H))/20)
	}
	if w.Scale > 0 {
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
	mask := image.NewAlpha(image.Rect(0, 0, tw, th))
	d := font.Drawer{Dst: mask, Src: image.Opaque, Face: face, Dot: fixed.Point26_6{X: fixed.I(1), Y: metrics.Ascent + fixed.I(1)}}
	d.DrawString(w.Text)
	out := image.NewNRGBA(mask.Rect)
	c := w.Color.NRGBA
	for i, a := range mask.Pix {
		if a == 0 {
			continue
		}
		out.Pix[4*i], out.Pix[4*i+1], out.Pix[4*i+2] = c.R, c.G, c.B
		out.Pix[4*i+3] = uint8((uint32(a)*uint32(c.A) + 127) / 255)
	}
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
	if room := image.Pt(max(1, W-2*w.Margin), max(1, H-2*w.Margin)); tw > room.X || th > room.Y {
		f := math.Min(float64(room.X)/float64(tw), float64(room.Y)/float64(th))
		tw, th = max(1, int(float64(tw)*f)), max(1, int(float64(th)*f))
	}
	if tw == sw && th == sh {
		return src
	}
	return imaging.Resize(src, tw, th, imaging.Lanczos)
}

// spots returns where the w×h mark goes on a W×H image.
func (w *Watermark) spots(W, H, mw, mh int) []image.Point {
	if !w.Tile {
		inner := anchor(w.Position, max(0, W-2*w.Margin), max(0, H-2*w.Margin), mw, mh)
		if w.Position == gravityCenter {
			return []image.Point{anchor(gravityCenter, W, H, mw, mh)}
		}
		return []image.Point{inner.Add(image.Pt(w.Margin, w.Margin))}
	}
	stepX, stepY := mw+max(w.Margin, 1), mh+max(w.Margin, 1)
	var out []image.Point
	for y := w.Margin; y < H; y += stepY {
		for x := w.Margin; x < W; x += stepX {
			out = append(out, image.Pt(x, y))
		}
	}
	return out
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
