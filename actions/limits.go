package actions

import (
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opaprules/opaprules/internal/imageio"
)

// Limits bound what one request may cost. rules.yaml sets them under
// `limits:` for the whole file and per rule; DefaultLimits applies where a
// file says nothing. A zero field in an override means "not overridden".
type Limits struct {
	MaxSourceBytes  ByteSize         `yaml:"max_source_bytes" doc:"largest original a transforming action will read"`
	MaxSourcePixels Count            `yaml:"max_source_pixels" doc:"largest source image, width × height × frames, checked from the header before decoding"`
	MaxDecodePixels map[string]Count `yaml:"max_decode_pixels" doc:"per source format (avif, ...), the most pixels a decode may take, on top of max_source_pixels"`
	MaxFrames       int              `yaml:"max_frames" min:"1" doc:"most frames of an animated image"`
	MaxOutputWidth  int              `yaml:"max_output_width" min:"1" doc:"widest image a plan may produce"`
	MaxOutputHeight int              `yaml:"max_output_height" min:"1" doc:"tallest image a plan may produce"`
	MaxOutputPixels map[string]Count `yaml:"max_output_pixels" doc:"per output format (webp, avif, ...), the most pixels an encode may take"`
	Timeout         time.Duration    `yaml:"timeout" doc:"longest a plan may run before the client gets 503 RequestTimeout"`
	MemoryBudget    ByteSize         `yaml:"memory_budget" doc:"process-wide estimate of image memory in use; requests past it wait (top level only)"`
	MaxBufferBytes  ByteSize         `yaml:"max_buffer_bytes" doc:"largest transformed body held in memory before spilling to a temporary file"`
	MaxSpoolBytes   ByteSize         `yaml:"max_spool_bytes" doc:"largest transformed body spilled to a temporary file"`
	SpoolBudget     ByteSize         `yaml:"spool_budget" doc:"process-wide bytes in temporary files; a request that would pass it answers 503 (top level only)"`
	MaxDecodedBytes ByteSize         `yaml:"max_decoded_bytes" doc:"largest body a gzip or deflate original may decompress to before a transformation reads it"`
	MaxDecodeRatio  int              `yaml:"max_decode_ratio" min:"1" doc:"refuse a gzip or deflate original that decompresses to more than this many times its size (past its first MiB)"`
}

// DefaultLimits are safe for a 512 MiB–2 GiB Function Compute instance.
func DefaultLimits() Limits {
	return Limits{
		MaxSourceBytes:  50 << 20,
		MaxSourcePixels: 50_000_000,
		// Decoding AVIF through WebAssembly peaks at ≈45 bytes per pixel:
		// 16 MP is ≈720 MiB. HEIC at ≈37: 24 MP (what recent phones
		// shoot at most by default) is ≈900 MiB.
		MaxDecodePixels: map[string]Count{"avif": 16_000_000, "heic": 24_000_000},
		MaxFrames:       200,
		MaxOutputWidth:  8192,
		MaxOutputHeight: 8192,
		MaxOutputPixels: map[string]Count{"webp": 16_000_000, "avif": 4_000_000},
		Timeout:         25 * time.Second,
		MemoryBudget:    1 << 30,
		MaxBufferBytes:  32 << 20,
		MaxSpoolBytes:   1 << 30,
		// Function Compute instances have 512 MB or 10 GB of disk: raise it
		// on the larger one.
		SpoolBudget: 1 << 30,
		// Like max_source_bytes: what a transformation reads in the end.
		MaxDecodedBytes: 50 << 20,
		// gzip reaches about 1000:1 on repeated bytes; real text, JSON
		// and CSV compress 3:1 to 50:1.
		MaxDecodeRatio: 200,
	}
}

// Merge returns l with every field that o sets replaced by o's value.
func (l Limits) Merge(o Limits) Limits {
	dst := reflect.ValueOf(&l).Elem()
	src := reflect.ValueOf(o)
	for i := range src.NumField() {
		f := src.Field(i)
		if f.Kind() == reflect.Map {
			if f.Len() == 0 {
				continue
			}
			m := reflect.MakeMap(f.Type())
			for _, k := range dst.Field(i).MapKeys() {
				m.SetMapIndex(k, dst.Field(i).MapIndex(k))
			}
			for _, k := range f.MapKeys() {
				m.SetMapIndex(k, f.MapIndex(k))
			}
			dst.Field(i).Set(m)
			continue
		}
		if !f.IsZero() {
			dst.Field(i).Set(f)
		}
	}
	return l
}

