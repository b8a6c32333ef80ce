package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aliyun/fc-runtime-go-sdk/fc"
	"github.com/aliyun/fc-runtime-go-sdk/fccontext"

	"github.com/opaprules/opaprules/actions"
	"github.com/opaprules/opaprules/rules"
)

// Environment variables the function reads.
const (
	EnvRules       = "OPAPRULES_RULES"        // a rules file overriding the embedded one
	EnvBucket      = "OPAPRULES_BUCKET"       // bucket for reads without inputOssUrl, and watermark images
	EnvEndpoint    = "OPAPRULES_ENDPOINT"     // OSS endpoint, e.g. https://oss-cn-hangzhou-internal.aliyuncs.com
	EnvRegion      = "OPAPRULES_REGION"       // signing region; default: the function's region
	EnvRouteScheme = "OPAPRULES_ROUTE_SCHEME" // scheme for outputRoute, default http (DefaultRouteScheme)
	EnvLogEvent    = "OPAPRULES_LOG_EVENT"    // 1: log each raw event, secrets masked
	EnvAccessPoint = "OPAPRULES_ACCESS_POINT" // the access point direct HTTP requests count as
)

// DefaultRouteScheme is how Function Compute reaches outputRoute unless
// OPAPRULES_ROUTE_SCHEME says otherwise. Every official sample reaches it
// over http: oss2 turns a bare endpoint into http:// (api.py,
// _normalize_endpoint), the Java SDK's ClientConfiguration defaults to
// Protocol.HTTP and builds the route's URI with it
// (OSSObjectOperation.writeGetObjectResponse), and the Go v1 SDK gives a
// bare endpoint, as Alibaba's Go sample passes the route, the http scheme
// (conn.go, urlMaker.InitExt). Only the v2 SDKs default to https.
const DefaultRouteScheme = "http"

// LoadRules loads OPAPRULES_RULES when set, else the embedded rules.
func LoadRules(embedded []byte) (*rules.RuleSet, error) {
	if path := os.Getenv(EnvRules); path != "" {
		return rules.LoadFile(path)
	}
	return rules.Load("rules.yaml (embedded)", embedded)
}

// Instance is what Function Compute tells an invocation about the instance
// it runs on: the go1 runtime through fccontext, a custom runtime through
// the x-fc-* request headers.
type Instance struct {
	Region   string // x-fc-region
	MemoryMB string // x-fc-function-memory, in MB
}

// Function is the state one Function Compute instance keeps across
// invocations, shared by both FC front doors (go1 and the custom-runtime
// server): the compiled rules, and one Handler (with its connection pool
// to OSS) built when the first invocation brings the region. It is safe
// for concurrent use.
type Function struct {
	Rules  *rules.RuleSet
	Logger *slog.Logger
	// HTTPClient, when set, replaces the Handler's default client (tests).
	HTTPClient *http.Client

	warm       sync.Once
	warmErr    error
	build      sync.Once
	handler    *Handler
	handlerErr error
}

// NewFunction loads the rules (OPAPRULES_RULES, else the embedded ones)
// and logs why they do not load.
func NewFunction(embeddedRules []byte, logger *slog.Logger) (*Function, error) {
	rs, err := LoadRules(embeddedRules)
	if err != nil {
		logger.Error("rules do not load", "error", err.Error())
		return nil, err
	}
	return &Function{Rules: rs, Logger: logger}, nil
}

// Initialize runs the one-time work of the rules' actions (compiling
// WebAssembly codecs), so it lands on instance start-up instead of on a
// client. Function Compute calls the initializer once per instance; a
// second call waits for the first and repeats nothing.
func (f *Function) Initialize() error {
	f.warm.Do(func() {
		t := time.Now()
		f.warmErr = Warm(f.Rules)
		f.Logger.Info("initializer", "warm_ms", time.Since(t).Milliseconds(), "errors", fmt.Sprint(f.warmErr))
	})
	return f.warmErr
}

