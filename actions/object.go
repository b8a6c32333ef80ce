package actions

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/opaprules/opaprules/internal/spool"
)

// Request is what an action may know of the client's request.
type Request struct {
	ID          string
	Key         string
	Method      string
	AccessPoint string
	// Header holds the client's request headers (Accept, for one).
	Header http.Header
}

// Fetcher reads another object of the same bucket, such as a watermark
// image. The engine provides it; actions never talk to OSS themselves. A
// missing object is an error wrapping fs.ErrNotExist.
type Fetcher interface {
	Fetch(ctx context.Context, key string, maxBytes int64) ([]byte, error)
}

// URLFetcher is a Fetcher that can also give a tool a URL to read an
// object from with HTTP Range requests, so the tool reads only what it
// needs (ffmpeg taking one frame of a video) and nothing is held in
// memory first. key "" is the request's own object. The URL works until
// ctx ends; the bytes read through it count as the request's bytes_in.
type URLFetcher interface {
	Fetcher
	URL(ctx context.Context, key string) (string, error)
}

// Object is the thing a plan's actions work on, one per request. It holds
// the body in whichever form the last action left it, bytes or a decoded
// image, and converts lazily: the first image action decodes, the end of
// the plan encodes, and a plan of text actions never decodes at all.
//
// An Object is used by one goroutine at a time.
type Object struct {
	Request *Request
	// Header holds the response headers: the origin's to begin with
	// (Content-Type, ETag, ...); actions set or delete entries.
	Header http.Header
	// Status is the response status a successful plan answers with.
	Status  int
	Limits  Limits
	Fetcher Fetcher

	body    io.Reader
	size    int64
	img     *imageState
	mem     *imageMemory
	closers []func()
}

// NewObject wraps an origin body of size bytes (-1 when unknown).
func NewObject(req *Request, body io.Reader, size int64, header http.Header, limits Limits) *Object {
	if header == nil {
		header = http.Header{}
	}
	if req == nil {
		req = &Request{Header: http.Header{}}
	}
	return &Object{Request: req, Header: header, Status: http.StatusOK, Limits: limits, body: body, size: size}
}

// ContentType is the media type of the body, without parameters, in lower case.
func (o *Object) ContentType() string {
	ct, _, _ := strings.Cut(o.Header.Get("Content-Type"), ";")
	return strings.ToLower(strings.TrimSpace(ct))
}

// Key is the object key of the request.
func (o *Object) Key() string { return o.Request.Key }

// Body returns the body as bytes and its length (-1 when unknown). When an
// image action has decoded the body, Body encodes it first.
func (o *Object) Body(ctx context.Context) (io.Reader, int64, error) {
	if o.img != nil {
		if err := o.encodeImage(ctx); err != nil {
			return nil, 0, err
		}
	}
	if o.body == nil {
		return http.NoBody, 0, nil
	}
	return o.body, o.size, nil
}

// SetBody replaces the body. size is -1 when the length is not known until
// the reader is drained; the engine then buffers the result to learn it.
func (o *Object) SetBody(r io.Reader, size int64) {
	o.img = nil
	o.body, o.size = r, size
}

// ReadAll reads the whole body into memory, refusing one over max bytes
// with the given code before reading past the limit.
func (o *Object) ReadAll(ctx context.Context, max int64, code string) ([]byte, error) {
	r, size, err := o.Body(ctx)
	if err != nil {
		return nil, err
	}
	if size > max {
		return nil, Errorf(http.StatusBadRequest, code, "object is %d bytes, over the limit of %s", size, ByteSize(max))
	}
	var buf bytes.Buffer
	if size > 0 {
		// MinRead more than the body: ReadFrom asks for that much room
		// before every read, the one that meets EOF included, and a
		// buffer grown to exactly size would be copied into one twice
		// as large just to learn that the body has ended.
		buf.Grow(int(size) + bytes.MinRead)
	}
	n, err := buf.ReadFrom(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if n > max {
		return nil, Errorf(http.StatusBadRequest, code, "object is over the limit of %s", ByteSize(max))
	}
	b := buf.Bytes()
	o.body, o.size = bytes.NewReader(b), int64(len(b))
	return b, nil
}

// OnClose registers f to run when the request is done (temporary files,
// memory budget).
func (o *Object) OnClose(f func()) { o.closers = append(o.closers, f) }

// Close releases what the plan held. It is safe to call more than once.
func (o *Object) Close() {
	for i := len(o.closers) - 1; i >= 0; i-- {
		o.closers[i]()
	}
	o.closers = nil
}

// Result returns the final body and its exact length, encoding a decoded
// image and buffering a body of unknown length (in memory up to
// Limits.MaxBufferBytes, then in a temporary file up to
// Limits.MaxSpoolBytes): WriteGetObjectResponse needs Content-Length first.
func (o *Object) Result(ctx context.Context) (io.Reader, int64, error) {
	r, size, err := o.Body(ctx)
	if err != nil || size >= 0 {
		return r, size, err
	}
	r, size, err = o.spool(ctx, r)
	if err != nil {
		return nil, 0, err
	}
	o.body, o.size = r, size
	return r, size, nil
}

func (o *Object) spool(ctx context.Context, r io.Reader) (io.Reader, int64, error) {
	body, err := spool.Copy(ctx, r, o.SpoolOptions())
	if err != nil {
		return nil, 0, SpoolError(err, "transformed object")
	}
	o.OnClose(func() { body.Close() })
	return body, body.Size, nil
}

// SpoolOptions are the plan's limits for a spool: max_buffer_bytes in
// memory, reserved from memory_budget (on disk at once when it is spent),
// max_spool_bytes in all, and the process-wide spool_budget for the file.
func (o *Object) SpoolOptions() spool.Options {
	l := DefaultLimits().Merge(o.Limits)
	return spool.Options{
		Memory:  int64(l.MaxBufferBytes),
		File:    int64(l.MaxSpoolBytes),
		Disk:    spool.BudgetOf(int64(l.SpoolBudget)),
		Reserve: memoryReserver(int64(l.MemoryBudget)),
	}
}

// SpoolError turns a spool's refusal into what the client sees: 400
// EntityTooLarge past max_spool_bytes, 503 ServiceUnavailable when the
// instance's temporary files hold the whole spool_budget. what names the
// body ("transformed object", "redacted object").
func SpoolError(err error, what string) error {
	var tl *spool.TooLargeError
	var be *spool.BudgetError
	switch {
	case errors.As(err, &tl):
		return &Error{Status: http.StatusBadRequest, Code: CodeEntityTooLarge,
			Message: fmt.Sprintf("%s is over the limit of %s (max_spool_bytes)", what, ByteSize(tl.Limit)), Cause: err}
	case errors.As(err, &be):
		return &Error{Status: http.StatusServiceUnavailable, Code: CodeServiceUnavailable,
			Message: fmt.Sprintf("the instance's temporary files are at their budget (spool_budget %s); retry later", ByteSize(be.Capacity)), Cause: err}
	}
	return err
}
