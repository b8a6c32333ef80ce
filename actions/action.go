// Package actions holds the steps a plan is made of: resize, convert, redact,
// deny, headers and the rest. Each action lives in its own file, registers
// itself by name in init, and is nothing more than a parameter struct that
// knows how to apply itself to an Object.
//
// The package knows nothing of rules files, FC events or OSS: the rules
// package decodes parameters into the registered structs, and the engine
// hands every action the same Object, which carries the body (as bytes or
// as a decoded image), the response headers, the limits and a Fetcher for
// other objects.
package actions

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sync"
)

// Action is one step of a plan. The concrete type is the action's parameter
// struct: the rules package decodes YAML into a fresh value from
// Definition.New, fills request-time templates into a copy per request, and
// calls Apply. Apply must not modify its receiver: one value serves every
// request whose parameters are all literals.
type Action interface {
	Apply(ctx context.Context, obj *Object) error
}

// Validator is implemented by parameter structs with constraints that span
// fields or need more than the struct tags can say. Validate runs once at
// load when every parameter is a literal, and per request after templates
// are resolved otherwise. Its error message is shown to operators (at load)
// and to clients (in a 400), so it should name the parameter.
type Validator interface {
	Validate() error
}

// Preparer is implemented by actions with one-time work at load: opening a
// font or a watermark file, compiling patterns. Prepare runs once on the
// literal parameters; the per-request copies made for templates share
// whatever it stored in unexported pointer fields. Its error is a load error.
type Preparer interface {
	Prepare() error
}

// Predictor is implemented by transform actions that know, before they
// run, headers they will set (convert knows its Content-Type), so dry-run
// and rule tests can show the response a plan implies without an object.
type Predictor interface {
	Predict(obj *Object)
}

// Varier is implemented by actions whose result depends on request headers
// beyond their resolved parameters: convert with format: auto reads Accept.
// Vary returns the header's name and the normalised input that decides the
// result (for Accept: the set of candidate formats the client takes, e.g.
// "avif,webp"). The engine folds key into the derived ETag, so different
// bytes never share an ETag, and may send Vary.
type Varier interface {
	Vary(req *Request) (header, key string)
}

// Fingerprinter is implemented by actions whose output depends on state
// outside their parameters, such as a key read from the environment per
// request. The fingerprint (never the secret itself) feeds the derived
// ETag, so rotating the key changes the ETag along with the bytes.
type Fingerprinter interface {
	Fingerprint() string
}

// Warmer is implemented by actions with an expensive first use, such as a
// WebAssembly codec that compiles on first call. The engine calls Warm for
// every action of the loaded rules in the FC initializer, so the cost lands
// on instance start-up rather than on the first client.
type Warmer interface {
	Warm() error
}

// URLReader is implemented by actions that read the request's original
// through URLFetcher.URL rather than from the Object: a tool that takes
// only the ranges it needs, as ffmpeg takes one frame of a video. When
// such an action is the plan's first transform step, the engine reads
// only the original's headers (its ETag, size and type) before it runs,
// instead of starting a read of the whole object that the action would
// then drop.
type URLReader interface {
	ReadsOriginalByURL() bool
}

// Class tells the rules engine and the handler how an action relates to the
// origin object, without running it.
type Class int

const (
	// Transform actions change the body; the origin is read.
	Transform Class = iota
	// Metadata actions only set response headers: an object whose plan holds
	// nothing else streams through unchanged.
	Metadata
	// Terminal actions answer without the origin (deny, redirect). A matching
	// terminal action stops rule evaluation and becomes the whole plan, keeping
	// only Metadata actions from before it.
	Terminal
)

// Definition registers one action.
type Definition struct {
	// Name is the key operators write in rules.yaml, e.g. "resize".
	Name string
	// Summary is one line for the schema's description and docs/actions.md.
	Summary string
	// Doc is Markdown for docs/actions.md: what the parameter table cannot
	// say (semantics, interplay with other actions, costs). Keep parameter
	// details in the struct's doc tags, which the table shows.
	Doc string
	// Class says whether the action reads the origin and changes the body.
	Class Class
	// New returns a pointer to a parameter struct holding the defaults.
	// Its fields carry `yaml:"name"` tags and optional constraint tags (see
	// Params); the pointer implements Action.
	New func() Action
}

var (
	registryMu sync.RWMutex
	registry   = map[string]Definition{}
)

// Register makes an action available under d.Name. It is meant to be called
// from init and panics on a programming error (duplicate name, parameter
// struct that the rules package could not decode), so a broken action fails
// every test rather than a request.
func Register(d Definition) {
	if d.Name == "" || d.New == nil {
		panic("actions: Register needs a Name and New")
	}
	a := d.New()
	if a == nil || reflect.TypeOf(a).Kind() != reflect.Pointer {
		panic(fmt.Sprintf("actions: %s: New must return a pointer to a struct", d.Name))
	}
	if _, err := paramsFor(reflect.TypeOf(a).Elem()); err != nil {
		panic(fmt.Sprintf("actions: %s: %v", d.Name, err))
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[d.Name]; dup {
		panic("actions: duplicate action " + d.Name)
	}
	registry[d.Name] = d
}

// Lookup returns the action registered under name.
func Lookup(name string) (Definition, bool) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	d, ok := registry[name]
	return d, ok
}

// Names returns the registered action names in sorted order.
func Names() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	return slices.Sorted(maps.Keys(registry))
}
