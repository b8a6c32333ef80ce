package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/opaprules/opaprules/actions"
	"github.com/opaprules/opaprules/engine"
	"github.com/opaprules/opaprules/localoss"
	"github.com/opaprules/opaprules/rules"
)

// DefaultAccessPoint is the access point serve plays when a request's Host
// is not an alias.
const DefaultAccessPoint = "local"

func runServe(env *Env, args []string) int {
	s, code := setupServe(env, args)
	if s == nil {
		return code
	}
	defer s.srv.Close()
	if limit := serveMemoryLimit(s.rules.Limits.MemoryBudget, env.Getenv("GOMEMLIMIT")); limit > 0 {
		debug.SetMemoryLimit(limit)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.hs.Shutdown(shutdown)
	}()
	if err := s.hs.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(env.Stderr, "opaprules serve: %v\n", err)
		return ExitFail
	}
	return ExitOK
}

// served is a configured serve, listening but not yet serving: tests
// drive it exactly as the command does.
type served struct {
	ln    net.Listener
	hs    *http.Server
	srv   *localoss.Server
	rules *rules.RuleSet
}

// serveMemoryOverhead is what serve's process holds besides the image
// memory memory_budget accounts for: the runtime, the binary, the local
// OSS server, connections and small requests.
const serveMemoryOverhead = 128 << 20

// serveMemoryLimit is the Go heap's soft limit for serve: memory_budget
// plus serveMemoryOverhead, so the collector reclaims a finished decode's
// garbage before the heap grows past what the budget admits (with GOGC
// alone the heap may double its live size first). Function Compute gets
// 85% of the instance instead (engine.memoryLimit). An operator's
// GOMEMLIMIT wins.
func serveMemoryLimit(budget actions.ByteSize, gomemlimit string) int64 {
	if gomemlimit != "" || budget <= 0 {
		return 0
	}
	return int64(budget) + serveMemoryOverhead
}

