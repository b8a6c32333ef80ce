package actions

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"mime"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/disintegration/imaging"

	"github.com/opaprules/opaprules/internal/pii"
)

func init() {
	Register(Definition{
		Name: "redact",
		Summary: "Redact personal data: in text, JSON, NDJSON and CSV by detectors, patterns, JSON paths and keys, CSV columns; " +
			"in images, fill, pixelate or blur regions.",
		Doc: "Two modes, chosen by the parameters. **Text mode** (detectors, patterns, JSON paths and " +
			"keys, CSV columns) works on text, logs, CSV, JSON and NDJSON, recognised by content type, " +
			"then extension. **Image mode** (`regions`) works on pictures. One action is one mode.\n\n" +
			"Text mode: every detector confirms its candidates (Luhn, the ID checksum, date checks), " +
			"so a number that fails Luhn stays. `json_paths` and `json_keys` redact whole values and " +
			"keep valid JSON; `csv_columns` redacts whole columns and keeps valid CSV. `style: mask` " +
			"on plain text streams in constant memory with the original's length. Other styles and " +
			"structured formats are buffered: in memory up to `max_buffer_bytes`, then in a temporary " +
			"file up to `max_spool_bytes`, then 400 `EntityTooLarge`.\n\n" +
			"Image mode: `fill` is `solid` (the only irreversible fill), `pixelate` or `blur`. Every " +
			"frame is redacted, and EXIF and GPS are stripped from the rest of the plan's output.",
		Class: Transform,
		New:   func() Action { return &Redact{HashLength: defaultHashLength} },
	})
}

// Redact removes personal data from the body. It has two modes, chosen by
// whether regions is set:
//
//   - text (no regions): the object's kind (text, JSON, NDJSON, CSV) comes
//     from its Content-Type and key (pii.KindOf); values found by the
//     detectors and patterns, and the JSON fields and CSV columns named, are
//     replaced in the chosen style. Binary or unknown content is refused
//     (400 UnsupportedContent) or, with on_unsupported: passthrough, served
//     unchanged.
//   - image (regions): every region of every frame is filled, pixelated or
//     blurred, and the output carries no EXIF, GPS or XMP.
//
// The parameters that shape the compiled redactor cannot be templates: it
// is built once, at load, and shared by every request.
type Redact struct {
	Detectors     []string        `yaml:"detectors" enum:"all,none,email,phone,cn_id,bank_card,ipv4,ipv6,aliyun_access_key,jwt" doc:"built-in detectors to run (default all); [none] runs only patterns and the JSON and CSV field rules"`
	Patterns      []RedactPattern `yaml:"patterns" doc:"named RE2 patterns to redact as well, matched within single lines"`
	Style         string          `yaml:"style" enum:"mask,replace,entity,hash" template:"false" doc:"mask (default; keeps the length, so the object streams), replace, entity ([EMAIL]) or hash ([EMAIL:token], keyed HMAC-SHA256)"`
	MaskChar      string          `yaml:"mask_char" template:"false" doc:"mask style: the printable ASCII character values are masked with (default *)"`
	KeepLast      int             `yaml:"keep_last" min:"0" max:"16" template:"false" doc:"mask style: characters left unmasked at the end of each value (a value no longer than this is shown whole)"`
	Replace       string          `yaml:"replace" template:"false" doc:"replace style: the text every value becomes; may be empty (values are removed)"`
	HashKeyEnv    string          `yaml:"hash_key_env" template:"false" doc:"hash style: name of the environment variable (OPAPRULES_...) holding the HMAC key, at least 16 bytes; read per request"`
	HashLength    int             `yaml:"hash_length" min:"4" max:"64" template:"false" doc:"hash style: token length in characters (default 16; at most 43 for base64url)"`
	HashEncoding  string          `yaml:"hash_encoding" enum:"hex,base64url" template:"false" doc:"hash style: token alphabet (default hex)"`
	JSONPaths     []string        `yaml:"json_paths" doc:"JSON and NDJSON: values to redact whole, e.g. $.user.email, $.orders[*].card, $..phone"`
	JSONKeys      []string        `yaml:"json_keys" doc:"JSON and NDJSON: redact whole every value under one of these keys, at any depth (case-insensitive)"`
	CSVColumns    []string        `yaml:"csv_columns" doc:"CSV: redact whole every cell of these columns, named by the header row (case-insensitive)"`
	OnUnsupported string          `yaml:"on_unsupported" enum:"fail,passthrough" doc:"binary or unknown content: fail (default, 400 UnsupportedContent) or passthrough (served unchanged)"`

	Regions   []RedactRegion `yaml:"regions" doc:"image mode: boxes to redact on every frame, in the upright picture's coordinates"`
	Fill      string         `yaml:"fill" enum:"solid,pixelate,blur" doc:"image mode: solid (default; the only fill that cannot be partly undone), pixelate or blur"`
	Color     Color          `yaml:"color" doc:"image mode, solid fill: the colour the pixels are replaced with (default black)"`
	BlockSize int            `yaml:"block_size" min:"0" max:"1024" doc:"image mode, pixelate: block size in pixels (default a sixth of the region's shorter side, at least 8)"`
	Sigma     float64        `yaml:"sigma" min:"0" max:"500" doc:"image mode, blur: strength in pixels, the Gaussian's sigma (default a sixth of the region's shorter side, 4 to 500)"`

	// prepared holds the compiled redactor, shared by per-request copies.
	prepared *redactPrepared
}

