// Command imagebench runs the image pipelines of bench/images.sh in
// process, so that process start-up is paid once and each iteration is
// one request's worth of work: decode, transform, encode.
//
//	imagebench gen DIR            write the generated inputs into DIR
//	imagebench run CASE INPUT N   run CASE on INPUT N times; print one JSON line
//	imagebench overlay OUT        write the text watermark as an RGBA PNG (for libvips)
//	imagebench filters INPUT N    time each resize filter alone (800 px wide), after a full and a shrink-on-load decode, and its PSNR against Lanczos
//	imagebench cases              list the cases
//	imagebench photo W H OUT.png  write a photo-like W×H PNG (input for other encoders)
//	imagebench decode INPUT N     decode INPUT (any source format) N times; print one JSON line
//
// The JSON line has the first iteration's time (in a fresh process, so it
// includes one-off costs such as compiling the AVIF codec), the median of
// the others, the process's peak RSS (VmHWM) and the output size.
//
// With IMAGEBENCH_CPUPROFILE=FILE, run writes a CPU profile of its
// iterations after the first; with IMAGEBENCH_MEMPROFILE=FILE, an
// allocation profile (go tool pprof -sample_index=alloc_space).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/disintegration/imaging"

	"github.com/opaprules/opaprules/actions"
	"github.com/opaprules/opaprules/internal/imageio"
)

// WatermarkText is drawn by the watermark case; images.sh hands libvips the
// same text as a prepared overlay.
const WatermarkText = "© opaprules example"

type benchCase struct {
	input   string
	actions func() []actions.Action
}

func resize(w int, filter string) *actions.Resize {
	return &actions.Resize{Width: w, Mode: "fit", Filter: filter, Gravity: "center"}
}

func convert(format string, q int) *actions.Convert {
	d, _ := actions.Lookup("convert")
	c := d.New().(*actions.Convert)
	c.Format, c.Quality = format, q
	c.KeepMetadata = []string{}
	return c
}

func watermark() *actions.Watermark {
	d, _ := actions.Lookup("watermark")
	w := d.New().(*actions.Watermark)
	w.Text, w.Size, w.Opacity = WatermarkText, 48, 0.6
	if err := w.Prepare(); err != nil {
		panic(err)
	}
	return w
}

var cases = map[string]benchCase{
	"jpeg800":         {"photo-4000x3000.jpg", func() []actions.Action { return []actions.Action{resize(800, "lanczos"), convert("jpeg", 80)} }},
	"jpeg800-linear":  {"photo-4000x3000.jpg", func() []actions.Action { return []actions.Action{resize(800, "linear"), convert("jpeg", 80)} }},
	"jpeg800-box":     {"photo-4000x3000.jpg", func() []actions.Action { return []actions.Action{resize(800, "box"), convert("jpeg", 80)} }},
	"jpeg200":         {"photo-4000x3000.jpg", func() []actions.Action { return []actions.Action{resize(200, "lanczos"), convert("jpeg", 80)} }},
	"portrait600":     {"portrait-4000x3000.jpg", func() []actions.Action { return []actions.Action{resize(600, "lanczos"), convert("jpeg", 80)} }},
	"webp800":         {"photo-4000x3000.jpg", func() []actions.Action { return []actions.Action{resize(800, "lanczos"), convert("webp", 80)} }},
	"png400":          {"alpha-2000x2000.png", func() []actions.Action { return []actions.Action{resize(400, "lanczos"), convert("png", 0)} }},
	"watermark":       {"photo-1920x1080.jpg", func() []actions.Action { return []actions.Action{watermark(), convert("jpeg", 80)} }},
	"avif800":         {"photo-4000x3000.jpg", func() []actions.Action { return []actions.Action{resize(800, "lanczos"), convert("avif", 60)} }},
	"progressive800":  {"progressive-4000x3000.jpg", func() []actions.Action { return []actions.Action{resize(800, "lanczos"), convert("jpeg", 80)} }},
	"avif-warm-first": {"photo-4000x3000.jpg", nil}, // see runWarm
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "gen":
		err = gen(arg(2))
	case "run":
		n, _ := strconv.Atoi(arg(4))
		err = run(arg(2), arg(3), max(n, 1))
	case "overlay":
		err = overlay(arg(2))
	case "filters":
		n, _ := strconv.Atoi(arg(3))
		err = filters(arg(2), max(n, 1))
	case "photo":
		w, _ := strconv.Atoi(arg(2))
		h, _ := strconv.Atoi(arg(3))
		err = writePhoto(max(w, 1), max(h, 1), arg(4))
	case "decode":
		n, _ := strconv.Atoi(arg(3))
		err = decode(arg(2), max(n, 1))
	case "avifcurve":
		n, _ := strconv.Atoi(arg(5))
		err = avifCurve(arg(2), arg(3), arg(4), max(n, 1))
	case "compare":
		if len(os.Args) < 4 {
			usage()
		}
		err = compare(os.Args[2], os.Args[3:])
	case "cases":
		names := make([]string, 0, len(cases))
		for n := range cases {
			names = append(names, n)
		}
		slices.Sort(names)
		fmt.Println(strings.Join(names, "\n"))
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "imagebench:", err)
		os.Exit(1)
	}
}

