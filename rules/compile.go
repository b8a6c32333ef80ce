package rules

import (
	"errors"
	"fmt"
	"mime"
	"net/netip"
	"reflect"
	"regexp/syntax"
	"slices"
	"strings"
	"sync"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
	"gopkg.in/yaml.v3"

	"github.com/opaprules/opaprules/actions"
)

// maxExprNodes bounds one expression. Real conditions have tens of nodes;
// a generated 5,000-deep expression is refused at load instead of costing
// every request.
const maxExprNodes = 2000

func compileExpr(source string, asBool bool) (*vm.Program, error) {
	opts := []expr.Option{expr.Env(envTypes), expr.MaxNodes(maxExprNodes), expr.Patch(envPatch{})}
	if asBool {
		opts = append(opts, expr.AsBool())
	}
	return expr.Compile(source, opts...)
}

// conjunct is one top-level && operand of a condition, compiled on first
// use to tell dry-run users which part was false.
type conjunct struct {
	source string
	once   sync.Once
	prog   *vm.Program
}

func (c *conjunct) program() *vm.Program {
	c.once.Do(func() { c.prog, _ = compileExpr(c.source, true) })
	return c.prog
}

func (l *loader) compileWhen(r *Rule, n *yaml.Node) {
	if n.Kind != yaml.ScalarNode {
		l.errorf(n, r.Name, "when: want an expression string, got a %s", kindName(n))
		return
	}
	if n.ShortTag() == "!!bool" {
		// `when: true` is legal YAML for a boolean; take it as the expression.
		n = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: n.Value, Line: n.Line, Column: n.Column}
	}
	if n.ShortTag() != "!!str" {
		l.errorf(n, r.Name, "when: want an expression string, got a %s", kindName(n))
		return
	}
	src := n.Value
	if strings.TrimSpace(src) == "" {
		l.errorf(n, r.Name, "when: empty condition (leave `when` out for a rule that always matches)")
		return
	}
	if strings.Contains(src, "${") {
		l.errorf(n, r.Name, "when: is already an expression; write it without ${ }")
		return
	}
	prog, err := compileExpr(src, true)
	if err != nil {
		l.exprError(r, n, 0, "when", err)
		return
	}
	tree, err := parser.Parse(src)
	if err != nil {
		l.exprError(r, n, 0, "when", err)
		return
	}
	if !l.checkCalls(r, n, 0, tree.Node) {
		return
	}
	r.When = src
	r.when = prog
	r.uses |= usesIn(tree.Node)
	r.readHeaders(tree.Node)
	r.conjuncts = splitConjuncts(src, tree.Node)
	r.guard = guardOf(tree.Node)
	if isConstant(tree.Node) {
		if out, err := vm.Run(prog, newEnv().vars); err == nil && out == false {
			l.warnf(n, r.Name, "when: condition is always false: the rule never matches")
		}
	}
}

// exprError reports an expr error at the faulty token's position in the file.
func (l *loader) exprError(r *Rule, n *yaml.Node, offset int, what string, err error) {
	var fe *file.Error
	msg := err.Error()
	pos := l.scalarPos(n, offset)
	if errors.As(err, &fe) {
		msg = fe.Message
		pos = l.scalarPos(n, offset+fe.From)
	}
	msg = strings.TrimSuffix(strings.Replace(msg, "expected bool, but got", "must be true or false, but it is", 1), ".")
	if strings.Contains(msg, "must be true or false") {
		msg = "condition " + msg
	}
	l.errorAt(pos, n, r.Name, what+": "+msg)
}

