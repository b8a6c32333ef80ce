package rules

import (
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Request is what rules are evaluated against: the client's GetObject as
// the handler decoded it from the FC event (or dry-run from its flags).
type Request struct {
	Key      string
	RawQuery string
	// Header holds the client's request headers.
	Header http.Header
	Method string
	Bucket string
	// AccessPoint is the access point's name ("media"); AccessPointAlias its
	// full alias ("media-a1b2c3-opapalias"). access_points: matches either.
	AccessPoint      string
	AccessPointAlias string
	IP               string
	// Now is the request time; zero means time.Now().
	Now time.Time
	// Object is the origin object's metadata, nil when it was not fetched
	// (RuleSet.Reads says when it is needed).
	Object *ObjectMeta
	// Image is what the original's picture header says, nil when it was
	// not read (RuleSet.Reads says when it is needed).
	Image *ImageMeta
}

// ObjectMeta is the origin object's metadata, `object` in expressions.
type ObjectMeta struct {
	Size         int64             `expr:"size"`
	ContentType  string            `expr:"content_type"`
	ETag         string            `expr:"etag"`
	LastModified time.Time         `expr:"last_modified"`
	Meta         map[string]string `expr:"meta"`
}

// ImageMeta is what the original's picture header says, `image` in
// expressions: read from the first bytes of the original, never by
// decoding it. A field the header does not give (or an original that is
// not a picture) reads as its zero value.
type ImageMeta struct {
	// Width and Height are as displayed, EXIF orientation applied.
	Width  int    `expr:"width"`
	Height int    `expr:"height"`
	Format string `expr:"format"` // jpeg, png, gif, webp, avif, bmp, tiff, heic; "" for none
	Frames int    `expr:"frames"` // 1 for a still picture
	Alpha  bool   `expr:"alpha"`  // the format stores transparency for this picture
	// Orientation is the EXIF orientation, 1 (upright) to 8.
	Orientation int `expr:"orientation"`
}

// ParseTarget splits a request target 'KEY?QUERY' as it appears in a URL
// path: a leading slash is dropped and percent-escapes in the key are
// decoded, the way the handler derives the key from the client's URL.
func ParseTarget(target string) (key, rawQuery string, ok bool) {
	k, q, _ := strings.Cut(strings.TrimPrefix(target, "/"), "?")
	if strings.Contains(k, "%") {
		if u, err := url.PathUnescape(k); err == nil {
			k = u
		}
	}
	return k, q, k != ""
}

// SplitAccessPoint accepts an access point's name ("media") or its full
// alias ("media-a1b2c3-opapalias") and returns both forms it can know.
func SplitAccessPoint(s string) (name, alias string) {
	if base, ok := strings.CutSuffix(s, "-opapalias"); ok {
		if i := strings.LastIndexByte(base, '-'); i > 0 {
			return base[:i], s
		}
	}
	return s, ""
}
