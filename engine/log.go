package engine

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/opaprules/opaprules/actions"
)

// requestLog gathers the one log line each invocation ends with: enough to
// answer "why did this client get that" without turning on more logging.
//
// The request's goroutine and the watchdog both write to it, so every
// write goes through set or stage.
type requestLog struct {
	mu        sync.Mutex
	start     time.Time
	requestID string
	// fcRequestID is Function Compute's id of the invocation (fccontext's
	// RequestID, the custom runtime's x-fc-request-id): the key FC's own
	// logs and metrics use, where request_id is the one OSS gave the
	// client.
	fcRequestID string
	accessPoint string
	key         string
	rules       []string
	actions     []string
	status      int
	code        string
	bytesIn     int64
	bytesOut    int64
	stages      []slog.Attr
	failure     error
	panicked    *PanicError
	// fallback says why settings.fallback answered; "" when it did not.
	fallback string
}

func (l *requestLog) stage(name string, since time.Time) {
	l.set(func(l *requestLog) {
		l.stages = append(l.stages, slog.Float64(name, float64(time.Since(since).Microseconds())/1000))
	})
}

func (l *requestLog) set(f func(*requestLog)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f(l)
}

func (l *requestLog) emit(log *slog.Logger, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	level := slog.LevelInfo
	attrs := []slog.Attr{
		slog.String("request_id", l.requestID),
		slog.String("access_point", l.accessPoint),
		slog.String("key", l.key),
		slog.Any("rules", nonNil(l.rules)),
		slog.Any("actions", nonNil(l.actions)),
		slog.Int("status", l.status),
		slog.Int64("bytes_in", l.bytesIn),
		slog.Int64("bytes_out", l.bytesOut),
		slog.Float64("ms", float64(time.Since(l.start).Microseconds())/1000),
		slog.Any("stage_ms", slog.GroupValue(l.stages...)),
	}
	if l.fcRequestID != "" && l.fcRequestID != l.requestID {
		attrs = append(attrs, slog.String("fc_request_id", l.fcRequestID))
	}
	if l.code != "" {
		attrs = append(attrs, slog.String("code", l.code))
	}
	if l.fallback != "" {
		attrs = append(attrs, slog.String("fallback", l.fallback))
	}
	if l.failure != nil {
		attrs = append(attrs, slog.String("cause", causeOf(l.failure)))
		if e, ok := actions.AsError(l.failure); !ok || e.Status >= 500 {
			level = slog.LevelError
		}
	}
	if l.panicked != nil {
		level = slog.LevelError
		attrs = append(attrs, slog.String("panic", l.panicked.Error()), slog.String("stack", string(l.panicked.Stack)))
	}
	if err != nil {
		level = slog.LevelError
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	log.LogAttrs(nil, level, "request", attrs...)
}

// causeOf is the full error for the log, panics with their stack.
func causeOf(err error) string {
	var pe *PanicError
	if errors.As(err, &pe) {
		return pe.Error() + "\n" + string(pe.Stack)
	}
	return err.Error()
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

type fcRequestIDKey struct{}

// WithFCRequestID returns ctx carrying Function Compute's id of the
// invocation, which Handler.Invoke writes into its log line as
// fc_request_id.
func WithFCRequestID(ctx context.Context, id string) context.Context {
	if id == "" {
		return ctx
	}
	return context.WithValue(ctx, fcRequestIDKey{}, id)
}

func fcRequestID(ctx context.Context) string {
	id, _ := ctx.Value(fcRequestIDKey{}).(string)
	return id
}
