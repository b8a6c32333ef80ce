package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"

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

// request derives what the rules see from the event.
func (ev *Event) request() (*rules.Request, error) {
	req := &rules.Request{Method: http.MethodGet, Header: http.Header(ev.UserRequest.Headers)}
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
	req.IP = clientIP(req.Header)
	return req, nil
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

// clientIP is the client's address as the request headers tell it. The
// event carries no documented source address; OSS is expected to pass
// X-Forwarded-For like other Alibaba front ends.
func clientIP(h http.Header) string {
	if xff := h.Get("X-Forwarded-For"); xff != "" {
		first, _, _ := strings.Cut(xff, ",")
		return strings.TrimSpace(first)
	}
	return strings.TrimSpace(h.Get("X-Real-Ip"))
}

// maskedEvent returns the event with the token, signatures and credentials
// masked, for OPAPRULES_LOG_EVENT.
func maskedEvent(data []byte) json.RawMessage {
	var m map[string]any
	if json.Unmarshal(data, &m) != nil {
		return json.RawMessage(`"(not JSON)"`)
	}
	maskTree(m)
	b, _ := json.Marshal(m)
	return b
}

var secretQuery = []string{"x-oss-signature", "signature", "x-oss-security-token", "security-token", "x-oss-credential", "ossaccesskeyid"}

func maskTree(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			lk := strings.ToLower(k)
			switch {
			case lk == "outputtoken" || lk == "authorization" || strings.Contains(lk, "secret") || strings.Contains(lk, "token") || lk == "cookie":
				x[k] = "***"
			case lk == "inputossurl" || lk == "url":
				if s, ok := val.(string); ok {
					x[k] = maskURL(s)
				}
			default:
				maskTree(val)
			}
		}
	case []any:
		for _, e := range x {
			maskTree(e)
		}
	}
}

func maskURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "***"
	}
	q := u.Query()
	for k := range q {
		for _, secret := range secretQuery {
			if strings.EqualFold(k, secret) {
				q.Set(k, "***")
			}
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}
