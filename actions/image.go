package actions

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"net/http"
	"slices"

	"github.com/disintegration/imaging"
	"github.com/opaprules/opaprules/internal/imageio"
)

// Image is a decoded body: one frame for still images, every frame (each a
// full canvas) for animations.
type Image = imageio.Image

// Frame is one picture of an Image.
type Frame = imageio.Frame

// Output says how the image is encoded at the end of the plan. convert sets
// it; without convert the source's format is kept with the defaults below.
type Output struct {
	// Format is the output format; "" keeps the source's.
	Format string
	// Quality is on the encoder's own scale, 1..100; 0 is its default.
	Quality int
	// Lossless selects lossless WebP or AVIF.
	Lossless bool
	// Progressive writes a progressive JPEG.
	Progressive bool
	// Speed is the AVIF encoder's effort, 0..10; -1 is the default.
	Speed int
	// Background is what transparency is flattened onto for JPEG.
	Background color.NRGBA
	// KeepMetadata lists what travels from the source to the output:
	// icc, copyright, exif, gps. Everything else is dropped.
	KeepMetadata []string
	// SkipIfLarger serves the original bytes when the plan changed no
	// pixel, the format stays, and the re-encoded result is larger.
	SkipIfLarger bool
}

// Metadata that keep_metadata can name.
const (
	MetaICC       = "icc"
	MetaCopyright = "copyright"
	MetaEXIF      = "exif"
	MetaGPS       = "gps"
)

// defaultOutput keeps the colour profile, which the pixels need to show
// their colours, and nothing that could identify where or by whom a
// picture was taken.
func defaultOutput() Output {
	return Output{
		Speed:        -1,
		Background:   color.NRGBA{255, 255, 255, 255},
		KeepMetadata: []string{MetaICC},
		SkipIfLarger: true,
	}
}

type imageState struct {
	img *Image
	out Output
	// src and cfg are the original bytes and what their header said.
	src  []byte
	cfg  imageio.Config
	meta imageio.Metadata
	// changed records whether any action (or auto-orientation) changed
	// pixels since decoding, for skip-if-larger.
	changed bool
	// shrunk is the image as a shrink-on-load decode returned it, smaller
	// than the source and still as stored; full is the upright size it
	// stands for, extent where that lies in its pixels (see
	// imageio.ShrinkExtent) and orient the EXIF orientation the resize
	// applies after shrinking. They apply only while img is still that
	// image (see shrinkOf).
	shrunk *Image
	full   image.Point
	extent imageio.Rect
	orient int
	// stripped is set by a redaction: from then on only the colour profile
	// may travel, whatever keep_metadata a later convert asks for.
	stripped bool
	// keepOrientation asks the first decode to leave EXIF-rotated pixels
	// as stored, whichever action decodes (oss_process's auto-orient,0).
	keepOrientation bool
}

// keeps reports whether the output may carry the named metadata.
func (st *imageState) keeps(what string) bool {
	if st.stripped && what != MetaICC {
		return false
	}
	return slices.Contains(st.out.KeepMetadata, what)
}

// StripMetadata makes the output carry no metadata but the colour profile,
// for the rest of the plan: after a redaction, EXIF and GPS must never come
// back through a later convert.
func (o *Object) StripMetadata() { o.imageState().stripped = true }

// warmSourceDecoders compiles the WebAssembly decoders of source formats
// (HEIC), which a plan cannot know it will need until a source arrives.
// Resize and convert warm them in the FC initializer; a plan made only of
// other image actions compiles on its first HEIC instead.
func warmSourceDecoders() error {
	_, err := imageio.WarmHEIC()
	return err
}

// decodeOptions are what the first image action of a plan may ask of the
// decoder.
type decodeOptions struct {
	// keepOrientation leaves EXIF-rotated pixels as stored.
	keepOrientation bool
	// target is the size the action will shrink the upright picture to,
	// given its size (see imageio.DecodeOptions.Target).
	target func(w, h int) (int, int)
}

func (o *Object) imageState() *imageState {
	if o.img == nil {
		o.img = &imageState{out: defaultOutput()}
	}
	return o.img
}

// Image decodes the body on first use. Sources over the byte, pixel or
// frame limits are refused from their header, before any pixel buffer is
// allocated, and the decode waits for room in the process's memory budget.
// EXIF orientation is applied.
func (o *Object) Image(ctx context.Context) (*Image, error) {
	return o.decodeImage(ctx, decodeOptions{})
}

