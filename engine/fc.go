package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
	EnvRouteScheme = "OPAPRULES_ROUTE_SCHEME" // scheme for outputRoute, default https
	EnvLogEvent    = "OPAPRULES_LOG_EVENT"    // 1: log each raw event, secrets masked
)

// LoadRules loads OPAPRULES_RULES when set, else the embedded rules.
func LoadRules(embedded []byte) (*rules.RuleSet, error) {
	if path := os.Getenv(EnvRules); path != "" {
		return rules.LoadFile(path)
	}
	return rules.Load("rules.yaml (embedded)", embedded)
}

// StartFC serves Function Compute invocations until the process ends. The
// rules compile once, before the first invocation; codecs that the rules
// can use are warmed in the FC initializer, so their compile time lands on
// instance start-up instead of on a client.
func StartFC(embeddedRules []byte) error {
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	rs, err := LoadRules(embeddedRules)
	if err != nil {
		logger.Error("rules do not load", "error", err.Error())
		return err
	}
	// The region comes with the first invocation's context, so the handler
	// is built then, once.
	var (
		once   sync.Once
		h      *Handler
		newErr error
	)
	fc.RegisterInitializerFunction(func(ctx context.Context) {
		t := time.Now()
		errs := Warm(rs)
		logger.Info("initializer", "warm_ms", time.Since(t).Milliseconds(), "errors", fmt.Sprint(errs))
	})
	fc.Start(func(ctx context.Context, event []byte) (string, error) {
		fcc, _ := fccontext.FromContext(ctx)
		once.Do(func() { h, newErr = newFCHandler(rs, logger, fcc) })
		if newErr != nil {
			return "", newErr
		}
		var creds Credentials
		if fcc != nil {
			creds = Credentials{fcc.Credentials.AccessKeyId, fcc.Credentials.AccessKeySecret, fcc.Credentials.SecurityToken}
		}
		if err := h.Invoke(ctx, event, creds); err != nil {
			return "", err
		}
		return "", nil
	})
	return nil
}

func newFCHandler(rs *rules.RuleSet, logger *slog.Logger, fcc *fccontext.FcContext) (*Handler, error) {
	region := os.Getenv(EnvRegion)
	if region == "" && fcc != nil {
		region = fcc.Region
	}
	if fcc != nil {
		if limit := memoryLimit(fcc.Function.Memory, os.Getenv("GOMEMLIMIT")); limit > 0 {
			debug.SetMemoryLimit(limit)
			logger.Info("memory limit", "bytes", limit)
		}
	}
	return New(Config{
		Rules:       rs,
		Logger:      logger,
		Bucket:      os.Getenv(EnvBucket),
		Endpoint:    os.Getenv(EnvEndpoint),
		Region:      region,
		RouteScheme: os.Getenv(EnvRouteScheme),
		LogEvent:    os.Getenv(EnvLogEvent) == "1",
	})
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
