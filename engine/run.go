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

func runStep(ctx context.Context, s rules.PlanStep, obj *actions.Object) error {
	err := safely(s, func() error { return s.Action.Apply(ctx, obj) })
	if e, ok := actions.AsError(err); ok && s.Class != actions.Terminal && e.Status < http.StatusInternalServerError {
		named := *e
		named.Message = fmt.Sprintf("rule %q: %s: %s", s.Rule, s.Name, e.Message)
		return &named
	}
	return err
}

// Implied returns the status and headers a plan implies without the
// object: what deny, redirect and headers set, and what transform actions
// predict (convert's Content-Type), on top of the origin's headers. Local
// runs without an original (dry-run without --input, rule tests) answer
// with it. Like Run, it names the rule and action in a client error and
// turns a panic into an error.
func Implied(plan *rules.Plan, req *actions.Request, origin http.Header) (int, http.Header, error) {
	obj := actions.NewObject(req, nil, -1, origin.Clone(), plan.Limits)
	for _, s := range plan.Steps {
		if s.Class != actions.Transform {
			if err := runStep(context.Background(), s, obj); err != nil {
				return 0, nil, err
			}
			continue
		}
		if pr, ok := s.Action.(actions.Predictor); ok {
			if err := safely(s, func() error { pr.Predict(obj); return nil }); err != nil {
				return 0, nil, err
			}
		}
	}
	return obj.Status, obj.Header, nil
}

// safely runs f, a part of step s, turning a panic into an error.
func safely(s rules.PlanStep, f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Where: fmt.Sprintf("rule %q: %s", s.Rule, s.Name), Value: r, Stack: debug.Stack()}
		}
	}()
	return f()
}

// PanicError is a recovered panic, kept with its stack for the log.
type PanicError struct {
	Where string
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("panic in %s: %v", e.Where, e.Value) }
