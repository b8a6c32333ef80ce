package actions

import (
	"context"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/opaprules/opaprules/internal/imageio"
)

func init() {
	Register(Definition{
		Name:    "convert",
		Summary: "Encode the image as jpeg, png, gif, webp, avif, bmp or tiff, or auto: the best format the client's Accept lists.",
		Doc: "`format: auto` picks the first of `prefer` that the client's Accept lists explicitly " +
			"(`*/*` and `image/*` do not count); otherwise GIF for animations, PNG for images with " +
			"alpha, and the source format (or JPEG). The accepted formats feed the derived ETag, so " +
			"different bytes never share an ETag; behind a CDN, key the cache on Accept.\n\n" +
			"Sources may be JPEG (baseline and progressive, any subsampling, CMYK), PNG, GIF " +
			"(animated), WebP (animated), BMP, TIFF, AVIF and HEIC (read, not written: without " +
			"convert a HEIC goes out as JPEG); the format is sniffed from the bytes " +
			"([sources.md](sources.md)). " +
			"Animations keep every frame through resize, crop, watermark, flip, rotate and adjust; " +
			"only GIF and WebP output keep the animation, other formats write the first frame. " +
			"Outputs carry no EXIF or GPS unless `keep_metadata` asks for them.\n\n" +
			"`format: keep` keeps the format the plan had so far (the source's, or an earlier " +
			"convert's) to change only the quality. `relative_quality` sets the quality to a " +
			"percentage of the source's own: a JPEG's is estimated from its quantisation tables " +
			"(exact for files from libjpeg and its relatives), any other source counts as 100. " +
			"`not_above_source` caps `quality` at that estimate, so re-encoding never inflates a " +
			"low-quality JPEG. These are OSS IMG's quality,q_ and quality,Q_.",
		Class: Transform,
		New: func() Action {
			return &Convert{
				Prefer:       []string{imageio.AVIF, imageio.WebP},
				Speed:        imageio.DefaultAVIFSpeed,
				Background:   Color{NRGBA: defaultOutput().Background, Set: true},
				KeepMetadata: []string{MetaICC},
				SkipIfLarger: true,
			}
		},
	})
}

// Convert sets how the plan's image is encoded. With format: auto the
// format is the first of prefer that the client's Accept header lists
// explicitly (*/* and image/* do not count: browsers send them for images
// they cannot show); otherwise GIF for animations, PNG when the picture
// has transparency, and else the source's format when it is JPEG, PNG or
// GIF, and JPEG for the rest.
type Convert struct {
	Format          string   `yaml:"format" required:"true" enum:"jpeg,png,gif,webp,avif,bmp,tiff,auto,keep" doc:"output format; auto picks by the client's Accept header, keep leaves the format as it is"`
	Quality         int      `yaml:"quality" min:"0" max:"100" doc:"1-100 on the encoder's own scale; 0 or absent: jpeg 80, webp 80, avif 60"`
	RelativeQuality int      `yaml:"relative_quality" min:"0" max:"100" doc:"instead of quality: this percentage of the source's quality (a JPEG's estimated from its quantisation tables; other sources count as 100)"`
	NotAboveSource  bool     `yaml:"not_above_source" doc:"never encode at a quality above the source JPEG's estimated own"`
	Prefer          []string `yaml:"prefer" enum:"avif,webp" doc:"for format: auto, the modern formats to offer, in order of preference (default [avif, webp])"`
	Lossless        bool     `yaml:"lossless" doc:"lossless webp or avif"`
	Progressive     bool     `yaml:"progressive" doc:"write a progressive JPEG, which browsers show blurred first, then sharp (OSS IMG's interlace,1); same pixels as baseline"`
	Speed           int      `yaml:"speed" min:"0" max:"10" doc:"avif encoder speed, 0 (smallest files, slowest) to 10 (default, fastest)"`
	Background      Color    `yaml:"background" doc:"colour transparent pixels are flattened onto when the format has no alpha (jpeg); default white"`
	KeepMetadata    []string `yaml:"keep_metadata" enum:"icc,copyright,exif,gps" doc:"metadata kept where the format can carry it (jpeg, png, webp): icc colour profile, copyright (EXIF Artist and Copyright), exif (all but GPS), gps (with exif); default [icc], [] strips everything"`
	SkipIfLarger    bool     `yaml:"skip_if_larger" doc:"serve the original when no pixel changed, the format stays and the re-encode is larger (default true)"`
}

// Validate checks combinations the tags cannot.
func (c *Convert) Validate() error {
	if slices.Contains(c.KeepMetadata, MetaGPS) && !slices.Contains(c.KeepMetadata, MetaEXIF) {
		return fmt.Errorf("keep_metadata: gps is kept as part of exif: list exif too")
	}
	if c.Lossless && c.Format != "webp" && c.Format != "avif" && c.Format != "auto" && c.Format != "keep" {
		return fmt.Errorf("lossless: only webp and avif have a lossless mode")
	}
	return nil
}