// checkCalls validates literal arguments of the helpers at load, so a
// typo in a CIDR or a glob is a load error rather than a rule that
// silently never matches.
func (l *loader) checkCalls(r *Rule, n *yaml.Node, offset int, root ast.Node) bool {
	ok := true
	report := func(arg ast.Node, format string, args ...any) {
		l.errorAt(l.scalarPos(n, offset+arg.Location().From), n, r.Name, fmt.Sprintf(format, args...))
		ok = false
	}
	walk(root, func(node ast.Node) {
		if b, isBin := node.(*ast.BinaryNode); isBin && b.Operator == "matches" {
			l.checkKeyRegexp(r, n, offset, b)
			return
		}
		call, isCall := node.(*ast.CallNode)
		if !isCall {
			return
		}
		id, isIdent := call.Callee.(*ast.IdentifierNode)
		if !isIdent {
			return
		}
		lit := func(i int) (string, ast.Node, bool) {
			if i >= len(call.Arguments) {
				return "", nil, false
			}
			s, isStr := call.Arguments[i].(*ast.StringNode)
			if !isStr {
				return "", nil, false
			}
			return s.Value, s, true
		}
		switch id.Value {
		case "glob":
			if p, arg, isLit := lit(0); isLit {
				if _, err := compileGlob(p); err != nil {
					report(arg, "glob: %v", err)
				}
			}
		case "cidr":
			if p, arg, isLit := lit(1); isLit {
				if _, err := netip.ParsePrefix(p); err != nil {
					report(arg, "cidr: %q is not a network such as 10.0.0.0/8", p)
				}
			}
		case "env":
			if name, arg, isLit := lit(0); isLit && !strings.HasPrefix(name, EnvPrefix) {
				report(arg, "env: only variables starting with %s can be read, not %q", EnvPrefix, name)
			}
		case "accepts":
			if m, arg, isLit := lit(0); isLit {
				t, _, err := mime.ParseMediaType(m)
				if err != nil || strings.Contains(t, "*") || !strings.Contains(t, "/") {
					report(arg, "accepts: want an explicit media type such as image/webp, got %q", m)
				}
			}
		case "signed":
			if name, arg, isLit := lit(0); isLit && name == "" {
				report(arg, "signed: needs the name of the environment variable holding the key")
			} else if isLit && !strings.HasPrefix(name, EnvPrefix) {
				report(arg, "signed: the key must be in a variable starting with %s (like env()), not %q", EnvPrefix, name)
			} else if isLit && !slices.Contains(l.signedKeys, name) {
				l.signedKeys = append(l.signedKeys, name)
			}
		}
	})
	return ok
}

// checkKeyRegexp warns about `key matches "..."` patterns whose `.` does
// not match a newline: OSS keys may hold one (%0A), so a deny rule written
// as `key matches "^secret/.*"` would let `secret/a%0Ab` through.
func (l *loader) checkKeyRegexp(r *Rule, n *yaml.Node, offset int, b *ast.BinaryNode) {
	id, ok := b.Left.(*ast.IdentifierNode)
	if !ok || (id.Value != varKey && id.Value != varDir && id.Value != varBase) {
		return
	}
	lit, ok := b.Right.(*ast.StringNode)
	if !ok {
		return
	}
	re, err := syntax.Parse(lit.Value, syntax.Perl)
	if err != nil || !anyCharNotNL(re) {
		return
	}
	l.warnAt(l.scalarPos(n, offset+lit.Location().From), r.Name, fmt.Sprintf(
		"%s matches %q: . does not match a newline, and keys may hold one; start the pattern with (?s) or use [^/] (or glob)", id.Value, lit.Value))
}

func anyCharNotNL(re *syntax.Regexp) bool {
	if re.Op == syntax.OpAnyCharNotNL {
		return true
	}
	for _, sub := range re.Sub {
		if anyCharNotNL(sub) {
			return true
		}
	}
	return false
}

// isConstant reports whether an expression reads nothing from the request
// and calls nothing, so its value is known at load.
func isConstant(root ast.Node) bool {
	constant := true
	walk(root, func(n ast.Node) {
		switch n.(type) {
		case *ast.IdentifierNode, *ast.CallNode, *ast.BuiltinNode, *ast.PointerNode, *ast.VariableDeclaratorNode:
			constant = false
		}
	})
	return constant
}

