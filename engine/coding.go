package engine

import (
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"io"
	"strings"

	"github.com/opaprules/opaprules/actions"
)

// decodedBody undoes an origin Content-Encoding before actions see bytes.
// A decompressed body's length is unknown until it is read.
func decodedBody(src *originResponse) (io.Reader, int64, error) {
	switch coding := strings.ToLower(strings.TrimSpace(src.header.Get("Content-Encoding"))); coding {
	case "", "identity":
		return src.body, src.length, nil
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(src.body)
		if err != nil {
			return nil, 0, &actions.Error{Status: 400, Code: actions.CodeUnsupportedContent, Message: "the object says Content-Encoding: gzip but is not gzip data", Cause: err}
		}
		return zr, -1, nil
	case "deflate":
		zr, err := zlib.NewReader(src.body)
		if err != nil {
			return nil, 0, &actions.Error{Status: 400, Code: actions.CodeUnsupportedContent, Message: "the object says Content-Encoding: deflate but is not zlib data", Cause: err}
		}
		return zr, -1, nil
	default:
		return nil, 0, &actions.Error{Status: 400, Code: actions.CodeUnsupportedContentEncoding,
			Message: fmt.Sprintf("the object is stored with Content-Encoding %q, which cannot be transformed; only gzip and deflate are decoded", coding)}
	}
}