// Validate checks limits as they will apply: zero fields mean "not set",
// so the tag constraints are checked on l merged over the defaults, and
// the per-format maps must name formats that are read or written.
func (l Limits) Validate() error {
	merged := DefaultLimits().Merge(l)
	if err := ParamsOf(&merged).Check(reflect.ValueOf(&merged)); err != nil {
		return err
	}
	for _, m := range []struct {
		name    string
		formats map[string]Count
		known   []string
	}{
		{"max_decode_pixels", l.MaxDecodePixels, imageio.Decodable},
		{"max_output_pixels", l.MaxOutputPixels, imageio.Encodable},
	} {
		for _, f := range slices.Sorted(maps.Keys(m.formats)) {
			if !slices.Contains(m.known, f) {
				return fmt.Errorf("%s: unknown format %q (one of %s)", m.name, f, strings.Join(m.known, ", "))
			}
		}
	}
	return nil
}

// OutputPixels is the most pixels an encode to format may take, or 0 when
// that format has no cap.
func (l Limits) OutputPixels(format string) int64 {
	return int64(l.MaxOutputPixels[format])
}

// ByteSize is a number of bytes written with an optional unit: 1048576,
// "512KiB", "50MiB", "1GiB" (powers of two) or "40M", "1G", "500K" (powers
// of ten).
type ByteSize int64

// Count is a plain number with an optional decimal suffix: 50000000, "50M",
// "12M", "1.5G", "500K".
type Count int64

var byteUnits = map[string]float64{
	"": 1, "B": 1,
	"K": 1e3, "KB": 1e3, "M": 1e6, "MB": 1e6, "G": 1e9, "GB": 1e9, "T": 1e12, "TB": 1e12,
	"KIB": 1 << 10, "MIB": 1 << 20, "GIB": 1 << 30, "TIB": 1 << 40,
}

var countUnits = map[string]float64{"": 1, "K": 1e3, "M": 1e6, "G": 1e9, "MP": 1e6}

func parseWithUnit(s string, units map[string]float64, what string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], strings.ToUpper(strings.TrimSpace(t[i:]))
	}
	mult, ok := units[unit]
	if !ok || num == "" {
		return 0, fmt.Errorf("%q is not a %s (want e.g. %s)", s, what, unitExample(units))
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("%q is not a %s", s, what)
	}
	v := f * mult
	if v > math.MaxInt64/2 {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return int64(math.Round(v)), nil
}

func unitExample(units map[string]float64) string {
	if _, ok := units["MIB"]; ok {
		return `50MiB or 40M`
	}
	return `50M`
}

// UnmarshalText parses a size such as "50MiB".
func (b *ByteSize) UnmarshalText(text []byte) error {
	n, err := parseWithUnit(string(text), byteUnits, "byte size")
	*b = ByteSize(n)
	return err
}

// UnmarshalText parses a count such as "40M".
func (c *Count) UnmarshalText(text []byte) error {
	n, err := parseWithUnit(string(text), countUnits, "count")
	*c = Count(n)
	return err
}

// String formats a size with the largest binary unit that divides it.
func (b ByteSize) String() string {
	for _, u := range []struct {
		s string
		n int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if int64(b) >= u.n && int64(b)%u.n == 0 {
			return strconv.FormatInt(int64(b)/u.n, 10) + u.s
		}
	}
	return strconv.FormatInt(int64(b), 10)
}

const (
	byteSizePattern = `^\s*[0-9]+(\.[0-9]+)?\s*([kKmMgGtT]([iI]?[bB])?|[bB])?\s*$`
	countPattern    = `^\s*[0-9]+(\.[0-9]+)?\s*([kKmMgG]|MP|mp)?\s*$`
	durationPattern = `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
)

// JSONSchema describes the accepted spellings.
func (*ByteSize) JSONSchema() map[string]any {
	return map[string]any{"anyOf": []any{
		map[string]any{"type": "integer", "minimum": 0},
		map[string]any{"type": "string", "pattern": byteSizePattern},
	}}
}

// JSONSchema describes the accepted spellings.
func (*Count) JSONSchema() map[string]any {
	return map[string]any{"anyOf": []any{
		map[string]any{"type": "integer", "minimum": 0},
		map[string]any{"type": "string", "pattern": countPattern},
	}}
}
