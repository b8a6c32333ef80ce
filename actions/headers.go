package actions

import (
	"context"
	"fmt"
	"mime"
	"strings"
)

func init() {
	Register(Definition{
		Name:    "headers",
		Summary: "Set response headers (Cache-Control, Content-Disposition, Content-Type, Content-Language, Expires).",
		Class:   Metadata,
		New:     func() Action { return &Headers{} },
	})
}

// Headers sets response headers. Only headers that WriteGetObjectResponse
// forwards can be set, which is why this is a fixed list rather than a map.
type Headers struct {
	CacheControl       string `yaml:"cache_control" doc:"Cache-Control value, e.g. public, max-age=86400"`
	ContentDisposition string `yaml:"content_disposition" enum:"inline,attachment" doc:"inline or attachment"`
	Filename           string `yaml:"filename" doc:"file name for Content-Disposition; non-ASCII names are encoded per RFC 6266"`
	ContentType        string `yaml:"content_type" doc:"Content-Type value"`
	ContentLanguage    string `yaml:"content_language" doc:"Content-Language value"`
	Expires            string `yaml:"expires" doc:"Expires value (an HTTP date)"`
}

// Validate refuses values that could split or smuggle a header.
func (h *Headers) Validate() error {
	for _, f := range []struct{ name, v string }{
		{"cache_control", h.CacheControl}, {"filename", h.Filename}, {"content_type", h.ContentType},
		{"content_language", h.ContentLanguage}, {"expires", h.Expires},
	} {
		if i := strings.IndexFunc(f.v, isCTL); i >= 0 {
			return fmt.Errorf("%s: control character %q is not allowed in a header value", f.name, f.v[i])
		}
	}
	if h.ContentType != "" {
		if _, _, err := mime.ParseMediaType(h.ContentType); err != nil {
			return fmt.Errorf("content_type: %q is not a media type", h.ContentType)
		}
	}
	if h.Filename != "" && h.ContentDisposition == "" {
		return fmt.Errorf("filename: needs content_disposition (inline or attachment)")
	}
	return nil
}

func isCTL(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }

// Apply sets the headers on the response.
func (h *Headers) Apply(_ context.Context, obj *Object) error {
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
		v := h.ContentDisposition
		if h.Filename != "" {
			v = mime.FormatMediaType(v, map[string]string{"filename": h.Filename})
		}
		set("Content-Disposition", v)
	}
	return nil
}