// RedactPattern is an operator's detector.
type RedactPattern struct {
	Name      string `yaml:"name" required:"true" doc:"letters, digits, _ and -; upper-cased in entity tokens ([ORDER_NO])"`
	Regex     string `yaml:"regex" required:"true" doc:"RE2 expression, matched within single lines; must not match the empty string"`
	MaxLength int    `yaml:"max_length" min:"1" max:"65536" doc:"longest match in bytes (default 256); declare the real bound"`
}

// RedactRegion is a box of an image. With unit px the numbers are whole
// pixels; with unit fraction they are fractions of the image's width (x,
// width) and height (y, height), so one rule fits every size of a layout.
type RedactRegion struct {
	X      float64 `yaml:"x" min:"0" doc:"left edge"`
	Y      float64 `yaml:"y" min:"0" doc:"top edge"`
	Width  float64 `yaml:"width" required:"true" doc:"width, more than 0"`
	Height float64 `yaml:"height" required:"true" doc:"height, more than 0"`
	Unit   string  `yaml:"unit" enum:"px,fraction" doc:"px (default) or fraction (0..1 of the image's width and height)"`
}

const (
	defaultHashLength = 16
	// minHashKeyBytes keeps the tokens of small value spaces (phone
	// numbers: about 10^9) from being found by trying every value.
	minHashKeyBytes = 16
	// maxRedactRegions bounds the work one image redaction may ask for.
	maxRedactRegions = 64
	// maxRegionPixels bounds px coordinates: far beyond any image the
	// limits let through, small enough that sums cannot overflow.
	maxRegionPixels = 1 << 20
	// maxSigma is the strongest blur, as the sigma parameter's maximum.
	maxSigma = 500
)

// hashKeyEnvName is the env() rule: a rule can only name variables of its
// own prefix, never a credential of the function's environment.
var hashKeyEnvName = regexp.MustCompile(`^OPAPRULES_[A-Za-z0-9_]+$`)

func (r *Redact) imageMode() bool { return len(r.Regions) > 0 }

// Fingerprint identifies the hash key in use, so tokens made with a
// rotated key get a new ETag. Other styles depend on nothing outside the
// parameters.
func (r *Redact) Fingerprint() string {
	if r.style() != pii.StyleHash || r.HashKeyEnv == "" {
		return ""
	}
	sum := sha256.Sum256([]byte("opaprules redact key\x00" + os.Getenv(r.HashKeyEnv)))
	return hex.EncodeToString(sum[:8])
}

// hashLengthSet tells a hash_length given from the default, which is 16
// from the loader and 0 in a struct built by hand.
func (r *Redact) hashLengthSet() bool {
	return r.HashLength != 0 && r.HashLength != defaultHashLength
}