func arg(i int) string {
	if i >= len(os.Args) {
		usage()
	}
	return os.Args[i]
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: imagebench gen DIR | run CASE INPUT N | overlay OUT | filters INPUT N | cases | photo W H OUT | decode INPUT N | compare SOURCE OUTPUT... | avifcurve SOURCE SPEEDS QUALITIES RUNS")
	os.Exit(2)
}

type result struct {
	Case       string  `json:"case"`
	N          int     `json:"n"`
	FirstMS    float64 `json:"first_ms"`
	MedianMS   float64 `json:"median_ms"`
	MinMS      float64 `json:"min_ms"`
	PeakRSSMiB float64 `json:"peak_rss_mib"`
	OutBytes   int     `json:"out_bytes"`
	OutSize    string  `json:"out_size"`
	WarmMS     float64 `json:"warm_ms,omitempty"`
}

func run(name, input string, n int) error {
	c, ok := cases[name]
	if !ok {
		return fmt.Errorf("no case %q", name)
	}
	data, err := os.ReadFile(input)
	if err != nil {
		return err
	}
	res := result{Case: name, N: n}
	if c.actions == nil {
		// The AVIF case as an FC instance with an initializer sees it:
		// warm first, then the first request.
		took, err := imageio.WarmAVIF()
		if err != nil {
			return err
		}
		res.WarmMS = ms(took)
		c = cases["avif800"]
	}
	stop, err := profile()
	if err != nil {
		return err
	}
	var times []float64
	for i := range n {
		if i == 1 {
			stop.start()
		}
		start := time.Now()
		out, err := once(data, c.actions())
		if err != nil {
			return err
		}
		d := ms(time.Since(start))
		if i == 0 {
			res.FirstMS = d
			cfg, _ := imageio.DecodeConfig(out)
			res.OutBytes, res.OutSize = len(out), fmt.Sprintf("%dx%d", cfg.Width, cfg.Height)
		}
		if i > 0 || n == 1 {
			times = append(times, d)
		}
	}
	if err := stop.stop(); err != nil {
		return err
	}
	slices.Sort(times)
	res.MedianMS, res.MinMS = times[len(times)/2], times[0]
	res.PeakRSSMiB = peakRSS()
	return json.NewEncoder(os.Stdout).Encode(res)
}

