package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/opaprules/opaprules/rules"
)

// Event is what OSS sends the function for one GetObject through an Object
// FC Access Point. Only getObjectContext.outputRoute and outputToken are
// documented; the rest follows S3 Object Lambda, which OSS modelled the
// feature on, under the names Alibaba's examples use. Decoding is lenient:
// unknown fields are ignored and everything but the route and token is
// optional, so a change in the undocumented part degrades (a rule sees an
// empty header) instead of failing every request. OPAPRULES_LOG_EVENT=1
// logs the raw event to confirm the shape on a real deployment.
type Event struct {
	GetObjectContext struct {
		InputOSSURL string `json:"inputOssUrl"`
		OutputRoute string `json:"outputRoute"`
		OutputToken string `json:"outputToken"`
	} `json:"getObjectContext"`
	Configuration struct {
		AccessPointName          string `json:"accessPointName"`
		AccessPointAlias         string `json:"accessPointAlias"`
		AccessPointArn           string `json:"accessPointArn"`
		SupportingAccessPointArn string `json:"supportingAccessPointArn"`
		Payload                  string `json:"payload"`
	} `json:"configuration"`
	UserRequest struct {
		URL     string  `json:"url"`
		Headers headers `json:"headers"`
	} `json:"userRequest"`
	UserIdentity    json.RawMessage `json:"userIdentity"`
	RequestID       string          `json:"xOssRequestId"`
	ProtocolVersion string          `json:"protocolVersion"`
}

// headers accepts {"Name": "v"} and {"Name": ["v1", "v2"]}: the shape is
// undocumented and both are common.
type headers http.Header

func (h *headers) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	out := http.Header{}
	for k, v := range raw {
		var one string
		if json.Unmarshal(v, &one) == nil {
			out.Add(k, one)
			continue
		}
		var many []string
		if json.Unmarshal(v, &many) == nil {
			for _, s := range many {
				out.Add(k, s)
			}
		}
	}
	*h = headers(out)
	return nil
}

// errNoRoute marks an event that cannot be answered at all.
var errNoRoute = errors.New("event has no getObjectContext.outputRoute/outputToken: nothing can be answered")

// decodeEvent parses the event. It returns an error with the event when
// the route and token are there but the rest is unusable (the request is
// then answered 400), and errNoRoute when even they are missing.
func decodeEvent(data []byte) (*Event, error) {
	var ev Event
	if err := json.Unmarshal(data, &ev); err != nil {
		// A broken document may still hold the route and token.
		var probe struct {
			GetObjectContext struct {
				OutputRoute string `json:"outputRoute"`
				OutputToken string `json:"outputToken"`
			} `json:"getObjectContext"`
		}
		if json.Unmarshal(data, &probe) != nil || probe.GetObjectContext.OutputRoute == "" || probe.GetObjectContext.OutputToken == "" {
			return nil, fmt.Errorf("%w (%v)", errNoRoute, err)
		}
		ev.GetObjectContext.OutputRoute = probe.GetObjectContext.OutputRoute
		ev.GetObjectContext.OutputToken = probe.GetObjectContext.OutputToken
		return &ev, fmt.Errorf("malformed event: %v", err)
	}
	if ev.GetObjectContext.OutputRoute == "" || ev.GetObjectContext.OutputToken == "" {
		return nil, errNoRoute
	}
	if ev.UserRequest.URL == "" && ev.GetObjectContext.InputOSSURL == "" {
		return &ev, errors.New("malformed event: neither userRequest.url nor getObjectContext.inputOssUrl names the object")
	}
	return &ev, nil
}

// aliasHost matches the host of a request sent to an access point alias.
var aliasHost = regexp.MustCompile(`^(([a-z0-9][a-z0-9-]*?)-[a-z0-9]+-opapalias)(\.|$)`)

// The access point's own endpoints, as GetAccessPointForObjectProcess
// reports them ("<ap>-<account>.oss-<region>[-internal].oss-object-process.aliyuncs.com",
// alibabacloud-oss-go-sdk-v2 oss/client_mock_test.go), and the outputRoute
// of its events ("<ap>-<account>-opap.oss-<region>[-internal].oss-object-process.aliyuncs.com",
// oss2 examples/write_get_object_response.py, the Java SDK's
// WriteGetObjectResponseTest): the access point name, then the account id.
// The greedy name leaves the last "-<digits>" to the account, so names
// that end in digits ("fc-ap-01") come out whole.
var (
	endpointHost = regexp.MustCompile(`^([a-z0-9][a-z0-9-]*)-[0-9]+\.oss-[a-z0-9-]+\.oss-object-process\.aliyuncs\.com$`)
	routeHost    = regexp.MustCompile(`^([a-z0-9][a-z0-9-]*)-[0-9]+-opap\.oss-[a-z0-9-]+\.oss-object-process\.aliyuncs\.com$`)
)

