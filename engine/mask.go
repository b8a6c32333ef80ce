package engine

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
)

// maskedEvent returns the event for OPAPRULES_LOG_EVENT with every value
// masked unless it is known to be harmless: an allow-list, because a
// deny-list of secret names (Authorization, Cookie, ...) let
// Proxy-Authorization, X-Api-Key and the sig of signed URLs through in
// clear (issue #10, finding 7). The shape stays visible, every key and
// every header and query name, since confirming the undocumented event
// shape is what the log is for.
func maskedEvent(data []byte) json.RawMessage {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return json.RawMessage(`"(not JSON)"`)
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false) // URLs read better without \u0026
	_ = enc.Encode(maskValue("", v))
	return bytes.TrimRight(out.Bytes(), "\n")
}

// keptFields are the event fields whose values are shown, by path of
// lower-cased names: routing, names of access points, request ids.
var keptFields = map[string]bool{
	"getobjectcontext.outputroute":           true,
	"configuration.accesspointname":          true,
	"configuration.accesspointalias":         true,
	"configuration.accesspointarn":           true,
	"configuration.supportingaccesspointarn": true,
	"userrequest.method":                     true,
	"useridentity.type":                      true,
	"xossrequestid":                          true,
	"protocolversion":                        true,
}

// urlFields hold URLs whose scheme, host, path and query names are shown,
// with the query values of keptQuery only.
var urlFields = map[string]bool{
	"getobjectcontext.inputossurl": true,
	"userrequest.url":              true,
}

// keptHeaders are request headers whose values are shown (canonical
// names). Referer and Origin are URLs, shown like urlFields.
var keptHeaders = map[string]bool{
	"Accept": true, "Accept-Encoding": true, "Accept-Language": true, "Cache-Control": true,
	"Connection": true, "Content-Length": true, "Content-Type": true, "Date": true, "Dnt": true,
	"Dpr": true, "Forwarded": true, "Host": true, "If-Match": true, "If-Modified-Since": true,
	"If-None-Match": true, "If-Range": true, "If-Unmodified-Since": true, "Pragma": true,
	"Range": true, "Save-Data": true, "Sec-Ch-Ua": true, "Sec-Ch-Ua-Mobile": true,
	"Sec-Ch-Ua-Platform": true, "Sec-Fetch-Dest": true, "Sec-Fetch-Mode": true,
	"Sec-Fetch-Site": true, "Sec-Fetch-User": true, "Upgrade-Insecure-Requests": true,
	"User-Agent": true, "Via": true, "Viewport-Width": true, "Width": true,
	"X-Forwarded-For": true, "X-Forwarded-Host": true, "X-Forwarded-Proto": true,
	"X-Oss-Date": true, "X-Oss-Range-Behavior": true, "X-Oss-Request-Id": true,
	"X-Real-Ip": true, "X-Request-Id": true,
}

var urlHeaders = map[string]bool{"Referer": true, "Origin": true}

// keptQuery are query parameters whose values are shown (lower case):
// the transformation parameters rules commonly read, OSS's own harmless
// ones, and a signed URL's expiry (never its sig).
var keptQuery = map[string]bool{
	"w": true, "h": true, "width": true, "height": true, "fmt": true, "format": true,
	"q": true, "quality": true, "mode": true, "fit": true, "download": true,
	"x-oss-process": true, "versionid": true, "expires": true,
	"response-content-type": true, "response-content-language": true,
	"response-content-disposition": true, "response-cache-control": true,
	"response-content-encoding": true, "response-expires": true,
	"x-oss-date": true, "x-oss-expires": true, "x-oss-signature-version": true,
	"x-oss-additional-headers": true,
}

const masked = "***"

func maskValue(path string, v any) any {
	switch x := v.(type) {
	case map[string]any:
		if path == "userrequest.headers" {
			return maskHeaders(x)
		}
		out := make(map[string]any, len(x))
		for k, val := range x {
			p := strings.ToLower(k)
			if path != "" {
				p = path + "." + p
			}
			out[k] = maskValue(p, val)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = maskValue(path, e)
		}
		return out
	case string:
		switch {
		case x == "":
			return x
		case keptFields[path]:
			return x
		case urlFields[path]:
			return maskURL(x)
		}
		return masked
	}
	// Numbers, booleans and null say nothing secret.
	return v
}

// maskHeaders masks a userRequest.headers object, whose values are
// strings or lists of strings.
func maskHeaders(h map[string]any) map[string]any {
	out := make(map[string]any, len(h))
	for name, val := range h {
		canon := http.CanonicalHeaderKey(name)
		mask := func(s string) string {
			switch {
			case s == "" || keptHeaders[canon]:
				return s
			case urlHeaders[canon]:
				return maskURL(s)
			}
			return masked
		}
		switch x := val.(type) {
		case string:
			out[name] = mask(x)
		case []any:
			vs := make([]any, len(x))
			for i, e := range x {
				if s, ok := e.(string); ok {
					vs[i] = mask(s)
				} else {
					vs[i] = maskValue("", e)
				}
			}
			out[name] = vs
		default:
			out[name] = maskValue("", val)
		}
	}
	return out
}

// maskURL keeps a URL's scheme, host, path and query names, and the values
// of keptQuery; user information and other values become ***.
func maskURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return masked
	}
	if u.User != nil {
		u.User = url.User(masked)
	}
	u.Fragment, u.RawFragment = "", ""
	if u.RawQuery == "" {
		return u.String()
	}
	var b strings.Builder
	for part := range strings.SplitSeq(u.RawQuery, "&") {
		if part == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		name, value, hasValue := strings.Cut(part, "=")
		b.WriteString(name)
		if !hasValue {
			continue
		}
		b.WriteByte('=')
		if n, err := url.QueryUnescape(name); err == nil && keptQuery[strings.ToLower(n)] {
			b.WriteString(value)
		} else if value != "" {
			b.WriteString(masked)
		}
	}
	u.RawQuery = b.String()
	return u.String()
}