// setupServe parses serve's flags, loads the rules and builds the server.
// On failure it has printed why and returns the exit code.
func setupServe(env *Env, args []string) (*served, int) {
	fs := newFlags(env, "serve", "[--rules FILE] [--origin DIR] [--addr 127.0.0.1:8080] [--access-point NAME] [--access-key-id ID --access-key-secret SECRET] [--playground-write]")
	rulesFile := fs.String("rules", "", "rules file (default ./rules.yaml, else the embedded one)")
	originDir := fs.String("origin", "", "folder playing the bucket: the path below it is the object key (default: the bundled samples)")
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	ap := fs.String("access-point", DefaultAccessPoint, "access point for requests whose Host is not an alias")
	akID := fs.String("access-key-id", "", "require clients to sign requests (V1 or V4) with this key")
	akSecret := fs.String("access-key-secret", "", "secret of --access-key-id")
	timeout := fs.Duration("timeout", 30*time.Second, "function timeout, as configured in Function Compute")
	pgWrite := fs.Bool("playground-write", false, "let the playground's Save write the rules file back (read-only by default)")
	if _, err := parseInterspersed(fs, args); err != nil {
		return nil, usageError(env, fs, err)
	}
	if (*akID == "") != (*akSecret == "") {
		return nil, usageError(env, fs, errors.New("--access-key-id and --access-key-secret go together"))
	}
	name, data, err := rulesSource(env, *rulesFile)
	if err != nil {
		fmt.Fprintf(env.Stderr, "opaprules serve: %v\n", unwrapPathError(err))
		return nil, ExitFail
	}
	rs, err := rules.Load(name, data)
	if err != nil {
		fmt.Fprintln(env.Stderr, err)
		return nil, ExitFail
	}
	logger := slog.New(slog.NewJSONHandler(env.Stderr, nil))

	// The handler signs WriteGetObjectResponse like in production; without
	// client keys, serve makes up a key pair for that leg only.
	id, secret, clientAuth := *akID, *akSecret, *akID != ""
	if !clientAuth {
		id, secret = "LTAIlocal"+randomHex(8), randomHex(16)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(env.Stderr, "opaprules serve: %v\n", err)
		return nil, ExitFail
	}
	endpoint := ln.Addr().String()
	h, err := engine.New(engine.Config{
		Rules: rs, Logger: logger, Bucket: localoss.DefaultBucket, Endpoint: "http://" + endpoint,
		Region: localoss.DefaultRegion, RouteScheme: "http",
		LogEvent: env.Getenv(engine.EnvLogEvent) == "1",
	})
	if err != nil {
		fmt.Fprintf(env.Stderr, "opaprules serve: %v\n", err)
		return nil, ExitFail
	}
	creds := engine.Credentials{AccessKeyID: id, AccessKeySecret: secret}
	cfg := localoss.Config{
		AccessKeyID: id, AccessKeySecret: secret, RequireClientAuth: clientAuth,
		DefaultAccessPoint: *ap, Logger: logger, ForwardedFor: true, InvokeTimeout: *timeout + 5*time.Second,
		Invoke: func(ctx context.Context, event []byte) error {
			ctx, cancel := context.WithTimeout(ctx, *timeout)
			defer cancel()
			return h.Invoke(ctx, event, creds)
		},
	}
	origin := *originDir
	if origin != "" {
		cfg.Dir = origin
	} else {
		cfg.FS = env.Samples
		origin = "(bundled samples)"
	}
	srv, err := localoss.New(cfg)
	if err != nil {
		fmt.Fprintf(env.Stderr, "opaprules serve: %v\n", err)
		return nil, ExitFail
	}
	pg, err := newPlayground(srv, pgOptions{
		rulesName: name, rules: data, embedded: name == embeddedRulesName, writable: *pgWrite,
		originName: origin, accessPoint: *ap, timeout: *timeout, logger: logger,
	})
	if err != nil {
		srv.Close()
		fmt.Fprintf(env.Stderr, "opaprules serve: %v\n", err)
		return nil, ExitFail
	}
	hs := newHTTPServer(mountPlayground(srv, pg))
	fmt.Fprintf(env.Stderr, "opaprules serve: %s on http://%s, rules %s (%d rules), access point %q (alias %s)\n",
		origin, endpoint, name, len(rs.Rules), *ap, srv.Alias(*ap))
	fmt.Fprintf(env.Stderr, "playground: http://%s/-/playground (%s)\n", endpoint, playgroundMode(name, name == embeddedRulesName, *pgWrite))
	if pg.OriginHasReservedPrefix() {
		fmt.Fprintf(env.Stderr, "note: the origin has keys under -/, a prefix serve keeps for its own pages: read them through the alias, http://%s/%s/-/...\n", endpoint, srv.Alias(*ap))
	}
	for _, key := range rs.SignedKeys() {
		if env.Getenv(key) == "" {
			fmt.Fprintf(env.Stderr, "note: the rules call signed(%q) but %s is not set: every signed URL is refused (403). Set it in serve's environment, e.g. %s=$(head -c 32 /dev/urandom | base64) opaprules serve; sign URLs with opaprules sign --key-env %s\n", key, key, key, key)
		}
	}
	if env.Samples != nil && *originDir == "" {
		printSamples(env, endpoint)
	}
	return &served{ln: ln, hs: hs, srv: srv, rules: rs}, ExitOK
}

// Connection limits of serve's HTTP server, like a production front end's
// (issue #10, finding 9: an idle keep-alive connection stayed open for
// good). There is no overall read or write timeout: a response, and the
// WriteGetObjectResponse body the handler uploads to this same server,
// stream for as long as the transformation produces bytes, which the
// function's own timeout bounds. Request bodies are read only by
// WriteGetObjectResponse and the playground API (which caps their size).
const (
	serveReadHeaderTimeout = 10 * time.Second
	serveIdleTimeout       = 60 * time.Second
	serveMaxHeaderBytes    = 64 << 10
)

func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: serveReadHeaderTimeout,
		IdleTimeout:       serveIdleTimeout,
		MaxHeaderBytes:    serveMaxHeaderBytes,
	}
}

// printSamples shows requests that exercise the default rules on the
// bundled samples.
func printSamples(env *Env, endpoint string) {
	fmt.Fprintln(env.Stderr, "try:")
	for _, r := range []struct{ path, what string }{
		{"photos/landscape.jpg?w=400", "thumbnail with a credit line (add -H 'Accept: image/webp' for WebP)"},
		{"photos/portrait-exif-rotated.jpg?w=200", "EXIF rotation applied, metadata stripped"},
		{"animations/bounce.gif?w=120", "every frame resized"},
		{"exports/customers.csv", "personal data masked"},
		{"private/payroll.txt", "refused with an OSS XML error"},
		{"docs/readme.txt?download=1", "passthrough with a download name"},
	} {
		if _, err := fs.Stat(env.Samples, strings.SplitN(r.path, "?", 2)[0]); err != nil {
			continue
		}
		fmt.Fprintf(env.Stderr, "  curl -sSi 'http://%s/%s'   # %s\n", endpoint, r.path, r.what)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