// textParamsSet names the text-mode parameters given.
func (r *Redact) textParamsSet() []string {
	var set []string
	add := func(name string, given bool) {
		if given {
			set = append(set, name)
		}
	}
	add("detectors", len(r.Detectors) > 0)
	add("patterns", len(r.Patterns) > 0)
	add("style", r.Style != "")
	add("mask_char", r.MaskChar != "")
	add("keep_last", r.KeepLast != 0)
	add("replace", r.Replace != "")
	add("hash_key_env", r.HashKeyEnv != "")
	add("hash_length", r.hashLengthSet())
	add("hash_encoding", r.HashEncoding != "")
	add("json_paths", len(r.JSONPaths) > 0)
	add("json_keys", len(r.JSONKeys) > 0)
	add("csv_columns", len(r.CSVColumns) > 0)
	add("on_unsupported", r.OnUnsupported != "")
	return set
}

// imageParamsSet names the image-mode parameters given besides regions.
func (r *Redact) imageParamsSet() []string {
	var set []string
	for _, p := range []struct {
		name  string
		given bool
	}{{"fill", r.Fill != ""}, {"color", r.Color.Set}, {"block_size", r.BlockSize != 0}, {"sigma", r.Sigma != 0}} {
		if p.given {
			set = append(set, p.name)
		}
	}
	return set
}

// Validate checks what spans parameters. Prepare runs the same checks at
// load even when a parameter is a template (Validate then only runs per
// request), so a misconfigured rule never loads.
func (r *Redact) Validate() error {
	if err := r.checkStatic(); err != nil {
		return err
	}
	if r.imageMode() {
		switch {
		case r.Fill != "pixelate" && r.BlockSize != 0:
			return fmt.Errorf("block_size: applies to fill: pixelate")
		case r.Fill != "blur" && r.Sigma != 0:
			return fmt.Errorf("sigma: applies to fill: blur")
		case r.Fill != "" && r.Fill != "solid" && r.Color.Set:
			return fmt.Errorf("color: applies to fill: solid")
		}
	}
	return nil
}

// checkStatic checks the parameters that cannot be templates.
func (r *Redact) checkStatic() error {
	if r.imageMode() {
		if text := r.textParamsSet(); len(text) > 0 {
			return fmt.Errorf("regions: redacts an image, and %s apply to text: use one redact for images and another for text", strings.Join(text, ", "))
		}
		return r.checkRegions()
	}
	if img := r.imageParamsSet(); len(img) > 0 {
		return fmt.Errorf("%s: applies to image regions, and regions is not set", strings.Join(img, ", "))
	}
	style := r.style()
	only := func(param string, given bool, want pii.Style) error {
		if given && style != want {
			return fmt.Errorf("%s: applies to style: %s (style is %s)", param, want, style)
		}
		return nil
	}
	for _, err := range []error{
		only("mask_char", r.MaskChar != "", pii.StyleMask),
		only("keep_last", r.KeepLast != 0, pii.StyleMask),
		only("replace", r.Replace != "", pii.StyleReplace),
		only("hash_key_env", r.HashKeyEnv != "", pii.StyleHash),
		only("hash_length", r.hashLengthSet(), pii.StyleHash),
		only("hash_encoding", r.HashEncoding != "", pii.StyleHash),
	} {
		if err != nil {
			return err
		}
	}
	if r.MaskChar != "" && (len(r.MaskChar) != 1 || r.MaskChar[0] < 0x21 || r.MaskChar[0] > 0x7e) {
		return fmt.Errorf("mask_char: %q is not one printable ASCII character", r.MaskChar)
	}
	if style == pii.StyleHash {
		if r.HashKeyEnv == "" {
			return fmt.Errorf("hash_key_env: required with style: hash; name an environment variable starting with OPAPRULES_ that holds the key")
		}
		if !hashKeyEnvName.MatchString(r.HashKeyEnv) {
			return fmt.Errorf("hash_key_env: %q must be an environment variable name starting with OPAPRULES_", r.HashKeyEnv)
		}
	}
	if slices.Equal(r.Detectors, []string{"none"}) && len(r.Patterns) == 0 && len(r.JSONPaths) == 0 &&
		len(r.JSONKeys) == 0 && len(r.CSVColumns) == 0 {
		return fmt.Errorf("detectors: [none] without patterns, json_paths, json_keys or csv_columns redacts nothing")
	}
	return nil
}

