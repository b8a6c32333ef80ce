package engine

import (
	"compress/gzip"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/opaprules/opaprules/actions"
)

// decodedBody undoes an origin Content-Encoding before actions see bytes.
// A decompressed body's length is unknown until it is read, and a few
// hostile bytes can stand for gigabytes: a 1 MB gzip object that unpacks
// to a 1 GiB CSV line took serve to 5.6 GB (issue #10, finding 2). So the
// decoded stream stops with 400 EntityTooLarge past max_decoded_bytes, or
// as soon as it has expanded more than max_decode_ratio times the bytes
// read (once past its first MiB), and it stops with the request's context:
// whatever reads it gets ctx's error on its next read after a timeout
// answer.
func decodedBody(ctx context.Context, src *originResponse, limits actions.Limits) (io.Reader, int64, error) {
	coding := strings.ToLower(strings.TrimSpace(src.header.Get("Content-Encoding")))
	var open func(io.Reader) (io.Reader, error)
	switch coding {
	case "", "identity":
		return src.body, src.length, nil
	case "gzip", "x-gzip":
		open = func(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) }
	case "deflate":
		open = func(r io.Reader) (io.Reader, error) { return zlib.NewReader(r) }
	default:
		return nil, 0, &actions.Error{Status: 400, Code: actions.CodeUnsupportedContentEncoding,
			Message: fmt.Sprintf("the object is stored with Content-Encoding %q, which cannot be transformed; only gzip and deflate are decoded", coding)}
	}
	in := &byteCounter{r: src.body}
	zr, err := open(in)
	if err != nil {
		name := map[string]string{"gzip": "gzip", "x-gzip": "gzip", "deflate": "zlib"}[coding]
		return nil, 0, &actions.Error{Status: 400, Code: actions.CodeUnsupportedContent,
			Message: fmt.Sprintf("the object says Content-Encoding: %s but is not %s data", coding, name), Cause: err}
	}
	l := actions.DefaultLimits().Merge(limits)
	return &inflateGuard{ctx: ctx, r: zr, in: in, coding: coding, max: int64(l.MaxDecodedBytes), ratio: int64(l.MaxDecodeRatio)}, -1, nil
}

// ratioFloor is how much a body may decode to before the ratio guard
// looks: small bodies compress erratically, and are harmless anyway.
const ratioFloor = 1 << 20

// inflateGuard bounds a decompressing reader.
type inflateGuard struct {
	ctx    context.Context
	r      io.Reader
	in     *byteCounter
	coding string
	max    int64
	ratio  int64
	out    int64
}

func (g *inflateGuard) Read(p []byte) (int, error) {
	if err := g.ctx.Err(); err != nil {
		return 0, err
	}
	// Never hand out more than the limit allows, so the refusal comes
	// before the bytes past it are produced.
	if room := g.max - g.out + 1; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := g.r.Read(p)
	g.out += int64(n)
	if err != nil && err != io.EOF && g.ctx.Err() == nil && (g.in.err == nil || !errors.Is(err, g.in.err)) {
		// Corrupt compressed data is the object's fault, not the origin's
		// (whose read errors pass through as they are).
		return n, &actions.Error{Status: http.StatusBadRequest, Code: actions.CodeUnsupportedContent,
			Message: fmt.Sprintf("the object's %s data is corrupt", g.coding), Cause: err}
	}
	switch {
	case g.out > g.max:
		return 0, &actions.Error{Status: http.StatusBadRequest, Code: actions.CodeEntityTooLarge,
			Message: fmt.Sprintf("the object decompresses (Content-Encoding %s) to more than the limit of %s (max_decoded_bytes)", g.coding, actions.ByteSize(g.max))}
	case g.ratio > 0 && g.out > ratioFloor && g.out > g.ratio*max(g.in.n, 1):
		return 0, &actions.Error{Status: http.StatusBadRequest, Code: actions.CodeEntityTooLarge,
			Message: fmt.Sprintf("the object decompresses (Content-Encoding %s) to more than %d times its size (max_decode_ratio): refused as a compression bomb", g.coding, g.ratio)}
	}
	return n, err
}

// byteCounter counts the compressed bytes read, and remembers the
// origin's own read error.
type byteCounter struct {
	r   io.Reader
	n   int64
	err error
}

func (c *byteCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF {
		c.err = err
	}
	return n, err
}
