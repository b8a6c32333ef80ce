package cli

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/opaprules/opaprules/localoss"
	"github.com/opaprules/opaprules/playground"
)

type pgOptions struct {
	rulesName   string
	rules       []byte
	embedded    bool
	writable    bool
	originName  string
	accessPoint string
	timeout     time.Duration
	logger      *slog.Logger
}

// newPlayground makes serve's playground over the same origin and rules.
func newPlayground(srv *localoss.Server, o pgOptions) (*playground.Server, error) {
	cfg := playground.Config{
		Rules: o.rules, RulesName: o.rulesName, Writable: o.writable,
		Origin: srv.Origin(), OriginName: o.originName, Bucket: localoss.DefaultBucket,
		AccessPoint: o.accessPoint, AliasPath: "/" + srv.Alias(o.accessPoint),
		Timeout: o.timeout, Logger: o.logger,
	}
	if !o.embedded {
		cfg.RulesFile = o.rulesName
	}
	return playground.New(cfg)
}

// mountPlayground routes the paths under /-/ of serve's plain address to
// the playground, and everything else, including /-/ on a host that names
// the bucket or an alias, to the local OSS server.
func mountPlayground(srv *localoss.Server, pg *playground.Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, playground.Prefix) && !srv.VirtualHosted(r.Host) {
			pg.ServeHTTP(w, r)
			return
		}
		srv.ServeHTTP(w, r)
	})
}

// playgroundMode says in serve's start-up lines whether Save can write.
func playgroundMode(name string, embedded, writable bool) string {
	switch {
	case embedded:
		return "embedded rules: nothing to save to"
	case writable:
		return "Save writes " + name
	}
	return "read-only; --playground-write lets Save write " + name
}