func once(data []byte, acts []actions.Action) ([]byte, error) {
	lim := actions.DefaultLimits()
	lim.MaxOutputPixels = nil
	obj := actions.NewObject(&actions.Request{Header: http.Header{}}, bytes.NewReader(data), int64(len(data)), http.Header{}, lim)
	defer obj.Close()
	ctx := context.Background()
	for _, a := range acts {
		if err := a.Apply(ctx, obj); err != nil {
			return nil, err
		}
	}
	r, _, err := obj.Result(ctx)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

// decode times the source decoder alone, as the first image action runs
// it: header, then a full decode with auto-orientation. The HEIC codec is
// warmed first, as the FC initializer does, and the warm-up reported apart.
func decode(input string, n int) error {
	data, err := os.ReadFile(input)
	if err != nil {
		return err
	}
	cfg, err := imageio.DecodeConfig(data)
	if err != nil {
		return err
	}
	res := result{Case: "decode " + cfg.Format, N: n}
	if cfg.Format == imageio.HEIC {
		took, err := imageio.WarmHEIC()
		if err != nil {
			return err
		}
		res.WarmMS = ms(took)
	}
	var times []float64
	for i := range n {
		start := time.Now()
		cfg, err := imageio.DecodeConfig(data)
		if err != nil {
			return err
		}
		img, err := imageio.Decode(data, cfg, imageio.DecodeOptions{AutoOrient: true})
		if err != nil {
			return err
		}
		d := ms(time.Since(start))
		if i == 0 {
			res.FirstMS = d
			res.OutSize = fmt.Sprintf("%dx%d", img.Bounds().Dx(), img.Bounds().Dy())
		}
		if i > 0 || n == 1 {
			times = append(times, d)
		}
	}
	slices.Sort(times)
	res.MedianMS, res.MinMS = times[len(times)/2], times[0]
	res.PeakRSSMiB = peakRSS()
	return json.NewEncoder(os.Stdout).Encode(res)
}

func writePhoto(w, h int, out string) error {
	b, err := imageio.Encode(&imageio.Image{Frames: []imageio.Frame{{Image: photo(w, h, 255)}}}, imageio.EncodeOptions{Format: "png"})
	if err != nil {
		return err
	}
	return os.WriteFile(out, b, 0o644)
}

func ms(d time.Duration) float64 { return math.Round(float64(d.Microseconds())/100) / 10 }

// peakRSS is the process's resident-set high-water mark, in MiB.
func peakRSS() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return math.Round(kb/1024*10) / 10
		}
	}
	return 0
}

// gen writes photo-like inputs: smooth colour fields with edges and
// per-pixel noise, which compress like camera pictures rather than like
// flat synthetic art.
func gen(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	write := func(name string, img *imageio.Image, o imageio.EncodeOptions) error {
		b, err := imageio.Encode(img, o)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, name), b, 0o644)
	}
	still := func(m image.Image) *imageio.Image { return &imageio.Image{Frames: []imageio.Frame{{Image: m}}} }
	big := photo(4000, 3000, 255)
	if err := write("photo-4000x3000.jpg", still(big), imageio.EncodeOptions{Format: "jpeg", Quality: 90}); err != nil {
		return err
	}
	// The same pixels stored as a phone stores a portrait shot: sideways,
	// with EXIF orientation 6 (turn 90° clockwise to show).
	if err := write("portrait-4000x3000.jpg", still(big), imageio.EncodeOptions{Format: "jpeg", Quality: 90,
		Metadata: imageio.Metadata{EXIF: imageio.MinimalEXIF(nil, 6, false)}}); err != nil {
		return err
	}
	if err := write("photo-1920x1080.jpg", still(photo(1920, 1080, 255)), imageio.EncodeOptions{Format: "jpeg", Quality: 90}); err != nil {
		return err
	}
	// bench/http.sh's small case: 1200×800 to fit 300×200.
	if err := write("photo-1200x800.jpg", still(photo(1200, 800, 255)), imageio.EncodeOptions{Format: "jpeg", Quality: 90}); err != nil {
		return err
	}
	return write("alpha-2000x2000.png", still(photo(2000, 2000, 0)), imageio.EncodeOptions{Format: "png"})
}

func photo(w, h int, alpha int) *image.NRGBA {
	rng := rand.New(rand.NewPCG(1, 2))
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		fy := float64(y) / float64(h)
		for x := range w {
			fx := float64(x) / float64(w)
			r := 128 + 90*math.Sin(7*fx+3*fy) + 30*math.Sin(40*fx*fy)
			g := 128 + 90*math.Cos(5*fy-4*fx)
			b := 110 + 80*math.Sin(9*fx*fx+2*fy)
			if (int(fx*12)+int(fy*9))%5 == 0 { // some hard edges
				r, g = g, r
			}
			n := rng.NormFloat64() * 6
			i := m.PixOffset(x, y)
			m.Pix[i], m.Pix[i+1], m.Pix[i+2] = c8(r+n), c8(g+n), c8(b+n)
			m.Pix[i+3] = 255
			if alpha == 0 { // a soft disc of opacity
				d := math.Hypot(fx-0.5, fy-0.5)
				m.Pix[i+3] = c8(255 * (1.2 - 2*d))
			}
		}
	}
	return m
}

func c8(v float64) uint8 { return uint8(max(0, min(255, math.Round(v)))) }

