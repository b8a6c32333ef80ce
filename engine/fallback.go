package engine

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/opaprules/opaprules/actions"
	"github.com/opaprules/opaprules/internal/imageio"
	"github.com/opaprules/opaprules/rules"
)

// settings.fallback: a picture answered instead of an error when a
// picture's original is missing or cannot be decoded, or when a rule with
// on_error: fallback cannot be evaluated. It goes through the request's
// plan like the original would have, so ?w=300 still gets 300 pixels.

// fallbackFor says why err should be answered with the fallback picture,
// or "" when it should not: there is none, the plan answers without the
// original (deny, redirect), the fallback itself failed, or err is not a
// missing or undecodable picture.
func (inv *invocation) fallbackFor(err error) string {
	fb := inv.h.cfg.Rules.Settings.Fallback
	if err == nil || fb == nil || inv.fallback != "" || inv.plan == nil || inv.plan.Terminal || inv.source == nil {
		return ""
	}
	e, ok := actions.AsError(err)
	switch {
	case !ok:
		return ""
	case e.Code == actions.CodeNoSuchKey && isPictureKey(inv.req.Key):
		return "the original is missing"
	case e.Code == actions.CodeInvalidImage:
		return "the original cannot be decoded: " + e.Message
	}
	return ""
}

// isPictureKey reports whether key names a picture by its extension: a
// missing text file stays a 404, a missing photo gets the fallback.
func isPictureKey(key string) bool {
	ext := strings.ToLower(path.Ext(key))
	if ext == ".heic" || ext == ".heif" {
		return true
	}
	return strings.HasPrefix(mime.TypeByExtension(ext), "image/")
}

// serveFallback answers with the fallback picture put through the plan.
func (inv *invocation) serveFallback(why string) error {
	inv.closeOrigin()
	inv.fallback = why
	inv.log.set(func(l *requestLog) { l.fallback = why })
	inv.source = fallbackSource{fb: inv.h.cfg.Rules.Settings.Fallback, fetcher: inv.fetcher, max: int64(inv.plan.Limits.MaxSourceBytes)}
	return inv.transform()
}

// fallbackAnswer sets the fallback's own status and Cache-Control: a
// placeholder is cached briefly, so the real picture shows once it exists.
func (inv *invocation) fallbackAnswer(hdr http.Header, status int) int {
	set := inv.h.cfg.Rules.Settings
	cc := set.Fallback.CacheControl
	if cc == "" {
		cc = set.ErrorCacheControl4xx
	}
	hdr.Del("Cache-Control")
	setIf(hdr, "Cache-Control", cc)
	if set.Fallback.Status != 0 && status == http.StatusOK {
		return set.Fallback.Status
	}
	return status
}

// fallbackSource plays the origin with the fallback picture: the file read
// when the rules loaded, or the object read through the fetcher. Its ETag
// names the picture and says it is a fallback, so the derived ETag of the
// answer never equals a real object's.
type fallbackSource struct {
	fb      *rules.Fallback
	fetcher actions.Fetcher
	max     int64
}

func (f fallbackSource) open(ctx context.Context, _ *rules.Request, _ []string) (*originResponse, error) {
	data := f.fb.Data()
	if data == nil {
		if f.fetcher == nil {
			return nil, errors.New("settings.fallback.key: there is no bucket to read it from")
		}
		var err error
		if data, err = f.fetcher.Fetch(ctx, f.fb.Key, f.max); err != nil {
			return nil, err
		}
	}
	sum := md5.Sum(data)
	h := http.Header{}
	h.Set("ETag", `"fallback-`+strings.ToUpper(hex.EncodeToString(sum[:]))+`"`)
	if format := imageio.Sniff(data); format != "" {
		h.Set("Content-Type", "image/"+format)
	}
	read := &countingReader{r: bytes.NewReader(data)}
	return &originResponse{status: http.StatusOK, header: h, body: readCloser{read, http.NoBody}, length: int64(len(data)), read: read}, nil
}

var _ source = fallbackSource{}
