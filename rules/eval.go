package rules

import (
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/expr-lang/expr/vm"

	"github.com/opaprules/opaprules/actions"
)

// Plan is what runs for one request: the actions of every matching rule,
// in file order, with their parameters resolved.
type Plan struct {
	// Rules names the rules that matched, in order.
	Rules []string
	Steps []PlanStep
	// Terminal is set when the plan answers without the origin (deny,
	// redirect); its last step is the terminal action.
	Terminal bool
	// Limits apply to this request: the file's, with the overrides of the
	// rules that matched (later rules win).
	Limits actions.Limits
	// Fallback says why the answer is settings.fallback put through this
	// plan instead of the original: a rule with on_error: fallback could
	// not be evaluated. "" normally.
	Fallback string
}

// PlanStep is one action with its parameters resolved for the request.
type PlanStep struct {
	Rule   string
	Name   string
	Class  actions.Class
	Action actions.Action
}

// Transforms reports whether any step changes the body; a plan that does
// not lets the origin stream through untouched.
func (p *Plan) Transforms() bool {
	for _, s := range p.Steps {
		if s.Class == actions.Transform {
			return true
		}
	}
	return false
}

var exprPosSuffix = regexp.MustCompile(`\s*\(\d+:\d+\)$`)

var vmPool = sync.Pool{New: func() any { return new(vm.VM) }}

// Reads reports what the rules that apply to an access point read of the
// original before a plan can be made: its metadata (object.*) and its
// picture's header (image.*). The handler reads the original first only
// for rule sets that do.
func (rs *RuleSet) Reads(accessPoint, alias string) (object, image bool) {
	for _, r := range rs.Rules {
		if r.appliesTo(accessPoint, alias) {
			object = object || r.uses.has(varObject)
			image = image || r.uses.has(varImage)
		}
	}
	return object, image
}

