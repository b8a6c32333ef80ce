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

// Request is what rules are evaluated against: the client's GetObject as
// the handler decoded it from the FC event (or dry-run from its flags).
type Request struct {
	Key      string
	RawQuery string
	// Header holds the client's request headers.
	Header http.Header
	Method string
	Bucket string
	// AccessPoint is the access point's name ("media"); AccessPointAlias its
	// full alias ("media-a1b2c3-opapalias"). access_points: matches either.
	AccessPoint      string
	AccessPointAlias string
	IP               string
	// Now is the request time; zero means time.Now().
	Now time.Time
	// Object is the origin object's metadata, nil when it was not fetched
	// (RuleSet.ReadsObject says when it is needed).
	Object *ObjectMeta
}

// ObjectMeta is the origin object's metadata, `object` in expressions.
type ObjectMeta struct {
	Size         int64             `expr:"size"`
	ContentType  string            `expr:"content_type"`
	ETag         string            `expr:"etag"`
	LastModified time.Time         `expr:"last_modified"`
	Meta         map[string]string `expr:"meta"`
}

// Env is the environment `when` conditions and `${ }` templates see. Its
// helper functions are fields rather than methods: expr calls a func field
// of a known signature directly, while a method goes through reflection and
// allocates on every call.
type Env struct {
	Key         string            `expr:"key"`
	Dir         string            `expr:"dir"`
	Base        string            `expr:"base"`
	Ext         string            `expr:"ext"`
	Bucket      string            `expr:"bucket"`
	AccessPoint string            `expr:"access_point"`
	Method      string            `expr:"method"`
	Query       map[string]string `expr:"query"`
	Headers     map[string]string `expr:"headers"`
	IP          string            `expr:"ip"`
	Now         time.Time         `expr:"now"`
	Object      ObjectMeta        `expr:"object"`

	Accepts func(mime string) bool       `expr:"accepts"`
	Glob    func(pattern string) bool    `expr:"glob"`
	CIDR    func(ip, prefix string) bool `expr:"cidr"`
	Getenv  func(name string) string     `expr:"env"`
	Signed  func(keyEnv string) bool     `expr:"signed"`

	accept   string
	rawQuery string
}

// envPool recycles environments with their maps and bound helpers, so
// evaluating a request allocates almost nothing.
var envPool = sync.Pool{New: func() any { return newEnv() }}

func newEnv() *Env {
	e := &Env{Query: make(map[string]string, 8), Headers: make(map[string]string, 16)}
	e.Accepts = e.accepts
	e.Glob = e.glob
	e.Signed = e.signed
	e.CIDR = cidrContains
	e.Getenv = getenv
	return e
}

func acquireEnv(r *Request) *Env {
	e := envPool.Get().(*Env)
	e.fill(r)
	return e
}

func releaseEnv(e *Env) {
	e.Object = ObjectMeta{}
	envPool.Put(e)
}

func (e *Env) fill(r *Request) {
	e.Key = r.Key
	e.Dir, e.Base = splitKey(r.Key)
	e.Ext = extOf(e.Base)
	e.Bucket = r.Bucket
	e.AccessPoint = r.AccessPoint
	e.Method = r.Method
	if e.Method == "" {
		e.Method = http.MethodGet
	}
	e.IP = r.IP
	e.Now = r.Now
	if e.Now.IsZero() {
		e.Now = time.Now()
	}
	e.rawQuery = r.RawQuery
	clear(e.Query)
	parseQuery(e.Query, r.RawQuery)
	clear(e.Headers)
	for name, values := range r.Header {
		if len(values) == 0 {
			continue
		}
		v := values[0]
		if len(values) > 1 {
			v = strings.Join(values, ", ")
		}
		e.Headers[lowerHeader(name)] = v
	}
	e.accept = e.Headers["accept"]
	if r.Object != nil {
		e.Object = *r.Object
	} else {
		e.Object = ObjectMeta{}
	}
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
	ok, _ := globMatch(pattern, e.Key)
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
