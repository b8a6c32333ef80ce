// Package playground is the page `opaprules serve` offers at /-/playground:
// a rules editor validated as you type, a request form, and for each run
// the trace, the plan with its parameters resolved, the response, and the
// original and the result side by side. Behind the page is a small JSON
// API under /-/api/. A run goes through engine.Handler.RunLocal, the entry
// dry-run and rule tests use, with the rules in the editor compiled for
// that run alone: what serve answers real clients never changes.
//
// Everything the page needs is embedded; it loads nothing from elsewhere.
package playground

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/opaprules/opaprules/rules"
)

// Prefix is the path prefix reserved for serve's own pages.
const Prefix = "/-/"

// Bounds on what the API reads and keeps.
const (
	// maxBody bounds a request to the API: the rules (at most
	// rules.MaxFileSize, which JSON's escapes can at most double) and a
	// request form.
	maxBody = 2*rules.MaxFileSize + 64<<10
	// maxResult is the largest result body kept for the page to show;
	// a larger one is counted, and only its start kept.
	maxResult = 16 << 20
	// maxResults bounds the memory all kept results take together; the
	// oldest go first.
	maxResults = 64 << 20
	// resultTTL is how long a result stays fetchable.
	resultTTL = 10 * time.Minute
	// maxText is how much of a text body the page is sent inline.
	maxText = 64 << 10
	// maxObjects bounds the object picker's list.
	maxObjects = 2000
	// concurrentRuns bounds the runs in flight; more wait their turn.
	concurrentRuns = 2
)

// Config is what the playground needs from serve.
type Config struct {
	// Rules are the rules serve loaded: what the editor starts with.
	Rules []byte
	// RulesName names them in diagnostics: a path, or "rules.yaml
	// (embedded)".
	RulesName string
	// RulesFile is the file Save writes; "" when serve runs on the
	// embedded rules, which have no file to write back to.
	RulesFile string
	// Writable allows Save (serve --playground-write).
	Writable bool
	// Origin holds the objects, as serve's origin does; OriginName says
	// what it is (a folder, the bundled samples).
	Origin     fs.FS
	OriginName string
	// Bucket and AccessPoint are what serve's requests carry when the
	// Host names no alias; the form starts with that access point.
	Bucket      string
	AccessPoint string
	// AliasPath is the path-style prefix of the default access point's
	// alias ("/local-…-opapalias"), for the note on reserved paths.
	AliasPath string
	// Timeout bounds a run, like serve's function timeout.
	Timeout time.Duration
	Logger  *slog.Logger
	// Now is the clock results expire by (default time.Now).
	Now func() time.Time
}

// Server serves the page and its API. It is safe for concurrent use.
type Server struct {
	cfg     Config
	mux     *http.ServeMux
	handler http.Handler
	results *resultStore
	runs    chan struct{}
	// saveMu orders saves of the rules file.
	saveMu sync.Mutex
}

// New checks cfg and returns the playground.
func New(cfg Config) (*Server, error) {
	if cfg.Origin == nil {
		return nil, errors.New("playground: no origin")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.RulesName == "" {
		cfg.RulesName = "rules.yaml"
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux(), runs: make(chan struct{}, concurrentRuns)}
	s.results = newResultStore(maxResults, resultTTL, cfg.Now)
	s.routePage()
	s.mux.HandleFunc("GET /-/api/rules", s.getRules)
	s.mux.HandleFunc("PUT /-/api/rules", s.saveRules)
	s.mux.HandleFunc("POST /-/api/validate", s.validate)
	s.mux.HandleFunc("POST /-/api/run", s.run)
	s.mux.HandleFunc("GET /-/api/objects", s.listObjects)
	s.mux.HandleFunc("GET /-/api/objects/{key...}", s.getObject)
	s.mux.HandleFunc("GET /-/api/results/{id}", s.getResult)
	s.mux.HandleFunc("/-/api/", func(w http.ResponseWriter, r *http.Request) {
		if allow := allowed(r.URL.Path); allow != "" {
			w.Header().Set("Allow", allow)
			apiError(w, http.StatusMethodNotAllowed, r.Method+" is not allowed here: "+allow)
			return
		}
		apiError(w, http.StatusNotFound, "no such API: see docs/commands.md (serve, the playground's API)")
	})
	s.mux.HandleFunc("/", s.reserved)

	// Cross-site requests cannot save or run: a page elsewhere in the
	// browser could otherwise write the rules file.
	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		apiError(w, http.StatusForbidden, "cross-origin requests to the playground are refused")
	}))
	s.handler = csrf.Handler(s.mux)
	return s, nil
}

// ServeHTTP serves the paths under Prefix.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	if !localHost(r.Host) {
		// A name that is not localhost could be a DNS name rebound to
		// this address by a page the browser visits.
		apiError(w, http.StatusMisdirectedRequest, "the playground answers on an IP address or localhost only")
		return
	}
	s.handler.ServeHTTP(w, r)
}

// allowed lists the methods of an API path, "" for an unknown path.
func allowed(p string) string {
	switch {
	case p == "/-/api/rules":
		return "GET, HEAD, PUT"
	case p == "/-/api/validate", p == "/-/api/run":
		return "POST"
	case p == "/-/api/objects", strings.HasPrefix(p, "/-/api/objects/"), strings.HasPrefix(p, "/-/api/results/"):
		return "GET, HEAD"
	}
	return ""
}

// localHost reports whether host is an IP literal or localhost.
func localHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.ToLower(strings.Trim(host, "[]"))
	return net.ParseIP(host) != nil || host == "localhost" || strings.HasSuffix(host, ".localhost")
}

// reserved answers any other path under Prefix the way OSS answers a
// client, naming the way to the object such a key would be.
func (s *Server) reserved(w http.ResponseWriter, r *http.Request) {
	msg := "The prefix /-/ of this address is reserved for the pages of opaprules serve (the playground is at /-/playground)."
	if s.cfg.AliasPath != "" {
		msg += " An object whose key starts with -/ is read through the access point's alias: " + s.cfg.AliasPath + r.URL.Path + "."
	}
	body, _ := xml.MarshalIndent(struct {
		XMLName xml.Name `xml:"Error"`
		Code    string   `xml:"Code"`
		Message string   `xml:"Message"`
	}{Code: "ReservedPrefix", Message: msg}, "", "  ")
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write(append([]byte(xml.Header), body...))
}

// apiError answers a JSON error: {"error": message}.
func apiError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// OriginHasReservedPrefix reports whether the origin has keys under -/,
// which serve's plain address cannot reach by path (see Prefix).
func (s *Server) OriginHasReservedPrefix() bool {
	st, err := fs.Stat(s.cfg.Origin, "-")
	return err == nil && st.IsDir()
}
