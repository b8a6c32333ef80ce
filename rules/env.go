package rules

import (
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The environment conditions and templates see is a map[string]any, which
// expr reads without reflection. Everything a request puts in it is boxed
// once per request, and only the names the rule set reads at all (see
// RuleSet.uses); helpers are function values bound once per pooled Env.
// headers.NAME, query.NAME and "x" in query are rewritten at compile time
// into typed helper calls (see patch.go), because expr reads a typed map's
// entry through reflection and allocates on every read.

// Names of the environment, as operators write them.
const (
	varKey         = "key"
	varDir         = "dir"
	varBase        = "base"
	varExt         = "ext"
	varBucket      = "bucket"
	varAccessPoint = "access_point"
	varMethod      = "method"
	varQuery       = "query"
	varHeaders     = "headers"
	varIP          = "ip"
	varNow         = "now"
	varObject      = "object"
	varImage       = "image"
)

// dataVars lists the per-request names, in the order of the uses bit set.
var dataVars = []string{varKey, varDir, varBase, varExt, varBucket, varAccessPoint, varMethod, varQuery, varHeaders, varIP, varNow, varObject, varImage}

// Helper function names. The double-underscore ones are what the compile
// patch rewrites map reads into; operators never write them.
const (
	fnAccepts   = "accepts"
	fnGlob      = "glob"
	fnCIDR      = "cidr"
	fnEnv       = "env"
	fnSigned    = "signed"
	fnHeader    = "__header"
	fnQuery     = "__query"
	fnHasHeader = "__has_header"
	fnHasQuery  = "__has_query"
)

// envTypes tells the expr checker the type of every name.
var envTypes = map[string]any{
	varKey: "", varDir: "", varBase: "", varExt: "", varBucket: "", varAccessPoint: "",
	varMethod: "", varIP: "",
	varQuery:   map[string]string{},
	varHeaders: map[string]string{},
	varNow:     time.Time{},
	varObject:  ObjectMeta{},
	varImage:   ImageMeta{},

	fnAccepts:   (func(mime string) bool)(nil),
	fnGlob:      (func(pattern string) bool)(nil),
	fnCIDR:      (func(ip, prefix string) bool)(nil),
	fnEnv:       (func(name string) string)(nil),
	fnSigned:    (func(keyEnv string) bool)(nil),
	fnHeader:    (func(name any) any)(nil),
	fnQuery:     (func(name any) any)(nil),
	fnHasHeader: (func(name any) bool)(nil),
	fnHasQuery:  (func(name any) bool)(nil),
}

// uses is a bit set over dataVars: the names a rule set reads.
type uses uint32

func (u uses) has(name string) bool {
	for i, n := range dataVars {
		if n == name {
			return u&(1<<i) != 0
		}
	}
	return false
}

func usesOf(names ...string) uses {
	var u uses
	for i, n := range dataVars {
		for _, name := range names {
			if n == name {
				u |= 1 << i
			}
		}
	}
	return u
}

var usesAll = uses(1<<len(dataVars) - 1)

// Env is one request's evaluation state, pooled.
type Env struct {
	vars    map[string]any
	query   map[string]string
	headers map[string]string
	// boxedQuery and boxedHeaders cache the boxed form of values read by
	// conditions, so 20 rules reading headers.referer box it once.
	boxedQuery   map[string]any
	boxedHeaders map[string]any

	key      string
	rawQuery string
	accept   string
	now      time.Time
}

// emptyString is a boxed "", stored without allocating.
var emptyString any = ""

// envPool recycles environments with their maps and bound helpers, so
// evaluating a request allocates almost nothing.
var envPool = sync.Pool{New: func() any { return newEnv() }}

func newEnv() *Env {
	e := &Env{
		vars:         make(map[string]any, 32),
		query:        make(map[string]string, 8),
		headers:      make(map[string]string, 16),
		boxedQuery:   make(map[string]any, 8),
		boxedHeaders: make(map[string]any, 8),
	}
	e.vars[fnAccepts] = e.accepts
	e.vars[fnGlob] = e.glob
	e.vars[fnSigned] = e.signed
	e.vars[fnCIDR] = cidrContains
	e.vars[fnEnv] = getenv
	e.vars[fnHeader] = e.header
	e.vars[fnQuery] = e.queryValue
	e.vars[fnHasHeader] = e.hasHeader
	e.vars[fnHasQuery] = e.hasQuery
	e.vars[varQuery] = e.query
	e.vars[varHeaders] = e.headers
	return e
}

func acquireEnv(r *Request, u uses) *Env {
	e := envPool.Get().(*Env)
	e.fill(r, u)
	return e
}

func releaseEnv(e *Env) {
	envPool.Put(e)
}

func (e *Env) fill(r *Request, u uses) {
	e.key = r.Key
	e.rawQuery = r.RawQuery
	e.now = r.Now
	if e.now.IsZero() {
		e.now = time.Now()
	}
	clear(e.query)
	clear(e.headers)
	clear(e.boxedQuery)
	clear(e.boxedHeaders)
	parseQuery(e.query, r.RawQuery)
	for name, values := range r.Header {
		if len(values) == 0 {
			continue
		}
		v := values[0]
		if len(values) > 1 {
			v = strings.Join(values, ", ")
		}
		e.headers[lowerHeader(name)] = v
	}
	e.accept = e.headers["accept"]

	dir, base := splitKey(r.Key)
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	e.setString(u, varKey, r.Key)
	e.setString(u, varDir, dir)
	e.setString(u, varBase, base)
	e.setString(u, varExt, extOf(base))
	e.setString(u, varBucket, r.Bucket)
	e.setString(u, varAccessPoint, r.AccessPoint)
	e.setString(u, varMethod, method)
	e.setString(u, varIP, r.IP)
	if u.has(varNow) {
		e.vars[varNow] = e.now
	} else {
		e.vars[varNow] = time.Time{}
	}
	if u.has(varObject) && r.Object != nil {
		e.vars[varObject] = *r.Object
	} else if u.has(varObject) {
		e.vars[varObject] = ObjectMeta{}
	} else {
		delete(e.vars, varObject)
	}
	if u.has(varImage) && r.Image != nil {
		e.vars[varImage] = *r.Image
	} else if u.has(varImage) {
		e.vars[varImage] = ImageMeta{}
	} else {
		delete(e.vars, varImage)
	}
}

// setString boxes v into the environment when the rule set reads name,
// and otherwise stores a shared empty string so nothing stale remains.
func (e *Env) setString(u uses, name, v string) {
	if v == "" || !u.has(name) {
		e.vars[name] = emptyString
		return
	}
	e.vars[name] = v
}

// header returns headers[name] boxed, "" when absent.
func (e *Env) header(name any) any {
	n, _ := name.(string)
	n = lowerHeaderName(n)
	if v, ok := e.boxedHeaders[n]; ok {
		return v
	}
	v, ok := e.headers[n]
	if !ok || v == "" {
		return emptyString
	}
	var boxed any = v
	e.boxedHeaders[n] = boxed
	return boxed
}

func (e *Env) queryValue(name any) any {
	n, _ := name.(string)
	if v, ok := e.boxedQuery[n]; ok {
		return v
	}
	v, ok := e.query[n]
	if !ok || v == "" {
		return emptyString
	}
	var boxed any = v
	e.boxedQuery[n] = boxed
	return boxed
}

func (e *Env) hasHeader(name any) bool {
	n, _ := name.(string)
	_, ok := e.headers[lowerHeaderName(n)]
	return ok
}

func (e *Env) hasQuery(name any) bool {
	n, _ := name.(string)
	_, ok := e.query[n]
	return ok
}

// lowerHeaderName lower-cases a header name, allocating only when it has
// upper-case letters.
func lowerHeaderName(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

// splitKey returns the key's directory ("" at the top) and last element.
func splitKey(key string) (dir, base string) {
	i := strings.LastIndexByte(key, '/')
	if i < 0 {
		return "", key
	}
	return key[:i], key[i+1:]
}

// extOf is the lower-case extension without the dot.
func extOf(base string) string {
	i := strings.LastIndexByte(base, '.')
	if i < 0 || i == len(base)-1 {
		return ""
	}
	ext := base[i+1:]
	for j := 0; j < len(ext); j++ {
		if c := ext[j]; 'A' <= c && c <= 'Z' {
			return strings.ToLower(ext)
		}
	}
	return ext
}

// parseQuery fills m from a raw query string. The first value of a repeated
// key wins, so a client cannot override an earlier parameter by appending
// another. Unescaping allocates only for escaped strings.
func parseQuery(m map[string]string, raw string) {
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		k, ok1 := unescape(k)
		v, ok2 := unescape(v)
		if !ok1 || !ok2 {
			continue
		}
		if _, seen := m[k]; !seen {
			m[k] = v
		}
	}
}

func unescape(s string) (string, bool) {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s, true
	}
	u, err := url.QueryUnescape(s)
	return u, err == nil
}

