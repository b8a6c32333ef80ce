// Package rules loads rules.yaml, checks it against the schema and the
// action registry, compiles every condition and template once, and answers
// "which actions run for this request" per request.
//
// Loading never stops at the first problem: every error and warning is
// collected with its file, line, column and rule, the way a compiler
// reports, so `opaprules validate` shows everything at once.
package rules

import (
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/expr-lang/expr/vm"
	"gopkg.in/yaml.v3"

	"github.com/opaprules/opaprules/actions"
	"github.com/opaprules/opaprules/internal/imageio"
	"github.com/opaprules/opaprules/internal/safefile"
)

// MaxFileSize is the largest rules file accepted. Real files are a few KB;
// anything near this is a mistake or an attack on the loader.
const MaxFileSize = 1 << 20

// RuleSet is a compiled rules file, safe for concurrent use.
type RuleSet struct {
	File     string
	Version  int
	Limits   actions.Limits
	Settings Settings
	// Styles are the file's named OSS IMG specs (top-level styles:).
	Styles actions.Styles
	Rules  []*Rule
	// Warnings found while loading (unreachable rules, constant conditions).
	Warnings []Diagnostic

	uses uses // request names any rule reads
	// signedKeys are the variables signed() calls name, in file order.
	signedKeys []string
}

// SignedKeys lists the environment variables the rules' signed() calls
// read the key from, so a front end can say when one is empty (then every
// signed URL is refused).
func (rs *RuleSet) SignedKeys() []string { return rs.signedKeys }

// Settings are file-wide switches that are not limits.
type Settings struct {
	// ErrorCacheControl4xx and ErrorCacheControl5xx are the Cache-Control
	// of error responses, short so a CDN never keeps an error for long.
	ErrorCacheControl4xx string `yaml:"error_cache_control_4xx" doc:"Cache-Control for 4xx error responses"`
	ErrorCacheControl5xx string `yaml:"error_cache_control_5xx" doc:"Cache-Control for 5xx error responses"`
	// ExtraForwardHeaders lists response headers forwarded beyond the ones
	// the WriteGetObjectResponse reference documents (such as Vary). Off by
	// default until a real OPAP confirms OSS accepts them.
	ExtraForwardHeaders []string `yaml:"extra_forward_headers" doc:"headers forwarded beyond the documented WriteGetObjectResponse set, e.g. [Vary]"`
	// TrustedProxies are the networks of proxies in front of OSS whose
	// X-Forwarded-For entries are believed: ip is the rightmost entry not
	// in them (see docs/security.md).
	TrustedProxies []string `yaml:"trusted_proxies" doc:"networks (CIDR, or single addresses) of your own proxies in front of OSS: ip skips their X-Forwarded-For entries from the right, and X-Real-Ip is believed only from them"`
	// Fallback is the picture answered instead of an error for a picture
	// that is missing or cannot be decoded; nil for none.
	Fallback *Fallback `yaml:"fallback" doc:"a picture answered instead of an error when an image's original is missing or cannot be decoded, or a rule with on_error: fallback cannot be evaluated"`

	trusted []netip.Prefix
}

// Fallback is settings.fallback: the picture that stands in for a missing
// or broken original, put through the request's plan like the original
// would have been.
type Fallback struct {
	Key          string `yaml:"key" doc:"object key of the picture, read from the bucket when it is needed"`
	File         string `yaml:"file" template:"false" doc:"path of a picture shipped with the deployment, read when the rules load"`
	Status       int    `yaml:"status" enum:"200,404" doc:"status of the answer: 200 (default) or 404"`
	CacheControl string `yaml:"cache_control" doc:"Cache-Control of the answer (default: error_cache_control_4xx), so a CDN soon asks again for the real picture"`

	data []byte // File's content
}

// Data is the content of File, read when the rules loaded; nil for Key.
func (f *Fallback) Data() []byte { return f.data }