// Handler returns the instance's Handler, building it with the first
// caller's Instance: the region and memory do not change within an
// instance.
func (f *Function) Handler(inst Instance) (*Handler, error) {
	f.build.Do(func() {
		if limit := memoryLimit(inst.MemoryMB, os.Getenv("GOMEMLIMIT")); limit > 0 {
			debug.SetMemoryLimit(limit)
			f.Logger.Info("memory limit", "bytes", limit)
		}
		f.handler, f.handlerErr = New(Config{
			Rules:       f.Rules,
			Logger:      f.Logger,
			Bucket:      os.Getenv(EnvBucket),
			Endpoint:    os.Getenv(EnvEndpoint),
			Region:      cmp.Or(os.Getenv(EnvRegion), inst.Region),
			RouteScheme: cmp.Or(os.Getenv(EnvRouteScheme), DefaultRouteScheme),
			HTTPClient:  f.HTTPClient,
			LogEvent:    os.Getenv(EnvLogEvent) == "1",
			// Rules scoped with access_points see direct requests as
			// coming through this one.
			HTTPAccessPoint: os.Getenv(EnvAccessPoint),
		})
	})
	return f.handler, f.handlerErr
}

// Invoke answers one event with the instance's Handler.
func (f *Function) Invoke(ctx context.Context, event []byte, creds Credentials, inst Instance) error {
	h, err := f.Handler(inst)
	if err != nil {
		return err
	}
	return h.Invoke(ctx, event, creds)
}

// ServeHTTP answers a client's direct request (HTTP trigger, custom
// domain) with the instance's Handler.
func (f *Function) ServeHTTP(ctx context.Context, w http.ResponseWriter, r *http.Request, creds Credentials, inst Instance) error {
	h, err := f.Handler(inst)
	if err != nil {
		http.Error(w, "the function cannot start: see its log", http.StatusInternalServerError)
		return err
	}
	return h.ServeHTTP(ctx, w, r, creds, r.Header.Get("x-fc-request-id"))
}

// StartFC serves Function Compute invocations in the go1 runtime until the
// process ends. The rules compile once, before the first invocation; the
// FC initializer warms the codecs.
func StartFC(embeddedRules []byte) error {
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	f, err := NewFunction(embeddedRules, logger)
	if err != nil {
		return err
	}
	fc.RegisterInitializerFunction(func(ctx context.Context) { _ = f.Initialize() })
	fc.Start(func(ctx context.Context, event []byte) (string, error) {
		var (
			creds Credentials
			inst  Instance
		)
		if fcc, _ := fccontext.FromContext(ctx); fcc != nil {
			creds = Credentials{fcc.Credentials.AccessKeyId, fcc.Credentials.AccessKeySecret, fcc.Credentials.SecurityToken}
			inst = Instance{Region: fcc.Region, MemoryMB: fcc.Function.Memory}
			ctx = WithFCRequestID(ctx, fcc.RequestID)
		}
		return "", f.Invoke(ctx, event, creds, inst)
	})
	return nil
}

// Warm runs the one-time work of every action the rules can use (compiling
// WebAssembly codecs), returning what failed.
func Warm(rs *rules.RuleSet) error {
	var errs []error
	for _, r := range rs.Rules {
		for _, s := range r.Steps {
			if w, ok := s.Literal().(actions.Warmer); ok {
				if err := w.Warm(); err != nil {
					errs = append(errs, fmt.Errorf("rule %q: %s: %w", r.Name, s.Name, err))
				}
			}
		}
	}
	return errors.Join(errs...)
}

// memoryLimit is the soft limit for the Go heap on an instance of memoryMB
// megabytes: 85% of it, so the collector works harder before the instance
// is killed for memory. An operator's GOMEMLIMIT wins.
func memoryLimit(memoryMB, gomemlimit string) int64 {
	if gomemlimit != "" {
		return 0
	}
	mb, err := strconv.ParseInt(strings.TrimSpace(memoryMB), 10, 64)
	if err != nil || mb <= 0 {
		return 0
	}
	return mb << 20 * 85 / 100
}