// hostAccessPoint is the access point named by host in the form re
// matches, or "".
func hostAccessPoint(re *regexp.Regexp, host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if m := re.FindStringSubmatch(strings.ToLower(host)); m != nil {
		return m[1]
	}
	return ""
}

// request derives what the rules see from the event. bucket is the
// configured bucket; without one, the bucket is read from inputOssUrl.
func (ev *Event) request(bucket string, trusted []netip.Prefix) (*rules.Request, error) {
	req := &rules.Request{Method: http.MethodGet, Header: http.Header(ev.UserRequest.Headers), Bucket: bucket}
	if req.Header == nil {
		req.Header = http.Header{}
	}
	req.Header.Del("Authorization")
	var host string
	switch {
	case ev.UserRequest.URL != "":
		u, err := url.Parse(ev.UserRequest.URL)
		if err != nil {
			return nil, fmt.Errorf("malformed event: userRequest.url: %v", err)
		}
		req.Key = strings.TrimPrefix(u.Path, "/")
		req.RawQuery = u.RawQuery
		host = u.Hostname()
		// A path-style request names the alias as the first path segment.
		if first, rest, ok := strings.Cut(req.Key, "/"); ok && !aliasHost.MatchString(strings.ToLower(host)) && aliasHost.MatchString(first) {
			host, req.Key = first, rest
		}
	default:
		u, err := url.Parse(ev.GetObjectContext.InputOSSURL)
		if err != nil {
			return nil, fmt.Errorf("malformed event: inputOssUrl: %v", err)
		}
		req.Key = keyFromOriginURL(u)
	}
	if req.Key == "" {
		return nil, errors.New("malformed event: the request names no object key")
	}
	if host == "" {
		host = req.Header.Get("Host")
	}
	req.AccessPoint = ev.Configuration.AccessPointName
	req.AccessPointAlias = ev.Configuration.AccessPointAlias
	if m := aliasHost.FindStringSubmatch(strings.ToLower(host)); m != nil {
		if req.AccessPointAlias == "" {
			req.AccessPointAlias = m[1]
		}
		if req.AccessPoint == "" {
			req.AccessPoint = m[2]
		}
	}
	if req.AccessPoint == "" && req.AccessPointAlias != "" {
		req.AccessPoint, _ = rules.SplitAccessPoint(req.AccessPointAlias)
	}
	if req.AccessPoint == "" {
		req.AccessPoint = arnName(ev.Configuration.AccessPointArn)
	}
	if req.AccessPoint == "" {
		req.AccessPoint = hostAccessPoint(endpointHost, host)
	}
	if req.AccessPoint == "" {
		// The only documented field that names it.
		req.AccessPoint = hostAccessPoint(routeHost, ev.GetObjectContext.OutputRoute)
	}
	req.IP = clientIP(req.Header, trusted)
	if req.Bucket == "" && ev.GetObjectContext.InputOSSURL != "" {
		if u, err := url.Parse(ev.GetObjectContext.InputOSSURL); err == nil {
			req.Bucket = bucketFromOriginURL(u)
		}
	}
	return req, nil
}

// bucketFromOriginURL reads the bucket from a presigned origin URL: the
// first label of a virtual-hosted host, the first path segment of a
// path-style URL (an IP or localhost endpoint).
func bucketFromOriginURL(u *url.URL) string {
	h := u.Hostname()
	if net.ParseIP(h) != nil || h == "localhost" {
		b, _, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
		return b
	}
	if b, _, ok := strings.Cut(h, "."); ok {
		return b
	}
	return ""
}

// keyFromOriginURL reads the key from a presigned origin URL: the whole
// path for a virtual-hosted bucket, the path after the bucket for a
// path-style one (an IP or localhost endpoint).
func keyFromOriginURL(u *url.URL) string {
	p := strings.TrimPrefix(u.Path, "/")
	h := u.Hostname()
	if net.ParseIP(h) != nil || h == "localhost" {
		_, p, _ = strings.Cut(p, "/")
	}
	return p
}