func (r *Redact) checkRegions() error {
	if len(r.Regions) > maxRedactRegions {
		return fmt.Errorf("regions: %d boxes, over the limit of %d", len(r.Regions), maxRedactRegions)
	}
	for i, g := range r.Regions {
		name := fmt.Sprintf("regions[%d]", i)
		for _, v := range []struct {
			field string
			v     float64
		}{{"x", g.X}, {"y", g.Y}, {"width", g.Width}, {"height", g.Height}} {
			if math.IsNaN(v.v) || v.v < 0 {
				return fmt.Errorf("%s.%s: %s is negative", name, v.field, fmtNum(v.v))
			}
			switch g.Unit {
			case "", "px":
				if v.v != math.Trunc(v.v) || v.v > maxRegionPixels {
					return fmt.Errorf("%s.%s: %s is not a whole number of pixels up to %d (for fractions of the image set unit: fraction)", name, v.field, fmtNum(v.v), maxRegionPixels)
				}
			case "fraction":
				if v.v > 1 {
					return fmt.Errorf("%s.%s: %s is above 1 (unit: fraction)", name, v.field, fmtNum(v.v))
				}
			default:
				return fmt.Errorf("%s.unit: %q is not one of px, fraction", name, g.Unit)
			}
		}
		if g.Width == 0 || g.Height == 0 {
			return fmt.Errorf("%s: width and height must be more than 0", name)
		}
		if g.Unit == "fraction" && (g.X >= 1 || g.Y >= 1) {
			return fmt.Errorf("%s: x and y must be below 1 (unit: fraction), or the box is outside the image", name)
		}
	}
	return nil
}

func (r *Redact) style() pii.Style {
	if r.Style == "" {
		return pii.StyleMask
	}
	return pii.Style(r.Style)
}

// Prepare checks the parameters and compiles the redactor once.
func (r *Redact) Prepare() error {
	if err := r.checkStatic(); err != nil {
		return err
	}
	if r.imageMode() {
		return nil
	}
	p, err := r.prepare()
	if err != nil {
		return err
	}
	r.prepared = p
	return nil
}

// redactPrepared is the compiled text redactor. For the hash style the key
// is read from the environment per request (see redactorFor), so a rule set
// can be checked where the secret is absent (CI, a laptop) and the key can
// come with the deployment only.
type redactPrepared struct {
	redactor *pii.Redactor // styles without a key
	cfg      pii.Config    // hash style: the config, less the key
	keyEnv   string
	keyed    atomic.Pointer[keyedRedactor]
}

type keyedRedactor struct {
	key string
	r   *pii.Redactor
}

func (r *Redact) config() pii.Config {
	cfg := pii.Config{
		Detectors:    r.Detectors,
		Style:        r.style(),
		KeepLast:     r.KeepLast,
		Replace:      r.Replace,
		HashLen:      r.HashLength,
		HashEncoding: r.HashEncoding,
		JSONPaths:    r.JSONPaths,
		JSONKeys:     r.JSONKeys,
		CSVColumns:   r.CSVColumns,
	}
	if r.MaskChar != "" {
		cfg.Mask = r.MaskChar[0]
	}
	for _, p := range r.Patterns {
		cfg.Patterns = append(cfg.Patterns, pii.Pattern{Name: p.Name, Regex: p.Regex, MaxLength: p.MaxLength})
	}
	return cfg
}

func (r *Redact) prepare() (*redactPrepared, error) {
	cfg := r.config()
	p := &redactPrepared{}
	if cfg.Style != pii.StyleHash {
		red, err := pii.New(cfg)
		if err != nil {
			return nil, configError(err)
		}
		p.redactor = red
		return p, nil
	}
	p.cfg, p.keyEnv = cfg, r.HashKeyEnv
	key := os.Getenv(r.HashKeyEnv)
	if len(key) < minHashKeyBytes {
		// Compile with a stand-in key only to report every other mistake
		// now; requests read the variable again.
		cfg.HashKey = []byte("stand-in key for checking the rule")
		if _, err := pii.New(cfg); err != nil {
			return nil, configError(err)
		}
		return p, nil
	}
	cfg.HashKey = []byte(key)
	red, err := pii.New(cfg)
	if err != nil {
		return nil, configError(err)
	}
	p.keyed.Store(&keyedRedactor{key: key, r: red})
	return p, nil
}

