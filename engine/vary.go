package engine

import (
	"slices"
	"strings"
	"sync"

	"github.com/opaprules/opaprules/actions"
	"github.com/opaprules/opaprules/rules"
)

// varySet collects the request headers an answer depends on: those the
// rules read (rules.RuleSet.Vary) and those the plan's actions negotiate
// on (convert's Accept). Every response carries them as Vary; the HTTP
// front door always sends it, WriteGetObjectResponse only when
// settings.extra_forward_headers lists Vary, as its reference does not.
// The request's goroutine adds while the watchdog may be answering, hence
// the lock.
type varySet struct {
	mu    sync.Mutex
	names []string
}

func (v *varySet) add(names ...string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, n := range names {
		if !slices.ContainsFunc(v.names, func(m string) bool { return strings.EqualFold(m, n) }) {
			v.names = append(v.names, n)
		}
	}
}

// list returns the names in sorted order, or ["*"] when any is "*".
func (v *varySet) list() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	if slices.Contains(v.names, "*") {
		return []string{"*"}
	}
	return slices.Sorted(slices.Values(v.names))
}

// header is the Vary header's value, "" for none.
func (v *varySet) header() string { return strings.Join(v.list(), ", ") }

// varyOf lists the request headers the plan's actions negotiate on, in
// plan order, once each.
func varyOf(plan *rules.Plan, req *actions.Request) []string {
	var names []string
	for _, s := range plan.Steps {
		if v, ok := s.Action.(actions.Varier); ok {
			if name, _ := v.Vary(req); name != "" && !slices.Contains(names, name) {
				names = append(names, name)
			}
		}
	}
	return names
}
