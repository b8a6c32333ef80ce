package engine

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/opaprules/opaprules/actions"
	"github.com/opaprules/opaprules/rules"
)

// ServeHTTP answers a client's request that reached the function directly:
// through an HTTP trigger or a custom domain of the FC custom runtime
// (fc-server), the way AWS's serverless image handler sits behind a CDN,
// with no OPAP in between. It runs the same rules and the same steps as an
// invocation; only the two ends differ: the original is read from the
// configured bucket through the SDK (OPAPRULES_BUCKET, OPAPRULES_ENDPOINT,
// the function's credentials), and the answer is written to w instead of
// through WriteGetObjectResponse, with the same status, forwarded headers,
// derived ETag, 304/412, Range/416 and OSS XML errors, plus Vary.
//
// requestID is FC's x-fc-request-id, or "" for a new one. It returns once
// the client is answered, an error only when it could not be.
func (h *Handler) ServeHTTP(ctx context.Context, w http.ResponseWriter, r *http.Request, creds Credentials, requestID string) (err error) {
	lg := &requestLog{start: time.Now()}
	defer func() { lg.emit(h.cfg.Logger, err) }()

	// 1. Decode the request: what a GetObject of the key would be.
	req, decodeErr := h.httpRequest(r)
	lg.stage("decode", lg.start)
	inv := h.newInvocation(requestID, req, lg, &httpSink{w: w, head: r.Method == http.MethodHead, forward: h.forward})
	o := &origin{client: h.cfg.HTTPClient, bucket: h.cfg.Bucket, endpoint: h.cfg.Endpoint, region: h.cfg.Region, creds: creds}
	inv.source, inv.fetcher = o, fetcher{o}
	return inv.run(ctx, decodeErr)
}

// httpRequest is what the rules see of a direct request. Function
// Compute's own headers (x-fc-*, its credentials among them: "Web
// functions" reserves the prefix) and the client's Authorization never
// reach a condition or a template. The client's address is the rightmost
// X-Forwarded-For entry, which FC's gateway appends (its FAQ "How do I
// obtain the original IP address of a client"), walking left past
// settings.trusted_proxies.
func (h *Handler) httpRequest(r *http.Request) (*rules.Request, error) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return nil, &actions.Error{Status: http.StatusMethodNotAllowed, Code: actions.CodeMethodNotAllowed,
			Message: fmt.Sprintf("%s is not allowed: the function answers GET and HEAD", r.Method)}
	}
	key, err := url.PathUnescape(strings.TrimPrefix(r.URL.EscapedPath(), "/"))
	if err != nil || key == "" {
		return nil, actions.InvalidArgument("the request names no object key")
	}
	header := http.Header{}
	for name, v := range r.Header {
		if !strings.HasPrefix(strings.ToLower(name), "x-fc-") && !strings.EqualFold(name, "Authorization") {
			header[name] = v
		}
	}
	req := &rules.Request{Key: key, RawQuery: r.URL.RawQuery, Header: header, Method: r.Method, Bucket: h.cfg.Bucket}
	req.AccessPoint, req.AccessPointAlias = rules.SplitAccessPoint(h.cfg.HTTPAccessPoint)
	req.IP = clientIP(header, h.cfg.Rules.Settings.Trusted())
	return req, nil
}

// httpSink writes an answer to the client's HTTP response: the headers
// WriteGetObjectResponse would forward (the original's checksums and
// x-oss-* describe other bytes than a transformed body's), Vary, and the
// body with its exact length; for HEAD, no body.
type httpSink struct {
	w       http.ResponseWriter
	head    bool
	forward []string
}

func (s *httpSink) send(r response) error {
	h := s.w.Header()
	for _, name := range append(s.forward, "Vary") {
		if v := r.header.Get(name); v != "" {
			h.Set(name, v)
		}
	}
	if r.body != nil || r.status != http.StatusNotModified {
		h.Set("Content-Length", strconv.FormatInt(r.size, 10))
	}
	if r.status == http.StatusMethodNotAllowed {
		h.Set("Allow", "GET, HEAD")
	}
	s.w.WriteHeader(r.status)
	if s.head || r.body == nil {
		return nil
	}
	n, err := io.Copy(s.w, io.LimitReader(safeReader{r.body}, r.size))
	if err == nil && n < r.size {
		err = fmt.Errorf("body ended %d bytes short", r.size-n)
	}
	return err
}

var _ sink = (*httpSink)(nil)