// redactorFor returns the compiled redactor, with the current key for the
// hash style. A missing or short key is the deployment's fault: a 500 that
// names the variable in the log, never to the client.
func (p *redactPrepared) redactorFor() (*pii.Redactor, error) {
	if p.redactor != nil {
		return p.redactor, nil
	}
	key := os.Getenv(p.keyEnv)
	if k := p.keyed.Load(); k != nil && k.key == key {
		return k.r, nil
	}
	if len(key) < minHashKeyBytes {
		why := "is not set"
		if key != "" {
			why = fmt.Sprintf("holds %d bytes, fewer than the %d the hash style needs", len(key), minHashKeyBytes)
		}
		return nil, &Error{Status: http.StatusInternalServerError, Code: CodeInternalError,
			Message: "the redaction key is not configured",
			Cause:   fmt.Errorf("redact: hash_key_env: %s %s", p.keyEnv, why)}
	}
	cfg := p.cfg
	cfg.HashKey = []byte(key)
	red, err := pii.New(cfg)
	if err != nil {
		return nil, configError(err) // checked at load with a stand-in key
	}
	p.keyed.Store(&keyedRedactor{key: key, r: red})
	return red, nil
}

// piiParam maps pii's Config field names to the parameter names operators
// wrote.
var piiParam = map[string]string{
	"mask":     "mask_char",
	"hash_len": "hash_length",
	"hash_key": "hash_key_env",
}

func configError(err error) error {
	var ce *pii.ConfigError
	if !errors.As(err, &ce) {
		return err
	}
	field := ce.Field
	if name, ok := piiParam[field]; ok {
		field = name
	}
	return fmt.Errorf("%s: %v", field, ce.Err)
}

// Apply redacts the body.
func (r *Redact) Apply(ctx context.Context, obj *Object) error {
	if r.imageMode() {
		return r.applyImage(ctx, obj)
	}
	return r.applyText(ctx, obj)
}

func (r *Redact) applyText(ctx context.Context, obj *Object) error {
	p := r.prepared
	if p == nil {
		// Built without the loader (tests, tools): compile per call.
		var err error
		if p, err = r.prepare(); err != nil {
			return err
		}
	}
	ct := obj.ContentType()
	kind, ok := pii.KindOf(ct, obj.Key())
	if !ok {
		if ct == "" {
			return r.unsupported("the object has no Content-Type and its key's extension is not one of text, JSON, NDJSON or CSV")
		}
		return r.unsupported(fmt.Sprintf("content type %q is not text, JSON, NDJSON or CSV", ct))
	}
	// The detectors read bytes as ASCII-compatible text: compressed bytes
	// or UTF-16 would hide every value and go out as they came.
	if enc := obj.Header.Get("Content-Encoding"); enc != "" && !strings.EqualFold(strings.TrimSpace(enc), "identity") {
		return r.unsupported(fmt.Sprintf("the body is stored with Content-Encoding %q", enc))
	}
	if cs := charsetOf(obj.Header.Get("Content-Type")); wideCharset(cs) {
		return r.unsupported(fmt.Sprintf("charset %q is not ASCII-compatible", cs))
	}
	red, err := p.redactorFor()
	if err != nil {
		return err
	}
	body, size, err := obj.Body(ctx)
	if err != nil {
		return err
	}
	if size == 0 {
		return nil
	}
	// A 16-byte buffer is enough to look for a UTF-16 or UTF-32 byte order
	// mark; bufio hands larger reads straight to the source afterwards.
	br := bufio.NewReaderSize(body, 16)
	if head, _ := br.Peek(4); wideBOM(head) {
		obj.SetBody(br, size)
		return r.unsupported("the body is UTF-16 or UTF-32 text (byte order mark)")
	}
	if kind == pii.KindText && red.PreservesLength() {
		// Same length: stream with the origin's Content-Length, in the
		// Reader's fixed window. Nothing is read until the response is
		// written. An unknown size stays unknown and Result spools.
		obj.SetBody(red.Reader(br), size)
		return nil
	}
	src := &sourceReader{r: br}
	rc, n, err := red.RedactSpooled(ctx, src, kind, spoolLimit(obj.Limits.MaxBufferBytes, DefaultLimits().MaxBufferBytes),
		spoolLimit(obj.Limits.MaxSpoolBytes, DefaultLimits().MaxSpoolBytes))
	if err != nil {
		return redactError(ctx, err, src.err, kind)
	}
	obj.OnClose(func() { rc.Close() })
	obj.SetBody(rc, n)
	return nil
}