// Apply records the output settings; the image is encoded when the plan ends.
func (c *Convert) Apply(ctx context.Context, obj *Object) error {
	img, err := obj.Image(ctx)
	if err != nil {
		return err
	}
	out := obj.Output()
	format := c.Format
	switch format {
	case "auto":
		format = c.choose(acceptedFormats(obj.Request.Header), img)
	case "keep":
		format = obj.img.outputFormat()
	}
	out.Format = format
	out.Quality = c.quality(obj.img)
	out.Lossless = c.Lossless && (format == imageio.WebP || format == imageio.AVIF)
	out.Progressive = c.Progressive
	out.Speed = c.Speed
	out.Background = c.Background.NRGBA
	out.KeepMetadata = c.KeepMetadata
	out.SkipIfLarger = c.SkipIfLarger
	obj.Header.Set("Content-Type", imageio.MediaType(format))
	return nil
}

// quality is the encoder quality for the plan's source.
func (c *Convert) quality(st *imageState) int {
	if c.RelativeQuality == 0 && !c.NotAboveSource {
		return c.Quality
	}
	source := 100
	if st.cfg.Format == imageio.JPEG {
		if q, ok := imageio.JPEGQuality(st.src); ok {
			source = q
		}
	}
	q := c.Quality
	if c.RelativeQuality > 0 {
		q = max(1, (source*c.RelativeQuality+50)/100)
	}
	if c.NotAboveSource && q > source {
		q = source
	}
	return q
}

// choose picks the format for format: auto.
func (c *Convert) choose(accepted []string, img *Image) string {
	for _, f := range c.Prefer {
		if !slices.Contains(accepted, f) {
			continue
		}
		if img.Animated() && !imageio.CanAnimate(f) {
			continue // an AVIF of the first frame would lose the animation
		}
		return f
	}
	switch {
	case img.Animated():
		return imageio.GIF
	case img.HasAlpha():
		return imageio.PNG
	case img.Format == imageio.JPEG || img.Format == imageio.PNG || img.Format == imageio.GIF:
		return img.Format
	}
	return imageio.JPEG
}

// Vary names Accept and the formats of prefer that the client accepts, in
// order: requests with the same key get the same bytes.
func (c *Convert) Vary(req *Request) (header, key string) {
	if c.Format != "auto" {
		return "", ""
	}
	var h http.Header
	if req != nil {
		h = req.Header
	}
	accepted := acceptedFormats(h)
	var keys []string
	for _, f := range c.Prefer {
		if slices.Contains(accepted, f) {
			keys = append(keys, f)
		}
	}
	return "Accept", strings.Join(keys, ",")
}

// Predict sets the Content-Type the plan will answer with, when it does not
// depend on the pixels.
func (c *Convert) Predict(obj *Object) {
	format := c.Format
	if format == "keep" {
		return
	}
	if format == "auto" {
		format = ""
		_, key := c.Vary(obj.Request)
		if first, _, _ := strings.Cut(key, ","); first != "" {
			// Still images get the first accepted preference; only an
			// animation could change it (AVIF does not animate here).
			format = first
		}
	}
	if format != "" {
		obj.Header.Set("Content-Type", imageio.MediaType(format))
	}
}

// Warm compiles the HEIC decoder, as any image action's source may be
// HEIC, and the AVIF codec when this action can produce AVIF.
func (c *Convert) Warm() error {
	if err := warmSourceDecoders(); err != nil {
		return err
	}
	if c.Format == imageio.AVIF || (c.Format == "auto" && slices.Contains(c.Prefer, imageio.AVIF)) {
		_, err := imageio.WarmAVIF()
		return err
	}
	return nil
}

// acceptedFormats lists the image formats an Accept header names
// explicitly with a non-zero quality.
func acceptedFormats(h http.Header) []string {
	var out []string
	for _, v := range h.Values("Accept") {
		for part := range strings.SplitSeq(v, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil || strings.Contains(mt, "*") {
				continue
			}
			if q, ok := params["q"]; ok {
				if f, err := strconv.ParseFloat(q, 64); err != nil || f <= 0 {
					continue
				}
			}
			if f := imageio.FormatOfMediaType(mt); f != "" && !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
	}
	return out
}

// Interface guards (see docs/adding-an-action.md).
var (
	_ Action    = (*Convert)(nil)
	_ Validator = (*Convert)(nil)
	_ Predictor = (*Convert)(nil)
	_ Varier    = (*Convert)(nil)
	_ Warmer    = (*Convert)(nil)
)
