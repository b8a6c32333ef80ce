package engine

import (
	"bufio"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"

	"github.com/opaprules/opaprules/actions"
	"github.com/opaprules/opaprules/internal/imageio"
	"github.com/opaprules/opaprules/rules"
)

// source opens the request's original: OSS for an invocation, a local file
// for RunLocal. forward lists the client's headers the source answers
// itself (Range and conditionals).
type source interface {
	open(ctx context.Context, req *rules.Request, forward []string) (*originResponse, error)
}

// origin reads the original object: through the presigned inputOssUrl of
// the event when it has one, else through a URL the SDK signs for the
// configured bucket with the function's credentials. Either way the read
// is one streaming GET.
type origin struct {
	client   *http.Client
	bucket   string
	endpoint string
	region   string
	creds    Credentials
	inputURL string
}

// originResponse is an open origin read.
type originResponse struct {
	status int
	header http.Header
	body   io.ReadCloser
	// length is this response's Content-Length, -1 when unknown.
	length int64
	// read counts body bytes consumed, for the log.
	read *countingReader
}

// Close releases the read; safe on nil.
func (o *originResponse) Close() {
	if o != nil && o.body != nil {
		o.body.Close()
	}
}

// meta is the object's metadata as the rules see it.
func (o *originResponse) meta() *rules.ObjectMeta {
	m := &rules.ObjectMeta{
		Size:        o.length,
		ContentType: o.header.Get("Content-Type"),
		ETag:        o.header.Get("ETag"),
	}
	if cr := o.header.Get("Content-Range"); cr != "" {
		if _, total, ok := strings.Cut(cr, "/"); ok {
			if n, err := strconv.ParseInt(total, 10, 64); err == nil {
				m.Size = n
			}
		}
	}
	if t, err := http.ParseTime(o.header.Get("Last-Modified")); err == nil {
		m.LastModified = t
	}
	for name, v := range o.header {
		if meta, ok := strings.CutPrefix(strings.ToLower(name), "x-oss-meta-"); ok && len(v) > 0 {
			if m.Meta == nil {
				m.Meta = map[string]string{}
			}
			m.Meta[meta] = v[0]
		}
	}
	return m
}

// headerBytes is how much of an original is looked at for image.*: the
// header of any picture whose EXIF and colour profile are of a usual size.
const headerBytes = 256 << 10

// imageMeta reads the picture header at the start of the body, which
// stays readable from its first byte. A body that is not a picture, or
// whose header lies further in, reads as the zero ImageMeta but for the
// format.
func (o *originResponse) imageMeta() *rules.ImageMeta {
	if ce := strings.TrimSpace(o.header.Get("Content-Encoding")); ce != "" && !strings.EqualFold(ce, "identity") {
		return &rules.ImageMeta{}
	}
	br := bufio.NewReaderSize(o.body, headerBytes)
	head, _ := br.Peek(headerBytes)
	o.body = readCloser{br, o.body}
	m := &rules.ImageMeta{Format: imageio.Sniff(head)}
	cfg, err := imageio.DecodeConfig(head)
	if err != nil {
		return m
	}
	m.Width, m.Height = cfg.Upright()
	m.Frames, m.Alpha, m.Orientation = cfg.Frames, cfg.Alpha, cfg.Orientation
	return m
}

// conditionalHeaders are forwarded to the origin when the object passes
// through unchanged, so 206, 304 and 412 come from the one who knows.
var conditionalHeaders = []string{"Range", "If-Range", "If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since"}

// signedURL returns the URL to GET key from.
func (o *origin) signedURL(key string, query url.Values) (string, error) {
	if o.inputURL != "" && key == "" {
		return o.inputURL, nil
	}
	if o.bucket == "" || o.endpoint == "" {
		return "", errors.New("reading other objects needs OPAPRULES_BUCKET and OPAPRULES_ENDPOINT")
	}
	opts := []oss.ClientOption{oss.AuthVersion(oss.AuthV4), oss.Region(o.region), oss.HTTPClient(o.client)}
	if o.creds.SecurityToken != "" {
		opts = append(opts, oss.SecurityToken(o.creds.SecurityToken))
	}
	client, err := oss.New(o.endpoint, o.creds.AccessKeyID, o.creds.AccessKeySecret, opts...)
	if err != nil {
		return "", err
	}
	b, err := client.Bucket(o.bucket)
	if err != nil {
		return "", err
	}
	var signOpts []oss.Option
	if v := query.Get("versionId"); v != "" {
		signOpts = append(signOpts, oss.VersionId(v))
	}
	return b.SignURL(key, oss.HTTPGet, 600, signOpts...)
}

// open starts the GET of the request's object. forward holds the client's
// headers to pass on (Range and conditionals for a passthrough); headers
// the presigned URL signed are always passed, or its signature would not
// match.
func (o *origin) open(ctx context.Context, req *rules.Request, forward []string) (*originResponse, error) {
	key := req.Key
	if o.inputURL != "" {
		key = ""
	}
	q, _ := url.ParseQuery(req.RawQuery)
	u, err := o.signedURL(key, q)
	if err != nil {
		return nil, err
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, &actions.Error{Status: 400, Code: actions.CodeMalformedEvent, Message: "inputOssUrl is not a URL", Cause: err}
	}
	for _, name := range forward {
		if v := req.Header.Get(name); v != "" {
			hr.Header.Set(name, v)
		}
	}
	for _, name := range signedHeaders(u) {
		if v := req.Header.Get(name); v != "" {
			hr.Header.Set(name, v)
		}
	}
	// A compressed object must arrive as stored: Go's transport would
	// otherwise ask for gzip and unpack it behind our back.
	hr.Header.Set("Accept-Encoding", "identity")
	resp, err := o.client.Do(hr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &actions.Error{Status: 503, Code: actions.CodeServiceUnavailable, Message: "the origin could not be reached; retry later", Cause: err}
	}
	if resp.StatusCode >= 400 {
		defer resp.Body.Close()
		var body errorBody
		_ = xml.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body)
		e := originError(resp.StatusCode, body.Code, body.Message)
		e.Cause = fmt.Errorf("origin GET: %s", resp.Status)
		return nil, e
	}
	cr := &countingReader{r: resp.Body}
	return &originResponse{status: resp.StatusCode, header: resp.Header, body: readCloser{cr, resp.Body}, length: resp.ContentLength, read: cr}, nil
}

// signedHeaders lists the headers a V4 presigned URL signed
// (x-oss-additional-headers), which the request must carry as signed.
func signedHeaders(rawURL string) []string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil
	}
	v := u.Query().Get("x-oss-additional-headers")
	if v == "" {
		return nil
	}
	return strings.Split(v, ";")
}

// fetcher reads other objects of the bucket for actions (watermark images).
type fetcher struct{ o *origin }

func (f fetcher) Fetch(ctx context.Context, key string, maxBytes int64) ([]byte, error) {
	u, err := f.o.signedURL(key, nil)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := f.o.client.Do(hr)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, fmt.Errorf("fetching %q: %w", key, fs.ErrNotExist)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching %q: origin answered %s", key, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBytes+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > maxBytes {
		return nil, fmt.Errorf("object %q is over %d bytes", key, maxBytes)
	}
	return b, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Interface guards.
var (
	_ source          = (*origin)(nil)
	_ actions.Fetcher = fetcher{}
)

type readCloser struct {
	io.Reader
	io.Closer
}