// walk visits every node of an expression tree.
func walk(root ast.Node, f func(ast.Node)) {
	ast.Walk(&root, visitor(f))
}

type visitor func(ast.Node)

func (v visitor) Visit(n *ast.Node) { v(*n) }

// readHeaders notes the request headers an expression of the rule reads.
func (r *Rule) readHeaders(root ast.Node) {
	names, all := headersIn(root)
	for _, n := range names {
		if !slices.Contains(r.headers, n) {
			r.headers = append(r.headers, n)
		}
	}
	r.allHeaders = r.allHeaders || all
}

// splitConjuncts lists the top-level && operands of a condition.
func splitConjuncts(src string, root ast.Node) []*conjunct {
	nodes := conjunctNodes(root)
	if len(nodes) < 2 {
		return nil
	}
	out := make([]*conjunct, len(nodes))
	for i, n := range nodes {
		out[i] = &conjunct{source: n.String()}
	}
	return out
}

// compileTemplate compiles a ${ } parameter value. It returns the template,
// or nil and whether the value was meant as one (so errors are not
// reported twice).
func (l *loader) compileTemplate(r *Rule, s *Step, f *actions.Param, n *yaml.Node) (*template, bool) {
	segs, isTpl, err := splitTemplate(n.Value)
	if err != nil {
		var te *templateError
		if errors.As(err, &te) {
			l.errorAt(l.scalarPos(n, te.offset), n, r.Name, fmt.Sprintf("%s.%s: %s", s.Name, f.Name, te.msg))
		} else {
			l.errorf(n, r.Name, "%s.%s: %v", s.Name, f.Name, err)
		}
		return nil, true
	}
	if !isTpl {
		return nil, false
	}
	what := s.Name + "." + f.Name
	if !f.Template {
		l.errorf(n, r.Name, "%s: is a %s and cannot be a ${ } template", what, f.TypeName())
		return nil, true
	}
	t := &template{source: n.Value}
	if sf := s.params.Type.FieldByIndex(f.Index); sf.Tag.Get("escape") == "url" {
		t.url = true
	}
	whole := len(segs) == 1 && segs[0].expr != ""
	ok := true
	for _, seg := range segs {
		if seg.expr == "" {
			t.parts = append(t.parts, templatePart{lit: seg.lit})
			continue
		}
		prog, err := compileExpr(seg.expr, false)
		if err != nil {
			l.exprError(r, n, seg.offset, what, err)
			ok = false
			continue
		}
		tree, err := parser.Parse(seg.expr)
		if err == nil {
			ok = l.checkCalls(r, n, seg.offset, tree.Node) && ok
			r.uses |= usesIn(tree.Node)
			r.readHeaders(tree.Node)
		}
		typ := exprType(prog)
		exprStart := seg.offset + len([]rune(seg.expr)) - len([]rune(strings.TrimLeft(seg.expr, " \t")))
		if whole {
			if !f.Accepts(typ) {
				l.errorAt(l.scalarPos(n, exprStart), n, r.Name,
					fmt.Sprintf("%s: want %s, but ${ %s } is %s", what, f.TypeName(), strings.TrimSpace(seg.expr), actions.AnTypeName(typ)))
				ok = false
			}
			t.whole = prog
		} else {
			if f.Type.Kind() != reflect.String && !reflect.PointerTo(f.Type).Implements(textUnmarshalerType) {
				l.errorAt(l.scalarPos(n, exprStart), n, r.Name,
					fmt.Sprintf("%s: want %s; text around ${ } makes a string (write the whole value as one ${ })", what, f.TypeName()))
				ok = false
			}
			t.parts = append(t.parts, templatePart{prog: prog})
		}
	}
	if !ok {
		return nil, true
	}
	return t, true
}

func exprType(p *vm.Program) reflect.Type {
	defer func() { _ = recover() }()
	return p.Node().Type()
}