func (o *Object) decodeImage(ctx context.Context, opts decodeOptions) (*Image, error) {
	if o.img != nil && o.img.img != nil {
		return o.img.img, nil
	}
	if o.img != nil && o.img.keepOrientation {
		opts.keepOrientation = true
	}
	dopts := imageio.DecodeOptions{AutoOrient: !opts.keepOrientation, Target: opts.target, OrientAfterShrink: true}
	data, cfg, err := o.readImageSource(ctx, o.checkSource, func(c imageio.Config) int64 { return imageio.MemoryEstimate(c, dopts) })
	if err != nil {
		return nil, err
	}
	img, err := imageio.Decode(data, cfg, dopts)
	if err != nil {
		return nil, decodeError(err)
	}
	st := o.imageState()
	st.img, st.src, st.cfg = img, data, cfg
	st.meta = imageio.ReadMetadata(cfg.Format, data)
	st.changed = img.Orientation != cfg.Orientation
	if f := imageio.Shrink(cfg, dopts); f > 1 {
		w, h := cfg.Width, cfg.Height
		if dopts.AutoOrient && cfg.Orientation >= 5 {
			w, h = h, w
		}
		st.shrunk, st.full, st.extent = img, image.Pt(w, h), imageio.ShrinkExtent(cfg, dopts, f)
		st.orient = 1
		if dopts.AutoOrient {
			st.orient = img.Orientation
		}
		st.changed = true
	}
	return img, nil
}

// shrinkOf says whether img is a shrink-on-load decode, still as decoded,
// and if so the full upright size it stands for, where in its pixels that
// lies, and the orientation to apply once it is smaller (1: none). A
// resize of it computes its geometry from the full size, so the result
// has the same size (and rounding) as after a full decode.
func (o *Object) shrinkOf(img *Image) (full image.Point, extent imageio.Rect, orient int, ok bool) {
	if st := o.img; st != nil && st.shrunk != nil && st.shrunk == img && st.img == img {
		return st.full, st.extent, st.orient, true
	}
	return img.Bounds().Size(), imageio.Rect{}, 1, false
}

func decodeError(err error) error {
	var unsupported imageio.UnsupportedError
	if errors.As(err, &unsupported) {
		return &Error{Status: http.StatusBadRequest, Code: CodeUnsupportedContent, Message: unsupported.Error(), Cause: err}
	}
	msg := "the object is not a decodable image"
	if errors.Is(err, imageio.ErrUnknownFormat) {
		msg = "the object is " + imageio.ErrUnknownFormat.Error()
	}
	return &Error{Status: http.StatusBadRequest, Code: CodeInvalidImage, Message: msg, Cause: err}
}

// checkSource applies the source limits to what the header says.
func (o *Object) checkSource(cfg imageio.Config) error {
	l := o.Limits
	tooLarge := func(format string, args ...any) error {
		return Errorf(http.StatusBadRequest, CodeImageTooLarge, format, args...)
	}
	if l.MaxFrames > 0 && cfg.Frames > l.MaxFrames {
		return tooLarge("image has %d frames, over the limit of %d (max_frames)", cfg.Frames, l.MaxFrames)
	}
	px := cfg.Pixels()
	if l.MaxSourcePixels > 0 && px > int64(l.MaxSourcePixels) {
		return tooLarge("image is %d×%d%s, %d pixels, over the limit of %d (max_source_pixels)",
			cfg.Width, cfg.Height, framesNote(cfg.Frames), px, l.MaxSourcePixels)
	}
	if max := int64(l.MaxDecodePixels[cfg.Format]); max > 0 && px > max {
		return tooLarge("%s image is %d×%d%s, over the limit of %d pixels for %s sources (max_decode_pixels.%s)",
			cfg.Format, cfg.Width, cfg.Height, framesNote(cfg.Frames), max, cfg.Format, cfg.Format)
	}
	return nil
}

func framesNote(frames int) string {
	if frames > 1 {
		return fmt.Sprintf(" × %d frames", frames)
	}
	return ""
}

// checkOutputSize refuses an image of w×h (and frames frames) before an
// action allocates it, by the output limits that apply whatever the format.
func (o *Object) checkOutputSize(w, h int) error {
	l := o.Limits
	if (l.MaxOutputWidth > 0 && w > l.MaxOutputWidth) || (l.MaxOutputHeight > 0 && h > l.MaxOutputHeight) {
		return Errorf(http.StatusBadRequest, CodeImageTooLarge,
			"output of %d×%d is over the limit of %d×%d (max_output_width, max_output_height)", w, h, l.MaxOutputWidth, l.MaxOutputHeight)
	}
	return nil
}

// SetImage replaces the decoded image; the plan's result is then a
// re-encode of changed pixels.
func (o *Object) SetImage(img *Image) {
	st := o.imageState()
	st.img = img
	st.changed = true
	// Let the shrink-on-load decode go: it is garbage once replaced.
	st.shrunk = nil
}

// Output returns the encoding settings the plan ends with, for convert to set.
func (o *Object) Output() *Output {
	return &o.imageState().out
}

// outputFormat is the format the plan's result will be encoded in.
func (st *imageState) outputFormat() string {
	if st.out.Format != "" {
		return st.out.Format
	}
	if !slices.Contains(imageio.Encodable, st.img.Format) {
		// A source that is only read (HEIC) goes out as what a browser
		// shows: PNG when it has transparency, else JPEG.
		if st.img.HasAlpha() {
			return imageio.PNG
		}
		return imageio.JPEG
	}
	return st.img.Format
}