// overlay renders the watermark case's text, as the watermark action
// would, to an RGBA PNG that libvips can composite.
func overlay(out string) error {
	base := image.NewNRGBA(image.Rect(0, 0, 1920, 1080))
	for i := range base.Pix {
		base.Pix[i] = 0
	}
	img := &imageio.Image{Frames: []imageio.Frame{{Image: base}}, Format: "png", Orientation: 1}
	b, err := imageio.Encode(img, imageio.EncodeOptions{Format: "png"})
	if err != nil {
		return err
	}
	obj := actions.NewObject(&actions.Request{Header: http.Header{}}, bytes.NewReader(b), int64(len(b)), http.Header{}, actions.DefaultLimits())
	defer obj.Close()
	if err := watermark().Apply(context.Background(), obj); err != nil {
		return err
	}
	m, err := obj.Image(context.Background())
	if err != nil {
		return err
	}
	// Cut the full-size transparent canvas down to the text's box.
	frame := m.Frames[0].Image.(*image.NRGBA)
	box := image.Rectangle{}
	for y := range frame.Rect.Dy() {
		for x := range frame.Rect.Dx() {
			if frame.NRGBAAt(x, y).A != 0 {
				box = box.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	cut := frame.SubImage(box).(*image.NRGBA)
	enc, err := imageio.Encode(&imageio.Image{Frames: []imageio.Frame{{Image: cut}}}, imageio.EncodeOptions{Format: "png", Background: color.NRGBA{}})
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, enc, 0o644); err != nil {
		return err
	}
	fmt.Printf("%d %d\n", box.Min.X, box.Min.Y)
	return nil
}

// filters times the resize step alone, 800 px wide, per filter: on the
// full decode with imaging.Resize (what a resize does when it cannot
// shrink on load), and on the shrink-on-load decode with
// imageio.ResampleOpaque (what it does to this input). PSNR over RGB is
// against the full decode resized with Lanczos.
func filters(input string, n int) error {
	data, err := os.ReadFile(input)
	if err != nil {
		return err
	}
	cfg, err := imageio.DecodeConfig(data)
	if err != nil {
		return err
	}
	w := 800
	h := cfg.Height * w / cfg.Width
	full, err := imageio.Decode(data, cfg, imageio.DecodeOptions{AutoOrient: true})
	if err != nil {
		return err
	}
	opts := imageio.DecodeOptions{AutoOrient: true, Target: func(int, int) (int, int) { return w, h }}
	shrink := imageio.Shrink(cfg, opts)
	shrunk, err := imageio.Decode(data, cfg, opts)
	if err != nil {
		return err
	}
	extent := imageio.ShrinkExtent(cfg, opts, shrink)
	names := []string{"lanczos", "catmullrom", "linear", "box"}
	byName := map[string]imaging.ResampleFilter{"lanczos": imaging.Lanczos, "catmullrom": imaging.CatmullRom, "linear": imaging.Linear, "box": imaging.Box}
	var ref *image.NRGBA
	for _, path := range []string{"full decode", fmt.Sprintf("1/%d decode", shrink)} {
		for _, name := range names {
			f := byName[name]
			var times []float64
			var out *image.NRGBA
			for range n {
				start := time.Now()
				if ref == nil || path == "full decode" {
					out = imaging.Resize(full.Frames[0].Image, w, h, f)
				} else {
					out = imageio.ResampleOpaque(shrunk.Frames[0].Image, extent, w, h, f)
				}
				times = append(times, ms(time.Since(start)))
			}
			slices.Sort(times)
			if ref == nil {
				ref = out
			}
			fmt.Printf("| %s | %s | %.0f | %.0f | %s |\n", path, name, times[len(times)/2], times[0], psnrText(out, ref))
		}
	}
	return nil
}

func psnrText(a, b *image.NRGBA) string {
	var sum float64
	for i := 0; i < len(a.Pix); i += 4 {
		for c := range 3 {
			d := float64(a.Pix[i+c]) - float64(b.Pix[i+c])
			sum += d * d
		}
	}
	mse := sum / float64(len(a.Pix)/4*3)
	if mse == 0 {
		return "(reference)"
	}
	return fmt.Sprintf("%.1f dB", 10*math.Log10(255*255/mse))
}