// arnName is the last part of an access point ARN ("acs:oss:...:accesspoint/NAME").
func arnName(arn string) string {
	if i := strings.LastIndexAny(arn, "/:"); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

// clientIP is the client's address as the request headers tell it, believing
// only what the nearest hop says. The event carries no documented source
// address; serve appends the peer's address to X-Forwarded-For as a front end
// would, and whether OSS does is unconfirmed (OPAPRULES_LOG_EVENT=1 shows
// what a real access point passes). A client can put anything in
// X-Forwarded-For, but a proxy appends the address it saw: the rightmost
// entry is the only one a client cannot forge. Entries from the operator's
// own proxies (settings.trusted_proxies) are skipped from the right, and
// X-Real-Ip counts only when every hop that forwarded the request is
// trusted. Anything unreadable on the way gives "", which a cidr() test
// treats as no match: a deny written as !cidr(ip, ...) fails closed.
func clientIP(h http.Header, trusted []netip.Prefix) string {
	var hops []string
	for _, v := range h.Values("X-Forwarded-For") {
		for _, e := range strings.Split(v, ",") {
			hops = append(hops, strings.TrimSpace(e))
		}
	}
	if len(hops) == 0 {
		return ""
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHop(hops[i])
		if !ok {
			return ""
		}
		if !isTrusted(a, trusted) {
			return a.String()
		}
	}
	// Every hop is one of ours: the first proxy's own view of its client.
	if real, ok := parseHop(strings.TrimSpace(h.Get("X-Real-Ip"))); ok {
		return real.String()
	}
	a, _ := parseHop(hops[0])
	return a.String()
}

// parseHop reads one X-Forwarded-For entry: an address, optionally with a
// port ("203.0.113.9:4711", "[2001:db8::1]:443").
func parseHop(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// shortfall says what kept an event from decoding fully, and how badly:
// err is what decoding it returned, req the request it made. Only
// outputRoute and outputToken are documented, so the first real event may
// not have the shape this package expects; Invoke logs what this finds
// without waiting for OPAPRULES_LOG_EVENT and a redeploy: at error level
// when the request cannot be served (it is answered 400, or not at all),
// at warning level when it is served with less than the rules could read
// (no query, no headers, no access point).
func shortfall(ev *Event, req *rules.Request, err error) (slog.Level, string) {
	if err != nil {
		return slog.LevelError, err.Error()
	}
	var missing []string
	if ev.UserRequest.URL == "" {
		missing = append(missing, "userRequest.url (the rules see no query; the key comes from inputOssUrl)")
	}
	if len(ev.UserRequest.Headers) == 0 {
		missing = append(missing, "userRequest.headers (the rules see no request header)")
	}
	if req.AccessPoint == "" {
		missing = append(missing, "an access point name (rules scoped by access_points never match)")
	}
	if missing == nil {
		return 0, ""
	}
	return slog.LevelWarn, "the event decodes without " + strings.Join(missing, "; ")
}

// shortEventInterval is the least time between two logs of one kind.
const shortEventInterval = time.Minute

// eventLimiter lets each kind of short event be logged at most once a
// minute per Handler, with a count of the ones left out.
type eventLimiter struct {
	mu         sync.Mutex
	last       map[slog.Level]time.Time
	suppressed map[slog.Level]int
}

// allow reports whether a log of this level may be written at now, and how
// many were left out since the last one.
func (l *eventLimiter) allow(level slog.Level, now time.Time) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if last, ok := l.last[level]; ok && now.Sub(last) < shortEventInterval {
		l.suppressed[level]++
		return false, 0
	}
	n := l.suppressed[level]
	l.last[level], l.suppressed[level] = now, 0
	return true, n
}

func (h *Handler) reportShortEvent(level slog.Level, problem string, event []byte, now time.Time) {
	ok, suppressed := h.shortEvents.allow(level, now)
	if !ok {
		return
	}
	msg := "event does not decode"
	if level < slog.LevelError {
		msg = "event decodes only partly"
	}
	h.cfg.Logger.LogAttrs(context.Background(), level, msg,
		slog.String("problem", problem),
		slog.Any("event", maskedEvent(event)),
		slog.Int("suppressed_since_last", suppressed))
}