// spoolLimit reads a limit, where zero means "not set" as everywhere in
// Limits.
func spoolLimit(v, def ByteSize) int64 {
	if v <= 0 {
		return int64(def)
	}
	return int64(v)
}

func (r *Redact) unsupported(why string) error {
	if r.OnUnsupported == "passthrough" {
		return nil
	}
	return &Error{Status: http.StatusBadRequest, Code: CodeUnsupportedContent, Message: "cannot redact the object: " + why}
}

// sourceReader remembers the source's own error, so a failing origin is not
// reported as malformed content.
type sourceReader struct {
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}

// redactError turns a failed structured or spooled redaction into what the
// client should see. The messages never quote the content: a parse error
// could carry a piece of the very data being redacted.
func redactError(ctx context.Context, err, srcErr error, kind pii.Kind) error {
	var (
		syntax   *pii.JSONSyntaxError
		longLine *pii.LineTooLongError
		csvErr   *csv.ParseError
	)
	switch {
	case errors.Is(err, pii.ErrTooLarge):
		var tl *pii.TooLargeError
		limit := int64(0)
		if errors.As(err, &tl) {
			limit = tl.Limit
		}
		return &Error{Status: http.StatusBadRequest, Code: CodeEntityTooLarge,
			Message: fmt.Sprintf("redacted object is over the limit of %s (max_spool_bytes)", ByteSize(limit)), Cause: err}
	case ctx.Err() != nil:
		return ctx.Err()
	case srcErr != nil && errors.Is(err, srcErr):
		return err
	case errors.As(err, &longLine):
		return &Error{Status: http.StatusBadRequest, Code: CodeUnsupportedContent,
			Message: fmt.Sprintf("cannot redact the object: NDJSON line %d is longer than %s", longLine.Line, ByteSize(longLine.Limit)), Cause: err}
	case errors.As(err, &syntax):
		return &Error{Status: http.StatusBadRequest, Code: CodeUnsupportedContent,
			Message: fmt.Sprintf("cannot redact the object: it is not valid %s", strings.ToUpper(kind.String())), Cause: err}
	case errors.As(err, &csvErr):
		return &Error{Status: http.StatusBadRequest, Code: CodeUnsupportedContent,
			Message: fmt.Sprintf("cannot redact the object: it is not valid CSV (line %d)", csvErr.Line), Cause: err}
	}
	return err
}

func charsetOf(contentType string) string {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return ""
	}
	return strings.ToLower(params["charset"])
}

// wideCharset reports the encodings whose ASCII characters are not single
// ASCII bytes.
func wideCharset(cs string) bool {
	return strings.HasPrefix(cs, "utf-16") || strings.HasPrefix(cs, "utf-32") ||
		strings.HasPrefix(cs, "ucs-") || strings.HasPrefix(cs, "iso-10646-ucs") || cs == "unicode"
}

func wideBOM(b []byte) bool {
	switch {
	case len(b) >= 4 && (string(b[:4]) == "\x00\x00\xfe\xff" || string(b[:4]) == "\xff\xfe\x00\x00"):
		return true
	case len(b) >= 2 && (string(b[:2]) == "\xfe\xff" || string(b[:2]) == "\xff\xfe"):
		return true
	}
	return false
}

// applyImage redacts the regions on every frame.
func (r *Redact) applyImage(ctx context.Context, obj *Object) error {
	img, err := obj.Image(ctx)
	if err != nil {
		return err
	}
	b := img.Bounds()
	boxes, err := r.boxes(b.Dx(), b.Dy())
	if err != nil {
		return err
	}
	out := *img
	out.Frames = make([]Frame, len(img.Frames))
	for i, fr := range img.Frames {
		if err := ctx.Err(); err != nil {
			return err
		}
		// Decoded frames may be shared with the source: draw on a copy.
		dst := imaging.Clone(fr.Image)
		for _, box := range boxes {
			r.fill(dst, box)
		}
		out.Frames[i] = Frame{Image: dst, Delay: fr.Delay}
	}
	obj.SetImage(&out)
	// Only the colour profile, which says nothing about who or where, may
	// stay: not even a convert before or after this redact can keep EXIF
	// or GPS.
	obj.StripMetadata()
	return nil
}

