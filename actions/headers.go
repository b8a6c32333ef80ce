package actions

import (
	"context"
	"fmt"
	"maps"
	"mime"
	"slices"
	"strings"
)

func init() {
	Register(Definition{
		Name:    "headers",
		Summary: "Set response headers: Cache-Control, Content-Disposition (with an RFC 6266 file name), Content-Type, Content-Language, Expires.",
		Doc: "Non-ASCII file names get an RFC 6266 `filename*` plus an ASCII fallback. Names that " +
			"WriteGetObjectResponse does not forward, hop-by-hop headers and `x-oss-*` are refused at " +
			"load; control characters are refused at load for literals and per request for " +
			"templates. A plan of only `headers` still streams the object unchanged.",
		Class: Metadata,
		New:   func() Action { return &Headers{} },
	})
}

// Headers sets response headers. Only headers that WriteGetObjectResponse
// forwards and that describe the body can be set; the rest would be dropped
// on the way to the client or, worse, lie about the bytes.
type Headers struct {
	CacheControl       string            `yaml:"cache_control" doc:"Cache-Control, e.g. public, max-age=86400"`
	ContentDisposition string            `yaml:"content_disposition" enum:"inline,attachment" doc:"inline or attachment"`
	Filename           string            `yaml:"filename" doc:"file name for Content-Disposition; non-ASCII names are sent as RFC 6266 filename* with an ASCII fallback"`
	ContentType        string            `yaml:"content_type" doc:"Content-Type, e.g. text/plain; charset=utf-8"`
	ContentLanguage    string            `yaml:"content_language" doc:"Content-Language, e.g. zh-CN"`
	Expires            string            `yaml:"expires" doc:"Expires, an HTTP date"`
	Set                map[string]string `yaml:"set" doc:"other headers by name; only Cache-Control, Content-Disposition, Content-Language, Content-Type and Expires are accepted"`
}

// settable are the forwarded headers a rule may set: the ones describing
// the body's presentation. ETag, Last-Modified, Content-Range, Accept-Ranges
// and Content-Encoding follow from the bytes and are the engine's job.
var settable = []string{"Cache-Control", "Content-Disposition", "Content-Language", "Content-Type", "Expires"}

// Validate refuses header names that cannot or must not be set and values
// that could split a header.
func (h *Headers) Validate() error {
	for _, f := range []struct{ name, v string }{
		{"cache_control", h.CacheControl}, {"filename", h.Filename}, {"content_type", h.ContentType},
		{"content_language", h.ContentLanguage}, {"expires", h.Expires},
	} {
		if err := checkHeaderValue(f.name, f.v); err != nil {
			return err
		}
	}
	for _, name := range slices.Sorted(maps.Keys(h.Set)) {
		if err := checkSettable(name); err != nil {
			return err
		}
		if err := checkHeaderValue("set."+name, h.Set[name]); err != nil {
			return err
		}
	}
	ct := h.ContentType
	if v, ok := h.Set["Content-Type"]; ok && ct == "" {
		ct = v
	}
	if ct != "" {
		if _, _, err := mime.ParseMediaType(ct); err != nil {
			return fmt.Errorf("content_type: %q is not a media type", ct)
		}
	}
	if h.Filename != "" && h.ContentDisposition == "" {
		return fmt.Errorf("filename: needs content_disposition (inline or attachment)")
	}
	if strings.ContainsAny(h.Filename, `/\`) {
		return fmt.Errorf("filename: %q must not contain a path separator", h.Filename)
	}
	return nil
}

func checkSettable(name string) error {
	switch {
	case IsOSSHeader(name):
		return fmt.Errorf("set: %s: x-oss-* headers belong to OSS and cannot be set by a rule", name)
	case IsHopByHop(name):
		return fmt.Errorf("set: %s: is a hop-by-hop header and is never relayed", name)
	case !IsForwarded(name):
		return fmt.Errorf("set: %s: is not forwarded by WriteGetObjectResponse (settable: %s)", name, strings.Join(settable, ", "))
	case !containsFold(settable, name):
		return fmt.Errorf("set: %s: follows from the response bytes and cannot be set (settable: %s)", name, strings.Join(settable, ", "))
	}
	return nil
}

// Apply sets the headers on the response.
func (h *Headers) Apply(_ context.Context, obj *Object) error {
	for _, name := range slices.Sorted(maps.Keys(h.Set)) {
		obj.Header.Set(name, h.Set[name])
	}
	set := func(name, v string) {
		if v != "" {
			obj.Header.Set(name, v)
		}
	}
	set("Cache-Control", h.CacheControl)
	set("Content-Type", h.ContentType)
	set("Content-Language", h.ContentLanguage)
	set("Expires", h.Expires)
	if h.ContentDisposition != "" {
		set("Content-Disposition", ContentDisposition(h.ContentDisposition, h.Filename))
	}
	return nil
}

// ContentDisposition formats a disposition with a file name the way RFC
// 6266 recommends: a quoted ASCII filename every client understands, and,
// for names that are not plain ASCII, a filename* in RFC 8187 encoding that
// modern clients prefer.
func ContentDisposition(disposition, filename string) string {
	if filename == "" {
		return disposition
	}
	var ascii strings.Builder
	plain := true
	for _, r := range filename {
		switch {
		case r == '"' || r == '\\':
			ascii.WriteByte('_')
			plain = false
		case r < 0x20 || r >= 0x7f:
			ascii.WriteByte('_')
			plain = false
		default:
			ascii.WriteRune(r)
		}
	}
	v := disposition + `; filename="` + ascii.String() + `"`
	if !plain {
		v += "; filename*=UTF-8''" + rfc8187Escape(filename)
	}
	return v
}

func rfc8187Escape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		// attr-char from RFC 8187 §3.2.1
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// Interface guards (see docs/adding-an-action.md).
var (
	_ Action    = (*Headers)(nil)
	_ Validator = (*Headers)(nil)
)