// commonHeaders maps canonical header names to their lower-case form, so
// the usual request headers cost no allocation.
var commonHeaders = func() map[string]string {
	m := map[string]string{}
	for _, h := range []string{
		"Accept", "Accept-Encoding", "Accept-Language", "Authorization", "Cache-Control",
		"Connection", "Content-Length", "Content-Type", "Cookie", "Host", "If-Match",
		"If-Modified-Since", "If-None-Match", "If-Range", "If-Unmodified-Since", "Origin",
		"Range", "Referer", "User-Agent", "X-Forwarded-For", "X-Real-Ip", "X-Request-Id",
		"Sec-Fetch-Dest", "Sec-Fetch-Mode", "Sec-Fetch-Site", "Sec-Ch-Ua", "Pragma", "Dnt",
		"Upgrade-Insecure-Requests", "Save-Data", "Dpr", "Viewport-Width", "Width",
	} {
		m[h] = strings.ToLower(h)
	}
	return m
}()

func lowerHeader(name string) string {
	if l, ok := commonHeaders[name]; ok {
		return l
	}
	return strings.ToLower(name)
}

// accepts is true when the Accept header lists mime explicitly with q > 0.
// Wildcards do not count: every browser sends */*, and a client that really
// takes WebP says image/webp.
func (e *Env) accepts(mime string) bool { return acceptsType(e.accept, mime) }

func acceptsType(accept, mime string) bool {
	for accept != "" {
		var part string
		part, accept, _ = strings.Cut(accept, ",")
		mt, params, _ := strings.Cut(part, ";")
		if !strings.EqualFold(strings.TrimSpace(mt), mime) {
			continue
		}
		return qValue(params) > 0
	}
	return false
}

// qValue returns the q parameter of an Accept entry's parameters, 1 when absent.
func qValue(params string) float64 {
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
			q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || q < 0 {
				return 0
			}
			return q
		}
	}
	return 1
}

func (e *Env) glob(pattern string) bool {
	ok, _ := globMatch(pattern, e.key)
	return ok
}

func cidrContains(ip, prefix string) bool {
	addr, err := netip.ParseAddr(strings.TrimSpace(ip))
	if err != nil {
		return false
	}
	p, err := netip.ParsePrefix(prefix)
	if err != nil {
		return false
	}
	return p.Contains(addr.Unmap())
}

// EnvPrefix is the only prefix env() reads, so a rule can never copy a
// credential from the function's environment into a response.
const EnvPrefix = "OPAPRULES_"

func getenv(name string) string {
	if !strings.HasPrefix(name, EnvPrefix) {
		return ""
	}
	return os.Getenv(name)
}