// boxes converts the regions to pixel rectangles of a w×h image. Fractions
// round outwards, so the box covers at least what was asked. A box reaching
// outside the image is clipped; one wholly outside is an error, since
// serving the picture would leave unredacted what the rule meant to hide.
func (r *Redact) boxes(w, h int) ([]image.Rectangle, error) {
	bounds := image.Rect(0, 0, w, h)
	boxes := make([]image.Rectangle, 0, len(r.Regions))
	for i, g := range r.Regions {
		var box image.Rectangle
		if g.Unit == "fraction" {
			// The epsilon keeps float error (0.3+0.2 = 0.5000000000000001)
			// from widening a box that fits whole pixels.
			const eps = 1e-9
			box = image.Rect(
				int(math.Floor(g.X*float64(w)+eps)), int(math.Floor(g.Y*float64(h)+eps)),
				int(math.Ceil((g.X+g.Width)*float64(w)-eps)), int(math.Ceil((g.Y+g.Height)*float64(h)-eps)))
		} else {
			box = image.Rect(int(g.X), int(g.Y), int(g.X+g.Width), int(g.Y+g.Height))
		}
		box = box.Intersect(bounds)
		if box.Empty() {
			return nil, InvalidArgument("regions[%d] lies outside the %d×%d image", i, w, h)
		}
		boxes = append(boxes, box)
	}
	return boxes, nil
}

func (r *Redact) fill(m *image.NRGBA, box image.Rectangle) {
	short := min(box.Dx(), box.Dy())
	switch r.Fill {
	case "pixelate":
		size := r.BlockSize
		if size == 0 {
			size = max(8, (short+5)/6)
		}
		pixelate(m, box, size)
	case "blur":
		sigma := r.Sigma
		if sigma == 0 {
			sigma = min(maxSigma, max(4, float64(short)/6))
		}
		blur(m, box, sigma)
	default:
		c := r.Color.NRGBA
		if !r.Color.Set {
			c.A = 255 // black
		}
		fillSolid(m, box, [4]uint8{c.R, c.G, c.B, c.A})
	}
}

// fillSolid replaces the pixels, alpha included: a translucent colour makes
// the box translucent, it never lets the original show through.
func fillSolid(m *image.NRGBA, box image.Rectangle, c [4]uint8) {
	for y := box.Min.Y; y < box.Max.Y; y++ {
		row := m.Pix[m.PixOffset(box.Min.X, y):m.PixOffset(box.Max.X, y)]
		for i := 0; i+4 <= len(row); i += 4 {
			copy(row[i:i+4], c[:])
		}
	}
}

// pixelate replaces each size×size block of the box, aligned to the box's
// corner, with its mean colour (weighted by alpha, so transparent pixels
// do not darken their block).
func pixelate(m *image.NRGBA, box image.Rectangle, size int) {
	for by := box.Min.Y; by < box.Max.Y; by += size {
		for bx := box.Min.X; bx < box.Max.X; bx += size {
			cell := image.Rect(bx, by, bx+size, by+size).Intersect(box)
			var r, g, b, a, n uint64
			for y := cell.Min.Y; y < cell.Max.Y; y++ {
				row := m.Pix[m.PixOffset(cell.Min.X, y):m.PixOffset(cell.Max.X, y)]
				for i := 0; i+4 <= len(row); i += 4 {
					pa := uint64(row[i+3])
					r += uint64(row[i]) * pa
					g += uint64(row[i+1]) * pa
					b += uint64(row[i+2]) * pa
					a += pa
					n++
				}
			}
			var c [4]uint8
			if a > 0 {
				c = [4]uint8{uint8((r + a/2) / a), uint8((g + a/2) / a), uint8((b + a/2) / a), uint8((a + n/2) / n)}
			}
			fillSolid(m, cell, c)
		}
	}
}

