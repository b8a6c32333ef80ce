package pii

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Detector names, stable: rules refer to them.
const (
	Email           = "email"
	Phone           = "phone"
	CNID            = "cn_id"
	BankCard        = "bank_card"
	IPv4            = "ipv4"
	IPv6            = "ipv6"
	AliyunAccessKey = "aliyun_access_key"
	JWT             = "jwt"
)

// DetectorNames lists the built-in detectors in the order their entity
// tokens are defined.
func DetectorNames() []string {
	return []string{Email, Phone, CNID, BankCard, IPv4, IPv6, AliyunAccessKey, JWT}
}

// Detector ids double as bit positions in Redactor.enabled.
const (
	detEmail = iota
	detPhone
	detCNID
	detCard
	detIPv4
	detIPv6
	detAK
	detJWT
	numBuiltin
)

// detField names a value redacted whole because of where it is (a JSON
// key or path, a CSV column) rather than what it looks like; its entity is
// [REDACTED].
const detField = -1

var builtinEntity = [numBuiltin]string{"EMAIL", "PHONE", "CN_ID", "BANK_CARD", "IPV4", "IPV6", "ALIYUN_ACCESS_KEY", "JWT"}

// Style says what a found value is replaced with.
type Style string

const (
	// StyleMask replaces every byte of the value with Config.Mask, keeping
	// the last Config.KeepLast characters. It is the only style that keeps
	// the length.
	StyleMask Style = "mask"
	// StyleReplace replaces the value with Config.Replace.
	StyleReplace Style = "replace"
	// StyleEntity replaces the value with the detector's name in brackets:
	// [EMAIL], [PHONE], [CN_ID], [BANK_CARD], [IPV4], [IPV6],
	// [ALIYUN_ACCESS_KEY], [JWT]; a pattern named "order_no" gives
	// [ORDER_NO]; a JSON field or CSV column selected by name gives
	// [REDACTED].
	StyleEntity Style = "entity"
	// StyleHash replaces the value with [ENTITY:token], where token is
	// HMAC-SHA256(HashKey, value) encoded (hex or base64url) and cut to
	// HashLen characters. The same value under the same key always gives the
	// same token, so redacted logs can still be joined on it.
	StyleHash Style = "hash"
)

// Kind is the format of an object, which decides how Redact reads it.
type Kind int

const (
	KindText Kind = iota
	KindJSON
	KindNDJSON
	KindCSV
)

