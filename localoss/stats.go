package localoss

import (
	"maps"
	"sync"
	"sync/atomic"
)

// RejectReason says why a WriteGetObjectResponse was refused.
type RejectReason string

// Reasons a WriteGetObjectResponse is refused.
const (
	RejectMethod        RejectReason = "method"         // not a POST
	RejectSignature     RejectReason = "signature"      // missing, malformed or wrong signature
	RejectMissingHeader RejectReason = "missing-header" // route, token or fwd-status absent
	RejectContentLength RejectReason = "content-length" // no Content-Length (e.g. chunked)
	RejectStatus        RejectReason = "status"         // x-oss-fwd-status not allowed
	RejectUnknownToken  RejectReason = "unknown-token"  // never issued
	RejectReusedToken   RejectReason = "reused-token"   // already answered once
	RejectExpiredToken  RejectReason = "expired-token"  // the client request already ended
	RejectRoute         RejectReason = "route"          // route or Host differs from outputRoute
)

// Stats counts what the server has done since New. Tests use it to assert
// on side effects, e.g. that a request denied by the handler never reached
// the origin.
type Stats struct {
	// OriginGets and OriginHeads count every GetObject/HeadObject routed to
	// the bucket, whatever the outcome (auth failure, 404, 304, faults
	// included): inputOssUrl fetches, direct bucket requests and HEADs
	// through an access point.
	OriginGets  int64
	OriginHeads int64
	// OriginBytes counts object body bytes the origin sent.
	OriginBytes int64

	// ClientGets counts GetObject requests through an access point.
	ClientGets int64
	// Invocations counts calls of Config.Invoke.
	Invocations int64
	// InvokeErrors counts Invoke calls that returned an error (or panicked).
	InvokeErrors int64
	// InvokeTimeouts counts client requests that got no WGOR within
	// InvokeTimeout.
	InvokeTimeouts int64
	// NoResponses counts Invoke calls that returned without sending a WGOR.
	NoResponses int64

	// WGORAccepted counts accepted WriteGetObjectResponse requests.
	WGORAccepted int64
	// WGORRejected counts refused ones by reason.
	WGORRejected map[RejectReason]int64
	// RelayFailures counts accepted WGORs whose body did not reach the client
	// completely (client gone, or WGOR body shorter than its Content-Length).
	RelayFailures int64
}

// WGORRejectedTotal sums WGORRejected.
func (st Stats) WGORRejectedTotal() int64 {
	var n int64
	for _, v := range st.WGORRejected {
		n += v
	}
	return n
}

type counters struct {
	originGets, originHeads, originBytes  atomic.Int64
	clientGets, invocations, invokeErrors atomic.Int64
	invokeTimeouts, noResponses           atomic.Int64
	wgorAccepted, relayFailures           atomic.Int64
	mu                                    sync.Mutex
	rejected                              map[RejectReason]int64
}

func (c *counters) reject(r RejectReason) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rejected == nil {
		c.rejected = map[RejectReason]int64{}
	}
	c.rejected[r]++
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	c := &s.stats
	c.mu.Lock()
	rej := maps.Clone(c.rejected)
	c.mu.Unlock()
	if rej == nil {
		rej = map[RejectReason]int64{}
	}
	return Stats{
		OriginGets:     c.originGets.Load(),
		OriginHeads:    c.originHeads.Load(),
		OriginBytes:    c.originBytes.Load(),
		ClientGets:     c.clientGets.Load(),
		Invocations:    c.invocations.Load(),
		InvokeErrors:   c.invokeErrors.Load(),
		InvokeTimeouts: c.invokeTimeouts.Load(),
		NoResponses:    c.noResponses.Load(),
		WGORAccepted:   c.wgorAccepted.Load(),
		WGORRejected:   rej,
		RelayFailures:  c.relayFailures.Load(),
	}
}