// blur approximates a Gaussian of the given sigma by three box blurs in
// each direction, whose cost does not grow with sigma. Only pixels of the
// box are read, so nothing outside it changes and nothing outside it
// shapes the result. It works on alpha-premultiplied values.
func blur(m *image.NRGBA, box image.Rectangle, sigma float64) {
	// Three boxes of width 2r+1 have the variance 3·((2r+1)²−1)/12 = σ².
	radius := max(1, int(math.Round((math.Sqrt(4*sigma*sigma+1)-1)/2)))
	radius = min(radius, maxSigma)
	w, h := box.Dx(), box.Dy()
	premultiply(m, box, true)
	tmp := make([]int32, 4*blurLanes*max(w, h))
	for range 3 {
		for y := box.Min.Y; y < box.Max.Y; y++ {
			boxLine(m.Pix, m.PixOffset(box.Min.X, y), 4, w, radius, 1, tmp)
		}
		// Columns go blurLanes at a time, so each row is visited once per
		// strip of a cache line rather than once per column: walking a
		// single column down a big picture is a cache and TLB miss per row.
		for x := box.Min.X; x < box.Max.X; x += blurLanes {
			boxLine(m.Pix, m.PixOffset(x, box.Min.Y), m.Stride, h, radius, min(blurLanes, box.Max.X-x), tmp)
		}
	}
	premultiply(m, box, false)
}

// blurLanes is how many columns a vertical blur pass walks together: 16
// NRGBA pixels are one 64-byte cache line.
const blurLanes = 16

// boxLine blurs a line of n samples, sample i being the lanes pixels (4
// bytes each) at p[off+i*step:]: each becomes the mean of the 2r+1 samples
// around it, the line's end samples standing in for those beyond it. The
// running sums make it cost the same for any r.
func boxLine(p []uint8, off, step, n, r, lanes int, tmp []int32) {
	k := 4 * lanes
	tmp = tmp[:k*n]
	for i := range n {
		src := p[off+i*step : off+i*step+k]
		dst := tmp[i*k : i*k+k]
		for j, v := range src {
			dst[j] = int32(v)
		}
	}
	// The window of sample 0: r+1 copies of the first sample, the next
	// samples up to r, and copies of the last where the line is shorter.
	inside := min(r, n-1)
	var sums [4 * blurLanes]int32
	sum := sums[:k]
	first, last := tmp[:k], tmp[k*(n-1):k*n]
	for j := range sum {
		sum[j] = int32(r+1)*first[j] + int32(r-inside)*last[j]
	}
	for i := 1; i <= inside; i++ {
		for j, v := range tmp[i*k : i*k+k] {
			sum[j] += v
		}
	}
	// Dividing by the width is a multiplication and a shift: exact, as
	// sum·width stays below 2³² for every radius allowed (≤ maxSigma).
	width := int32(2*r + 1)
	mul := (uint64(1)<<32 + uint64(width) - 1) / uint64(width)
	for i := range n {
		dst := p[off+i*step : off+i*step+k]
		for j := range dst {
			dst[j] = uint8(uint64(sum[j]+width/2) * mul >> 32)
		}
		add, sub := tmp[k*min(i+r+1, n-1):][:k], tmp[k*max(i-r, 0):][:k]
		for j := range sum {
			sum[j] += add[j] - sub[j]
		}
	}
}

// premultiply converts the box's pixels to alpha-premultiplied values
// (to) or back (!to).
func premultiply(m *image.NRGBA, box image.Rectangle, to bool) {
	for y := box.Min.Y; y < box.Max.Y; y++ {
		row := m.Pix[m.PixOffset(box.Min.X, y):m.PixOffset(box.Max.X, y)]
		for i := 0; i+4 <= len(row); i += 4 {
			a := uint32(row[i+3])
			switch {
			case a == 255:
			case to:
				for c := range 3 {
					row[i+c] = uint8((uint32(row[i+c])*a + 127) / 255)
				}
			case a == 0:
				row[i], row[i+1], row[i+2] = 0, 0, 0
			default:
				for c := range 3 {
					row[i+c] = uint8(min(255, (uint32(row[i+c])*255+a/2)/a))
				}
			}
		}
	}
}

// Interface guards (see docs/adding-an-action.md).
var (
	_ Action        = (*Redact)(nil)
	_ Validator     = (*Redact)(nil)
	_ Preparer      = (*Redact)(nil)
	_ Fingerprinter = (*Redact)(nil)
)