// maxFallbackBytes bounds a fallback file: a placeholder, not a photo.
const maxFallbackBytes = 8 << 20

// load checks the fallback and reads its file.
func (f *Fallback) load() error {
	if (f.Key == "") == (f.File == "") {
		return errors.New("set exactly one of key and file")
	}
	if f.File == "" {
		return nil
	}
	var err error
	if f.data, err = safefile.ReadFile(f.File, maxFallbackBytes); err != nil {
		return fmt.Errorf("file: %v (a regular file of at most 8 MiB)", err)
	}
	if imageio.Sniff(f.data) == "" {
		return fmt.Errorf("file: %s is not a picture in a format the handler reads", f.File)
	}
	return nil
}

// Trusted reports the parsed trusted_proxies.
func (s Settings) Trusted() []netip.Prefix { return s.trusted }

// parseProxies reads trusted_proxies entries: a CIDR or a single address.
func parseProxies(entries []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if p, err := netip.ParsePrefix(e); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(e)
		if err != nil {
			return nil, fmt.Errorf("%q is not a network such as 10.0.0.0/8 or an address", e)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// DefaultSettings apply where a file has no settings section.
func DefaultSettings() Settings {
	return Settings{
		ErrorCacheControl4xx: "public, max-age=60",
		ErrorCacheControl5xx: "no-store",
	}
}

// What a rule's on_error says.
const (
	OnErrorFail     = "fail"
	OnErrorSkip     = "skip"
	OnErrorFallback = "fallback"
)

// Rule is one compiled rule.
type Rule struct {
	Name         string
	Description  string
	Pos          Pos
	When         string // the condition's source, "" for always
	AccessPoints []string
	Final        bool
	// OnError is what a runtime error in the condition does: OnErrorFail
	// (400, the default), OnErrorSkip (the rule does not match) or
	// OnErrorFallback (it does not match, and the answer is
	// settings.fallback put through the rest of the plan).
	OnError string
	Limits  actions.Limits // overrides; zero fields are not overridden
	Steps   []*Step

	when      *vm.Program
	conjuncts []*conjunct // top-level && parts, for explaining a false condition
	guard     *guard      // native pre-check of the condition, nil when none
	uses      uses        // request names the rule's condition and templates read
	terminal  bool        // holds a deny or redirect
	hasLimits bool
	// headers are the request headers its condition and templates read, in
	// lower case; allHeaders is set when they read headers by a name that
	// is not written down.
	headers    []string
	allHeaders bool
}

// Step is one compiled action of a rule.
type Step struct {
	Name   string // the action's name, e.g. "resize"
	Class  actions.Class
	Pos    Pos
	Rule   *Rule
	params *actions.Params
	// literal holds the literal parameters and defaults; it is the action
	// itself when there are no templates.
	literal   actions.Action
	templates []fieldTemplate
}

type fieldTemplate struct {
	field *actions.Param
	tpl   *template
}

// Literal returns the action with its literal parameters and defaults; its
// templated parameters hold defaults. For warm-up and documentation only.
func (s *Step) Literal() actions.Action { return s.literal }

// LoadFile reads and compiles a rules file.
func LoadFile(path string) (*RuleSet, error) {
	data, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Load(path, data)
}

// ReadFile reads a rules or rule-test file through the bounded reader
// every such file goes through: a regular file of at most MaxFileSize,
// checked before it is read (not /dev/zero, a FIFO or a sparse gigabyte).
func ReadFile(path string) ([]byte, error) {
	return safefile.ReadFile(path, MaxFileSize)
}

// Load compiles a rules file held in memory. On failure the error is a
// *LoadError listing every problem.
func Load(filename string, data []byte) (*RuleSet, error) {
	rs, diags := Check(filename, data)
	for _, d := range diags {
		if d.Severity == Error {
			return nil, &LoadError{Diagnostics: diags}
		}
	}
	return rs, nil
}

// Check compiles a rules file and returns every diagnostic, errors and
// warnings, in file order. The RuleSet is nil when there are errors.
func Check(filename string, data []byte) (*RuleSet, []Diagnostic) {
	l := &loader{file: filename, ptrOf: map[*yaml.Node]string{}, nodes: map[string]*yaml.Node{}}
	rs := l.load(data)
	diags := l.finish()
	for _, d := range diags {
		if d.Severity == Error {
			return nil, diags
		}
	}
	for _, d := range diags {
		if d.Severity == Warning {
			rs.Warnings = append(rs.Warnings, d)
		}
	}
	return rs, diags
}

// finish sorts the diagnostics into file order.
func (l *loader) finish() []Diagnostic {
	slices.SortStableFunc(l.diags, func(a, b Diagnostic) int {
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Column - b.Column
	})
	return l.diags
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func (l *loader) load(data []byte) *RuleSet {
	if len(data) > MaxFileSize {
		l.errorf(nil, "", "file is over the limit of %d bytes (1 MiB): rules files are a few KB", MaxFileSize)
		return nil
	}
	l.lines = strings.Split(string(data), "\n")
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		l.yamlSyntax(err)
		return nil
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		l.errorf(nil, "", "the file is empty: a rules file needs `version: 1` and a `rules:` list")
		return nil
	}
	root := doc.Content[0]
	value, err := l.toJSON(root, "")
	if err != nil {
		l.errorf(root, "", "%v", err)
		return nil
	}
	if root.Kind != yaml.MappingNode {
		l.errorf(root, "", "the file must be a mapping with `version: 1` and a `rules:` list, not a %s", kindName(root))
		return nil
	}
	rs := &RuleSet{File: l.file, Limits: actions.DefaultLimits(), Settings: DefaultSettings()}
	l.compileFile(root, rs)
	rs.signedKeys = l.signedKeys
	l.schemaCheck(value)
	return rs
}

// yamlSyntax reports a YAML parse error at the line the parser names.
func (l *loader) yamlSyntax(err error) {
	msg := err.Error()
	line := 1
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	l.errorAt(Pos{line, 1}, nil, "", "YAML syntax: "+msg)
}

func (l *loader) compileFile(root *yaml.Node, rs *RuleSet) {
	var rulesNode *yaml.Node
	hasVersion := false
	for _, p := range l.pairs(root) {
		switch p.key.Value {
		case "version":
			hasVersion = true
			v := l.resolve(p.value)
			if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!int" || v.Value != "1" {
				l.errorf(p.value, "", "version: want 1, got %s", kindName(v))
				continue
			}
			rs.Version = 1
		case "limits":
			var lim actions.Limits
			if l.decode(p.value, reflect.ValueOf(&lim).Elem(), "", "limits") {
				l.checkLimits(p.value, "", lim)
				rs.Limits = rs.Limits.Merge(lim)
			}
		case "settings":
			set := rs.Settings
			l.decode(p.value, reflect.ValueOf(&set).Elem(), "", "settings")
			l.checkHeaderValue(p.value, "settings.error_cache_control_4xx", set.ErrorCacheControl4xx)
			l.checkHeaderValue(p.value, "settings.error_cache_control_5xx", set.ErrorCacheControl5xx)
			if trusted, err := parseProxies(set.TrustedProxies); err != nil {
				l.errorf(p.value, "", "settings.trusted_proxies: %v", err)
			} else {
				set.trusted = trusted
			}
			if set.Fallback != nil {
				if err := set.Fallback.load(); err != nil {
					l.errorf(p.value, "", "settings.fallback: %v", err)
				}
				l.checkHeaderValue(p.value, "settings.fallback.cache_control", set.Fallback.CacheControl)
			}
			rs.Settings = set
		case "styles":
			rs.Styles = l.compileStyles(p.value)
			l.styles = rs.Styles
		case "rules":
			rulesNode = l.resolve(p.value)
		default:
			l.errorf(p.key, "", "unknown top-level key %q%s", p.key.Value, suggest(p.key.Value, []string{"version", "limits", "settings", "styles", "rules"}))
		}
	}
	defer func() {
		if rs.Settings.Fallback == nil {
			for _, rn := range l.fallbackNodes {
				l.errorf(rn.node, rn.rule, "on_error: fallback needs settings.fallback, the picture to answer with")
			}
		}
	}()
	if !hasVersion {
		l.errorf(root, "", "missing `version: 1`")
	}
	if rulesNode == nil {
		l.errorf(root, "", "missing `rules:` list")
		return
	}
	if rulesNode.Kind != yaml.SequenceNode {
		if !(rulesNode.Kind == yaml.ScalarNode && rulesNode.ShortTag() == "!!null") {
			l.errorf(rulesNode, "", "rules: want a list of rules, got a %s", kindName(rulesNode))
		}
		return
	}
	names := map[string]*Rule{}
	for _, rn := range rulesNode.Content {
		r := l.compileRule(rn)
		if r == nil {
			continue
		}
		if first, dup := names[r.Name]; dup {
			l.errorf(l.ruleNameNode(rn), r.Name, "duplicate rule name (first defined at line %d)", first.Pos.Line)
			continue
		}
		names[r.Name] = r
		rs.Rules = append(rs.Rules, r)
		rs.uses |= r.uses
	}
	l.warnUnreachable(rs)
}

func (l *loader) checkHeaderValue(n *yaml.Node, path, v string) {
	if i := strings.IndexFunc(v, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }); i >= 0 {
		l.errorf(n, "", "%s: control character %q is not allowed in a header value", path, v[i])
	}
}

