package actions

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/opaprules/opaprules/internal/imageio"
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
	maxSigma = imageio.MaxBlurSigma
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

// Apply redacts the body.
func (r *Redact) Apply(ctx context.Context, obj *Object) error {
	if r.imageMode() {
		return r.applyImage(ctx, obj)
	}
	return r.applyText(ctx, obj)
}

// Interface guards (see docs/adding-an-action.md).
var (
	_ Action        = (*Redact)(nil)
	_ Validator     = (*Redact)(nil)
	_ Preparer      = (*Redact)(nil)
	_ Fingerprinter = (*Redact)(nil)
)
