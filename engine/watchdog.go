package engine

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/opaprules/opaprules/actions"
)

// watchdog answers for a request that ran out of time.
type watchdog struct {
	out    *responder
	cancel context.CancelFunc
	answer func()
	once   sync.Once
	fired  chan struct{}
}

// arm makes the watchdog fire after d; the returned func disarms it.
func (w *watchdog) arm(d time.Duration) func() {
	t := time.AfterFunc(max(d, 0), w.fire)
	return func() { t.Stop() }
}

func (w *watchdog) fire() {
	if !w.out.claim() {
		return
	}
	w.cancel()
	w.answer()
	w.once.Do(func() { close(w.fired) })
}

// asTimeout reports a request whose context ran out as a 503 RequestTimeout.
func asTimeout(err error, ctx context.Context) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return &actions.Error{Status: 503, Code: actions.CodeRequestTimeout, Message: "the transformation did not finish in time; retry later", Cause: err}
	}
	return err
}