func (l *loader) checkLimits(n *yaml.Node, rule string, lim actions.Limits) {
	if err := lim.Validate(); err != nil {
		l.errorf(n, rule, "limits.%v", err)
	}
}

func (l *loader) ruleNameNode(rn *yaml.Node) *yaml.Node {
	for _, p := range l.pairs(rn) {
		if p.key.Value == "name" {
			return p.value
		}
	}
	return rn
}

var ruleKeys = []string{"name", "description", "when", "access_points", "final", "on_error", "limits", "actions"}

// ruleNamePattern keeps names usable in logs, error messages and test files.
var ruleNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]*$`)

func (l *loader) compileRule(rn *yaml.Node) *Rule {
	rn = l.resolve(rn)
	if rn.Kind != yaml.MappingNode {
		l.errorf(rn, "", "each rule must be a mapping with name, when and actions, not a %s", kindName(rn))
		return nil
	}
	r := &Rule{Pos: Pos{rn.Line, rn.Column}}
	var whenNode, actionsNode, limitsNode *yaml.Node
	for _, p := range l.pairs(rn) {
		if p.key.Value == "name" {
			v := l.resolve(p.value)
			if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!str" && v.ShortTag() != "!!int" {
				l.errorf(p.value, "", "name: want a string, got a %s", kindName(v))
			} else if !ruleNamePattern.MatchString(v.Value) {
				l.errorf(p.value, "", "name: %q must start with a letter or digit and hold only letters, digits and _ . : -", v.Value)
			} else {
				r.Name = v.Value
			}
		}
	}
	if r.Name == "" {
		if !slices.ContainsFunc(l.pairs(rn), func(p pair) bool { return p.key.Value == "name" }) {
			l.errorf(rn, "", "rule has no name: every rule needs a unique `name`")
		}
		return nil
	}
	for _, p := range l.pairs(rn) {
		switch p.key.Value {
		case "name":
		case "description":
			l.decode(p.value, reflect.ValueOf(&r.Description).Elem(), r.Name, "description")
		case "when":
			whenNode = l.resolve(p.value)
		case "access_points":
			l.decode(p.value, reflect.ValueOf(&r.AccessPoints).Elem(), r.Name, "access_points")
			for i, ap := range r.AccessPoints {
				if ap == "" {
					l.errorf(l.resolve(p.value).Content[i], r.Name, "access_points: empty name")
				}
			}
		case "final":
			l.decode(p.value, reflect.ValueOf(&r.Final).Elem(), r.Name, "final")
		case "on_error":
			var s string
			if l.decode(p.value, reflect.ValueOf(&s).Elem(), r.Name, "on_error") {
				switch s {
				case "":
				case OnErrorFail, OnErrorSkip, OnErrorFallback:
					r.OnError = s
					if s == OnErrorFallback {
						l.fallbackNodes = append(l.fallbackNodes, ruleNode{r.Name, p.value})
					}
				default:
					l.errorf(p.value, r.Name, "on_error: want fail, skip or fallback, got %q", s)
				}
			}
		case "limits":
			limitsNode = p.value
			if l.decode(p.value, reflect.ValueOf(&r.Limits).Elem(), r.Name, "limits") {
				l.checkLimits(p.value, r.Name, r.Limits)
				r.hasLimits = true
			}
		case "actions":
			actionsNode = l.resolve(p.value)
		default:
			l.errorf(p.key, r.Name, "unknown key %q%s", p.key.Value, suggest(p.key.Value, ruleKeys))
		}
	}
	if limitsNode != nil && r.Limits.MemoryBudget != 0 {
		l.errorf(limitsNode, r.Name, "limits.memory_budget: is process-wide; set it in the top-level limits")
	}
	if limitsNode != nil && r.Limits.SpoolBudget != 0 {
		l.errorf(limitsNode, r.Name, "limits.spool_budget: is process-wide; set it in the top-level limits")
	}
	if whenNode != nil {
		l.compileWhen(r, whenNode)
	}
	if actionsNode != nil {
		l.compileActions(r, actionsNode)
	}
	if actionsNode == nil && !r.Final {
		l.warnf(rn, r.Name, "rule has no actions and is not final: it has no effect")
	}
	return r
}

func (l *loader) compileActions(r *Rule, n *yaml.Node) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return
	}
	if n.Kind != yaml.SequenceNode {
		l.errorf(n, r.Name, "actions: want a list of actions, got a %s", kindName(n))
		return
	}
	for _, item := range n.Content {
		item = l.resolve(item)
		if item.Kind == yaml.ScalarNode && item.ShortTag() == "!!str" {
			// "- deny" reads naturally for an action without parameters.
			l.compileStep(r, item, item.Value, nil)
			continue
		}
		ps := l.pairs(item)
		if item.Kind != yaml.MappingNode || len(ps) == 0 {
			l.errorf(item, r.Name, "each action is a mapping from the action's name to its parameters, e.g. `- resize: {width: 200}`")
			continue
		}
		if len(ps) > 1 {
			l.errorf(ps[1].key, r.Name, "an action item holds one action, found %q and %q: start each action with its own `- `", ps[0].key.Value, ps[1].key.Value)
			continue
		}
		l.compileStep(r, ps[0].key, ps[0].key.Value, ps[0].value)
	}
	for i, s := range r.Steps {
		if s.Class == actions.Terminal {
			r.terminal = true
			for _, later := range r.Steps[i+1:] {
				if later.Class != actions.Metadata {
					l.warnAt(later.Pos, r.Name, fmt.Sprintf("%s after %s never runs: %s answers without the object", later.Name, s.Name, s.Name))
				}
			}
			break
		}
	}
}

func (l *loader) compileStep(r *Rule, keyNode *yaml.Node, name string, paramsNode *yaml.Node) {
	def, ok := actions.Lookup(name)
	if !ok {
		l.errorf(keyNode, r.Name, "unknown action %q%s", name, suggest(name, actions.Names()))
		return
	}
	step := &Step{Name: name, Class: def.Class, Pos: Pos{keyNode.Line, keyNode.Column}, Rule: r}
	act := def.New()
	step.params = actions.ParamsOf(act)
	v := reflect.ValueOf(act).Elem()
	path := name
	ok = true
	given := map[string]bool{}
	valueNodes := map[string]*yaml.Node{} // for errors inside a value
	if paramsNode = l.resolve(paramsNode); paramsNode != nil && !(paramsNode.Kind == yaml.ScalarNode && paramsNode.ShortTag() == "!!null") {
		if paramsNode.Kind != yaml.MappingNode {
			l.errorf(paramsNode, r.Name, "%s: parameters must be a mapping, got a %s", name, kindName(paramsNode))
			return
		}
		for _, p := range l.pairs(paramsNode) {
			f, found := step.params.Field(p.key.Value)
			if !found {
				l.errorf(p.key, r.Name, "%s: unknown parameter %q%s", name, p.key.Value, suggest(p.key.Value, step.params.Names()))
				ok = false
				continue
			}
			given[f.Name] = true
			val := l.resolve(p.value)
			valueNodes[f.Name] = val
			if val.Kind == yaml.ScalarNode && val.ShortTag() == "!!str" && strings.Contains(val.Value, "${") {
				tpl, isTpl := l.compileTemplate(r, step, f, val)
				if tpl != nil {
					step.templates = append(step.templates, fieldTemplate{field: f, tpl: tpl})
					continue
				}
				if isTpl {
					ok = false
					continue
				}
				// Only $${ escapes: a literal. Decode the unescaped text.
				lit := strings.ReplaceAll(val.Value, "$${", "${")
				vc := *val
				vc.Value = lit
				val = &vc
			}
			if !l.decode(val, v.FieldByIndex(f.Index), r.Name, joinPath(path, f.Name)) {
				ok = false
			}
		}
	}
	for _, f := range step.params.Fields {
		if f.Required && !given[f.Name] {
			l.errorf(keyNode, r.Name, "%s: missing required parameter %q", name, f.Name)
			ok = false
		}
	}
	if !ok {
		return
	}
	errNode := keyNode
	if err := step.params.Check(v); err != nil {
		l.errorf(errNode, r.Name, "%s: %v", name, err)
		return
	}
	if su, usesStyles := act.(actions.StyleUser); usesStyles {
		su.UseStyles(l.styles)
	}
	if p, isPreparer := act.(actions.Preparer); isPreparer {
		if err := p.Prepare(); err != nil {
			l.stepError(r, errNode, valueNodes, name, err)
			return
		}
	}
	if val, isValidator := act.(actions.Validator); isValidator && len(step.templates) == 0 {
		if err := val.Validate(); err != nil {
			l.errorf(errNode, r.Name, "%s: %v", name, err)
			return
		}
	}
	step.literal = act
	r.Steps = append(r.Steps, step)
}

// warnUnreachable flags rules that can never run: after a rule with no
// condition that is final or terminal, for the same access points.
func (l *loader) warnUnreachable(rs *RuleSet) {
	type barrier struct {
		rule *Rule
		aps  []string
	}
	var barriers []barrier
	for _, r := range rs.Rules {
		for _, b := range barriers {
			if len(b.aps) == 0 || (len(r.AccessPoints) > 0 && subset(r.AccessPoints, b.aps)) {
				why := "final"
				if b.rule.terminal {
					why = "ends with " + b.rule.Steps[len(b.rule.Steps)-1].Name
				}
				l.warnAt(r.Pos, r.Name, fmt.Sprintf("rule can never run: rule %q (line %d) has no condition and is %s", b.rule.Name, b.rule.Pos.Line, why))
				break
			}
		}
		if r.when == nil && (r.Final || r.terminal) {
			barriers = append(barriers, barrier{r, r.AccessPoints})
		}
	}
}

func subset(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}