// Vary lists the request headers whose values can change what the rules
// make of a request through an access point: those the conditions and
// templates of the rules that apply read, in canonical form and sorted,
// or ["*"] when a rule reads headers by a name that is not written down.
// A cache in front must keep answers apart by them; actions that
// negotiate on a header (convert's Accept) add theirs per plan.
func (rs *RuleSet) Vary(accessPoint, alias string) []string {
	var out []string
	for _, r := range rs.Rules {
		if !r.appliesTo(accessPoint, alias) {
			continue
		}
		if r.allHeaders {
			return []string{"*"}
		}
		for _, h := range r.headers {
			if c := http.CanonicalHeaderKey(h); !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	slices.Sort(out)
	return out
}

func (r *Rule) appliesTo(accessPoint, alias string) bool {
	if len(r.AccessPoints) == 0 {
		return true
	}
	for _, ap := range r.AccessPoints {
		if ap == accessPoint || (alias != "" && ap == alias) {
			return true
		}
	}
	return false
}

// Evaluate returns the plan for req. A condition or template that fails at
// run time is an *actions.Error (400 InvalidArgument) naming the rule, so
// a deny rule that cannot be evaluated never lets content through.
func (rs *RuleSet) Evaluate(req *Request) (*Plan, error) {
	return rs.evaluate(req, nil)
}

// Trace explains an evaluation for dry-run and `opaprules test`.
type Trace struct {
	Rules []RuleTrace
}

// RuleTrace is what happened to one rule.
// Its JSON form is what dry-run --format json and the playground show.
type RuleTrace struct {
	Name    string `json:"name"`
	Matched bool   `json:"matched"`
	// Skipped says why the rule was not evaluated: "access_point",
	// "after final rule NAME", "after terminal rule NAME", "error" (a
	// runtime error with on_error: skip or fallback).
	Skipped string `json:"skipped,omitempty"`
	// FailedCondition is the top-level part of `when` that was false.
	FailedCondition string `json:"failed_condition,omitempty"`
	Error           string `json:"error,omitempty"`
}

// Explain evaluates req like Evaluate and also says, rule by rule, what
// matched and why not.
func (rs *RuleSet) Explain(req *Request) (*Plan, *Trace, error) {
	t := &Trace{}
	p, err := rs.evaluate(req, t)
	return p, t, err
}

func (rs *RuleSet) evaluate(req *Request, trace *Trace) (*Plan, error) {
	env := acquireEnv(req, rs.uses)
	defer releaseEnv(env)
	machine := vmPool.Get().(*vm.VM)
	defer vmPool.Put(machine)

	plan := &Plan{Limits: rs.Limits}
	stoppedBy := ""
	_, base := splitKey(req.Key)
	ext := extOf(base)
	for _, r := range rs.Rules {
		if stoppedBy != "" {
			if trace == nil {
				break
			}
			trace.Rules = append(trace.Rules, RuleTrace{Name: r.Name, Skipped: stoppedBy})
			continue
		}
		if !r.appliesTo(req.AccessPoint, req.AccessPointAlias) {
			if trace != nil {
				trace.Rules = append(trace.Rules, RuleTrace{Name: r.Name, Skipped: "access_point"})
			}
			continue
		}
		if r.guard != nil && trace == nil && !r.guard.allows(req.Key, ext) {
			continue
		}
		if r.when != nil {
			out, err := machine.Run(r.when, env.vars)
			if err != nil {
				if r.OnError == OnErrorSkip || r.OnError == OnErrorFallback {
					if trace != nil {
						trace.Rules = append(trace.Rules, RuleTrace{Name: r.Name, Skipped: "error", Error: firstLine(err)})
					}
					if r.OnError == OnErrorFallback && plan.Fallback == "" {
						plan.Fallback = fmt.Sprintf("rule %q: condition failed: %s", r.Name, firstLine(err))
					}
					continue
				}
				return nil, actions.InvalidArgument("rule %q: condition failed: %s", r.Name, firstLine(err))
			}
			if matched, _ := out.(bool); !matched {
				if trace != nil {
					trace.Rules = append(trace.Rules, RuleTrace{Name: r.Name, FailedCondition: r.failedConjunct(machine, env)})
				}
				continue
			}
		}
		if trace != nil {
			trace.Rules = append(trace.Rules, RuleTrace{Name: r.Name, Matched: true})
		}
		plan.Rules = append(plan.Rules, r.Name)
		if r.hasLimits {
			plan.Limits = plan.Limits.Merge(r.Limits)
		}
		for _, s := range r.Steps {
			a, err := s.resolve(machine, env)
			if err != nil {
				return nil, err
			}
			if s.Class == actions.Terminal {
				// The terminal action becomes the whole plan; headers set
				// so far still apply to its response.
				plan.Steps = slices.DeleteFunc(plan.Steps, func(p PlanStep) bool { return p.Class != actions.Metadata })
				plan.Steps = append(plan.Steps, PlanStep{Rule: r.Name, Name: s.Name, Class: s.Class, Action: a})
				plan.Terminal = true
				break
			}
			plan.Steps = append(plan.Steps, PlanStep{Rule: r.Name, Name: s.Name, Class: s.Class, Action: a})
		}
		switch {
		case plan.Terminal:
			stoppedBy = "after terminal rule " + r.Name
		case r.Final:
			stoppedBy = "after final rule " + r.Name
		}
	}
	return plan, nil
}

// resolve returns the step's action with templates filled for this request.
func (s *Step) resolve(machine *vm.VM, env *Env) (actions.Action, error) {
	if len(s.templates) == 0 {
		return s.literal, nil
	}
	v := reflect.New(s.params.Type)
	v.Elem().Set(reflect.ValueOf(s.literal).Elem())
	for _, ft := range s.templates {
		val, err := ft.tpl.eval(machine, env)
		if err != nil {
			return nil, actions.InvalidArgument("rule %q: %s.%s: %s", s.Rule.Name, s.Name, ft.field.Name, firstLine(err))
		}
		// An absent query parameter or header reads as "": like nil, it
		// leaves the parameter's default, so `width: "${ query.w }"` works
		// with and without ?w=.
		if str, isStr := val.(string); isStr && str == "" && ft.tpl.whole != nil {
			val = nil
		}
		if err := ft.field.Set(v, val); err != nil {
			return nil, actions.InvalidArgument("rule %q: %s: %v", s.Rule.Name, s.Name, err)
		}
	}
	if err := s.params.Check(v); err != nil {
		return nil, actions.InvalidArgument("rule %q: %s: %v", s.Rule.Name, s.Name, err)
	}
	a := v.Interface().(actions.Action)
	if val, ok := a.(actions.Validator); ok {
		if err := val.Validate(); err != nil {
			// An action that knows its client error (status, OSS code)
			// keeps it; any other failure is the 400 InvalidArgument.
			if e, ok := actions.AsError(err); ok && e.Status < 500 {
				named := *e
				named.Message = fmt.Sprintf("rule %q: %s: %s", s.Rule.Name, s.Name, e.Message)
				return nil, &named
			}
			return nil, actions.InvalidArgument("rule %q: %s: %v", s.Rule.Name, s.Name, err)
		}
	}
	return a, nil
}

// failedConjunct returns the first top-level part of the condition that is
// false (or fails) for env, or the whole condition when it has one part.
func (r *Rule) failedConjunct(machine *vm.VM, env *Env) string {
	if len(r.conjuncts) == 0 {
		return r.When
	}
	for _, c := range r.conjuncts {
		prog := c.program()
		if prog == nil {
			return r.When
		}
		out, err := machine.Run(prog, env.vars)
		if err != nil {
			return c.source + " (error: " + firstLine(err) + ")"
		}
		if b, _ := out.(bool); !b {
			return c.source
		}
	}
	return r.When
}

// firstLine drops expr's source snippet from a runtime error: clients get
// one sentence, not a caret diagram.
func firstLine(err error) string {
	msg := err.Error()
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return strings.TrimSpace(exprPosSuffix.ReplaceAllString(msg, ""))
}
