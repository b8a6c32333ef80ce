package actions

import (
	"fmt"
	"slices"
	"strings"
)

// ForwardedHeaders are the response headers WriteGetObjectResponse carries
// to the client (as x-oss-fwd-header-<Name>): the ten its API reference
// lists, plus Location, which Alibaba's Java sample sends for redirects.
// This is the one list: the engine forwards exactly these (and whatever
// settings.extra_forward_headers adds), and the headers action can set
// only the ones that describe the body.
var ForwardedHeaders = []string{
	"Accept-Ranges",
	"Cache-Control",
	"Content-Disposition",
	"Content-Encoding",
	"Content-Language",
	"Content-Range",
	"Content-Type",
	"ETag",
	"Expires",
	"Last-Modified",
	"Location",
}

// ForwardedStatuses are the statuses WriteGetObjectResponse accepts in
// x-oss-fwd-status (its API reference). This is the one list: the engine
// moves any other status into it, deny offers its 4xx part and redirect
// its redirects (TestStatusLists keeps their enum tags in step).
var ForwardedStatuses = []int{200, 206, 301, 302, 303, 304, 400, 401, 403, 404, 405, 409, 411, 412, 416, 500, 503}

// IsForwarded reports whether name is in ForwardedHeaders.
func IsForwarded(name string) bool { return containsFold(ForwardedHeaders, name) }

func containsFold(list []string, name string) bool {
	return slices.ContainsFunc(list, func(s string) bool { return strings.EqualFold(s, name) })
}

// hopByHop headers describe one connection and must never be relayed.
var hopByHop = []string{
	"Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
	"Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

// IsHopByHop reports whether name is a hop-by-hop header (RFC 9110 §7.6.1).
func IsHopByHop(name string) bool { return containsFold(hopByHop, name) }

// IsOSSHeader reports whether name is in OSS's own x-oss- namespace, which
// a response from a rule must never spoof.
func IsOSSHeader(name string) bool {
	return len(name) >= 6 && strings.EqualFold(name[:6], "x-oss-")
}

// checkHeaderValue refuses control characters, which could split a header
// or smuggle a second one.
func checkHeaderValue(param, v string) error {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return fmt.Errorf("%s: control character %q is not allowed in a header value", param, c)
		}
	}
	return nil
}