// encodeImage encodes the decoded image as the body, checking the output
// limits first, and serves the original instead when that is smaller and
// equivalent (skip-if-larger).
func (o *Object) encodeImage(ctx context.Context) error {
	st := o.img
	if st.img == nil {
		// Settings without a decoded image (convert on a plan that
		// failed to decode): nothing to encode.
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	format := st.outputFormat()
	if err := o.checkOutput(st.img, format); err != nil {
		return err
	}
	if err := o.reserveEncodeMemory(ctx, st.img, format); err != nil {
		return err
	}
	enc, err := imageio.Encode(st.img, imageio.EncodeOptions{
		Format:      format,
		Quality:     st.out.Quality,
		Lossless:    st.out.Lossless,
		Progressive: st.out.Progressive,
		Speed:       st.out.Speed,
		Background:  st.out.Background,
		Metadata:    st.outputMetadata(),
	})
	if err != nil {
		return fmt.Errorf("encode %s: %w", format, err)
	}
	if st.servesOriginal(format, len(enc)) {
		enc = st.src
	}
	o.img = nil
	o.Header.Set("Content-Type", imageio.MediaType(format))
	o.body, o.size = bytes.NewReader(enc), int64(len(enc))
	return nil
}

// checkOutput applies the output limits, including the per-format pixel
// caps (slow encoders: AVIF, WebP).
func (o *Object) checkOutput(img *Image, format string) error {
	b := img.Bounds()
	if err := o.checkOutputSize(b.Dx(), b.Dy()); err != nil {
		return err
	}
	px := int64(b.Dx()) * int64(b.Dy())
	if imageio.CanAnimate(format) {
		px *= int64(len(img.Frames))
	}
	if max := o.Limits.OutputPixels(format); max > 0 && px > max {
		return Errorf(http.StatusBadRequest, CodeImageTooLarge,
			"%s output of %d×%d%s is over the limit of %d pixels for %s (max_output_pixels.%s)",
			format, b.Dx(), b.Dy(), framesNote(len(img.Frames)), max, format, format)
	}
	return nil
}

// outputMetadata is the metadata the output carries: only what
// keep_metadata asks for, and the orientation when the pixels were left
// as stored (auto_orient: false), so viewers still show them upright.
func (st *imageState) outputMetadata() imageio.Metadata {
	keep := st.keeps
	var m imageio.Metadata
	if keep(MetaICC) && imageio.IsRGBProfile(st.meta.ICC) {
		m.ICC = st.meta.ICC
	}
	orientation := st.img.Orientation
	switch {
	case keep(MetaEXIF) && len(st.meta.EXIF) > 0:
		m.EXIF = imageio.ScrubEXIF(st.meta.EXIF, orientation == 1, keep(MetaGPS))
	default:
		m.EXIF = imageio.MinimalEXIF(st.meta.EXIF, orientation, keep(MetaCopyright))
	}
	return m
}

// servesOriginal decides skip-if-larger: the original goes out only when it
// shows the same pixels in the same format and carries nothing the output
// would have dropped (a plan that strips GPS must never serve the GPS back).
func (st *imageState) servesOriginal(format string, encodedSize int) bool {
	if !st.out.SkipIfLarger || st.changed || format != st.cfg.Format || encodedSize <= len(st.src) {
		return false
	}
	if st.out.Progressive && !st.cfg.Progressive {
		return false // asked for a progressive file; the original is not one
	}
	keep := st.keeps
	m := st.meta
	switch {
	case len(m.XMP) > 0:
		return false
	case len(m.ICC) > 0 && !(keep(MetaICC) && imageio.IsRGBProfile(m.ICC)):
		return false
	case len(m.EXIF) > 0 && !keep(MetaEXIF):
		return false
	case imageio.HasGPS(m.EXIF) && !keep(MetaGPS):
		return false
	}
	return true
}

// copyNRGBA returns m as a new NRGBA the caller may draw on, never m's
// own pixels (decoded frames may be shared with the source); a decoded
// JPEG comes with its chroma interpolated as libjpeg does
// (imageio.ToNRGBA), not replicated.
func copyNRGBA(m image.Image) *image.NRGBA {
	n := imageio.ToNRGBA(m)
	if image.Image(n) == m {
		return imaging.Clone(n)
	}
	return n
}

// asRGB is m ready for imaging's whole-picture transforms (flip, rotate,
// adjust): a decoded JPEG converted with its chroma interpolated as
// libjpeg does (imageio.YCbCrToNRGBA), which imaging would replicate;
// anything else as it is.
func asRGB(m image.Image) image.Image {
	if y, ok := m.(*image.YCbCr); ok {
		return imageio.YCbCrToNRGBA(y)
	}
	return m
}

// cropRGB is imaging.Crop, but a decoded JPEG's region alone is converted,
// with its chroma interpolated as libjpeg does.
func cropRGB(m image.Image, r image.Rectangle) *image.NRGBA {
	if y, ok := m.(*image.YCbCr); ok {
		if sub, ok := y.SubImage(r.Intersect(y.Rect)).(*image.YCbCr); ok {
			return imageio.YCbCrToNRGBA(sub)
		}
	}
	return imaging.Crop(m, r)
}
