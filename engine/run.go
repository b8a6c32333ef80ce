package engine

import (
	"context"
	"fmt"
	"net/http"
	"runtime/debug"

	"github.com/opaprules/opaprules/actions"
	"github.com/opaprules/opaprules/rules"
)

// Run applies the plan's steps to obj in order: the same code path for a
// real invocation and for `opaprules dry-run --input`. A client error from
// an action names the rule and the action, so an operator reading a 400 in
// a log knows where to look. A panic inside an action becomes an error; it
// never takes the process down.
func Run(ctx context.Context, plan *rules.Plan, obj *actions.Object) error {
	for _, s := range plan.Steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := runStep(ctx, s, obj); err != nil {
			return err
		}
	}
	return nil
}

func runStep(ctx context.Context, s rules.PlanStep, obj *actions.Object) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Where: fmt.Sprintf("rule %q: %s", s.Rule, s.Name), Value: r, Stack: debug.Stack()}
		}
	}()
	err = s.Action.Apply(ctx, obj)
	if e, ok := actions.AsError(err); ok && s.Class != actions.Terminal && e.Status < http.StatusInternalServerError {
		named := *e
		named.Message = fmt.Sprintf("rule %q: %s: %s", s.Rule, s.Name, e.Message)
		return &named
	}
	return err
}

// PanicError is a recovered panic, kept with its stack for the log.
type PanicError struct {
	Where string
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("panic in %s: %v", e.Where, e.Value) }