func (k Kind) String() string {
	switch k {
	case KindText:
		return "text"
	case KindJSON:
		return "json"
	case KindNDJSON:
		return "ndjson"
	case KindCSV:
		return "csv"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Pattern is an operator-supplied detector.
type Pattern struct {
	// Name identifies the pattern in errors and in entity tokens; letters,
	// digits, '_' and '-', and not a built-in detector's name.
	Name string
	// Regex is RE2 syntax. It is matched within single lines: character
	// classes never match '\n', and ^ and $ match at line boundaries. It
	// must not match the empty string.
	Regex string
	// MaxLength bounds a match in bytes (default 256, at most 65536). The
	// streaming window relies on it: a longer match may be cut or missed
	// where it crosses the window, so declare the real bound.
	MaxLength int
}

// Config describes a Redactor. The zero value masks everything every
// built-in detector finds with '*'.
type Config struct {
	// Detectors names the built-in detectors to run. Empty means all of
	// them; "all" also means all; ["none"] runs none (only Patterns, and the
	// JSON and CSV field rules).
	Detectors []string
	Patterns  []Pattern

	Style Style // default StyleMask
	// Mask is the mask byte for StyleMask, a printable ASCII character
	// (default '*'). With a letter or digit, masked text can look like a
	// value to a second pass, so redacting twice may mask more.
	Mask byte
	// KeepLast keeps the last N characters of each value unmasked
	// (StyleMask only).
	KeepLast int
	// Replace is the text for StyleReplace; it may be empty.
	Replace string
	// HashKey is the HMAC key for StyleHash (required for it); callers read
	// it from their secret store, never from the rule itself.
	HashKey []byte
	// HashLen is the token length in characters for StyleHash (default 16,
	// 4..64 for hex, 4..43 for base64url).
	HashLen int
	// HashEncoding is "hex" (default) or "base64url".
	HashEncoding string

	// JSONPaths selects JSON values to redact whole, e.g. "$.user.email",
	// "$.orders[*].card", "$..email", "$.items[0]", "$['odd key']". An
	// object or array selected is redacted leaf by leaf, keeping its shape.
	JSONPaths []string
	// JSONKeys redacts, whole, every JSON value whose key equals one of
	// these (case-insensitive), at any depth.
	JSONKeys []string
	// CSVColumns redacts, whole, every cell of the columns whose header
	// equals one of these (case-insensitive, surrounding spaces ignored).
	CSVColumns []string

	// MaxLine bounds one NDJSON line, one JSON string and one CSV record,
	// in bytes (default 8 MiB).
	MaxLine int
	// MaxFields bounds the fields of one CSV record (default 16384, the
	// columns of a spreadsheet).
	MaxFields int
}

// ConfigError reports an invalid Config; Field names the offending part,
// e.g. `detectors[2]` or `patterns["order_no"]`.
type ConfigError struct {
	Field string
	Err   error
}

func (e *ConfigError) Error() string { return "pii: " + e.Field + ": " + e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// Limits on the built-in detectors' match lengths.
const (
	maxEmail    = 254
	maxLocal    = 64
	maxDomain   = 253
	maxIPv6Text = 45
	defJWTMax   = 8192
)

// Redactor is a compiled Config. It is safe for concurrent use.
type Redactor struct {
	enabled  uint32 // bit per built-in detector
	patterns []compiledPattern

	style    Style
	mask     byte
	keepLast int
	replace  []byte
	hashKey  []byte
	hashLen  int
	hashB64  bool

	jsonPaths  []jsonPath
	jsonKeys   map[string]struct{}
	csvColumns map[string]struct{}
	maxLine    int
	maxFields  int

	// maxDate is the latest birth date (yyyymmdd) a cn_id may carry.
	maxDate int

	// Window geometry; tests shrink it to put boundaries everywhere.
	jwtMax    int
	lookahead int // bytes a builtin check may read past its start
	patOver   int // longest pattern MaxLength
	segMax    int // longest pattern segment without a newline
	chunk     int // read size
	minFill   int // least new bytes before a scan round
}

type compiledPattern struct {
	name   string
	entity string
	re     *regexp.Regexp
	prefix []byte // literal every match starts with, if any
	maxLen int
}

// New validates cfg and compiles it.
func New(cfg Config) (*Redactor, error) {
	r := &Redactor{
		style:     cfg.Style,
		mask:      cfg.Mask,
		keepLast:  cfg.KeepLast,
		replace:   []byte(cfg.Replace),
		hashLen:   cfg.HashLen,
		maxLine:   cfg.MaxLine,
		maxFields: cfg.MaxFields,
		jwtMax:    defJWTMax,
		segMax:    32 << 10,
		chunk:     64 << 10,
		minFill:   32 << 10,
	}
	if err := r.setDetectors(cfg.Detectors); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, n := range DetectorNames() {
		seen[n] = true
	}
	for i, p := range cfg.Patterns {
		cp, err := compilePattern(p)
		field := fmt.Sprintf("patterns[%d]", i)
		if p.Name != "" {
			field = fmt.Sprintf("patterns[%q]", p.Name)
		}
		if err != nil {
			return nil, &ConfigError{Field: field, Err: err}
		}
		if seen[strings.ToLower(p.Name)] {
			return nil, &ConfigError{Field: field, Err: errors.New("name already used by a detector or another pattern")}
		}
		seen[strings.ToLower(p.Name)] = true
		r.patterns = append(r.patterns, cp)
		r.patOver = max(r.patOver, cp.maxLen)
	}
	if r.style == "" {
		r.style = StyleMask
	}
	switch r.style {
	case StyleMask:
		if r.mask == 0 {
			r.mask = '*'
		}
		if r.mask < 0x21 || r.mask > 0x7e {
			return nil, &ConfigError{Field: "mask", Err: fmt.Errorf("%q is not a printable ASCII character", r.mask)}
		}
		if r.keepLast < 0 {
			return nil, &ConfigError{Field: "keep_last", Err: errors.New("must not be negative")}
		}
	case StyleReplace:
		if !utf8.Valid(r.replace) {
			return nil, &ConfigError{Field: "replace", Err: errors.New("not valid UTF-8")}
		}
	case StyleEntity:
	case StyleHash:
		if len(cfg.HashKey) == 0 {
			return nil, &ConfigError{Field: "hash_key", Err: errors.New("required for the hash style")}
		}
		r.hashKey = append([]byte(nil), cfg.HashKey...)
		limit := 64
		switch cfg.HashEncoding {
		case "", "hex":
		case "base64url":
			r.hashB64, limit = true, 43
		default:
			return nil, &ConfigError{Field: "hash_encoding", Err: fmt.Errorf("%q is neither hex nor base64url", cfg.HashEncoding)}
		}
		if r.hashLen == 0 {
			r.hashLen = 16
		}
		if r.hashLen < 4 || r.hashLen > limit {
			return nil, &ConfigError{Field: "hash_len", Err: fmt.Errorf("%d is outside 4..%d", r.hashLen, limit)}
		}
	default:
		return nil, &ConfigError{Field: "style", Err: fmt.Errorf("unknown style %q (want mask, replace, entity or hash)", r.style)}
	}
	for i, p := range cfg.JSONPaths {
		jp, err := parseJSONPath(p)
		if err != nil {
			return nil, &ConfigError{Field: fmt.Sprintf("json_paths[%d] %q", i, p), Err: err}
		}
		r.jsonPaths = append(r.jsonPaths, jp)
	}
	r.jsonKeys = lowerSet(cfg.JSONKeys)
	r.csvColumns = lowerSet(cfg.CSVColumns)
	if r.maxLine == 0 {
		r.maxLine = 8 << 20
	}
	if r.maxLine < 0 {
		return nil, &ConfigError{Field: "max_line", Err: errors.New("must not be negative")}
	}
	if r.maxFields == 0 {
		r.maxFields = 16384
	}
	if r.maxFields < 0 {
		return nil, &ConfigError{Field: "max_fields", Err: errors.New("must not be negative")}
	}
	now := time.Now()
	r.maxDate = now.Year()*10000 + int(now.Month())*100 + now.Day()
	r.setGeometry()
	return r, nil
}

// setGeometry derives the window sizes from the detector limits.
func (r *Redactor) setGeometry() {
	// A check starting at i reads at most its own span, then (to let an
	// e-mail swallow a value written as its local part) up to a local part
	// and a whole e-mail beyond it, plus a few bytes of right context.
	r.lookahead = max(r.jwtMax, maxEmail) + maxLocal + maxEmail + 16
}

func (r *Redactor) setDetectors(names []string) error {
	if len(names) == 0 {
		r.enabled = 1<<numBuiltin - 1
		return nil
	}
	for i, n := range names {
		switch strings.ToLower(strings.TrimSpace(n)) {
		case "all":
			r.enabled = 1<<numBuiltin - 1
		case "none":
			if len(names) != 1 {
				return &ConfigError{Field: fmt.Sprintf("detectors[%d]", i), Err: errors.New(`"none" must stand alone`)}
			}
		default:
			id := detectorID(strings.ToLower(strings.TrimSpace(n)))
			if id < 0 {
				return &ConfigError{Field: fmt.Sprintf("detectors[%d]", i), Err: fmt.Errorf("unknown detector %q (known: %s)", n, strings.Join(DetectorNames(), ", "))}
			}
			r.enabled |= 1 << id
		}
	}
	return nil
}

func detectorID(name string) int {
	for i, n := range DetectorNames() {
		if n == name {
			return i
		}
	}
	return -1
}

func lowerSet(xs []string) map[string]struct{} {
	if len(xs) == 0 {
		return nil
	}
	m := make(map[string]struct{}, len(xs))
	for _, x := range xs {
		m[strings.ToLower(strings.TrimSpace(x))] = struct{}{}
	}
	return m
}

func (r *Redactor) on(det int) bool { return r.enabled&(1<<det) != 0 }

// PreservesLength reports whether text output (Reader, Redact with
// KindText) always has exactly the input's length: true for StyleMask.
func (r *Redactor) PreservesLength() bool { return r.style == StyleMask }

// PreservesLengthOf is PreservesLength for a given kind: structured kinds
// are re-encoded, so only text keeps its length.
func (r *Redactor) PreservesLengthOf(k Kind) bool { return k == KindText && r.PreservesLength() }

// entity returns the bracket name of detector det (builtin ids first, then
// patterns).
func (r *Redactor) entity(det int) string {
	if det == detField {
		return "REDACTED"
	}
	if det < numBuiltin {
		return builtinEntity[det]
	}
	return r.patterns[det-numBuiltin].entity
}
