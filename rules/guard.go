package rules

import (
	"slices"
	"strings"

	"github.com/expr-lang/expr/ast"
)

// A guard is a native pre-check of a rule's condition: the key prefixes and
// extensions its leading && parts demand. Real rule files scope most rules
// by prefix and extension, so with guards a request runs the expression VM
// for a handful of rules instead of all of them.
//
// A guard is only ever taken from a part that expr would evaluate before
// any part that can fail at run time (those before it are "safe": string
// comparisons and helper calls that cannot raise), so skipping a rule on a
// guard never hides the 400 a failing condition must produce.
type guard struct {
	prefixes [][]string // each entry: the key must start with one of these
	exts     [][]string // each entry: the extension must be one of these
}

func (g *guard) allows(key, ext string) bool {
	for _, ps := range g.prefixes {
		if !slices.ContainsFunc(ps, func(p string) bool { return strings.HasPrefix(key, p) }) {
			return false
		}
	}
	for _, es := range g.exts {
		if !slices.Contains(es, ext) {
			return false
		}
	}
	return true
}

func (g *guard) empty() bool { return len(g.prefixes) == 0 && len(g.exts) == 0 }

// guardOf extracts a guard from a condition's parsed (unpatched) tree.
func guardOf(root ast.Node) *guard {
	g := &guard{}
	for _, part := range conjunctNodes(root) {
		if ps := prefixesOf(part); ps != nil {
			g.prefixes = append(g.prefixes, ps)
		} else if es := extsOf(part); es != nil {
			g.exts = append(g.exts, es)
		}
		if !safeBool(part) {
			break
		}
	}
	if g.empty() {
		return nil
	}
	return g
}

func conjunctNodes(root ast.Node) []ast.Node {
	var nodes []ast.Node
	var collect func(ast.Node)
	collect = func(n ast.Node) {
		if b, ok := n.(*ast.BinaryNode); ok && (b.Operator == "&&" || b.Operator == "and") {
			collect(b.Left)
			collect(b.Right)
			return
		}
		nodes = append(nodes, n)
	}
	collect(root)
	return nodes
}

// prefixesOf recognises `key startsWith "p"`, `glob("p/**")` and an ||
// of them.
func prefixesOf(n ast.Node) []string {
	switch x := n.(type) {
	case *ast.BinaryNode:
		if x.Operator == "||" || x.Operator == "or" {
			l, r := prefixesOf(x.Left), prefixesOf(x.Right)
			if l == nil || r == nil {
				return nil
			}
			return append(l, r...)
		}
		if x.Operator == "startsWith" && isIdent(x.Left, varKey) {
			if s, ok := x.Right.(*ast.StringNode); ok {
				return []string{s.Value}
			}
		}
	case *ast.CallNode:
		if isIdent(x.Callee, fnGlob) && len(x.Arguments) == 1 {
			if s, ok := x.Arguments[0].(*ast.StringNode); ok {
				return []string{globPrefix(s.Value)}
			}
		}
	}
	return nil
}

// globPrefix is the literal text before a glob's first special character.
func globPrefix(p string) string {
	if i := strings.IndexAny(p, `*?[\`); i >= 0 {
		return p[:i]
	}
	return p
}

// extsOf recognises `ext == "x"` and `ext in ["x", "y"]`.
func extsOf(n ast.Node) []string {
	b, ok := n.(*ast.BinaryNode)
	if !ok {
		return nil
	}
	switch b.Operator {
	case "==":
		if isIdent(b.Left, varExt) {
			if s, ok := b.Right.(*ast.StringNode); ok {
				return []string{s.Value}
			}
		}
		if isIdent(b.Right, varExt) {
			if s, ok := b.Left.(*ast.StringNode); ok {
				return []string{s.Value}
			}
		}
	case "in":
		if !isIdent(b.Left, varExt) {
			return nil
		}
		arr, ok := b.Right.(*ast.ArrayNode)
		if !ok {
			return nil
		}
		var out []string
		for _, e := range arr.Nodes {
			s, ok := e.(*ast.StringNode)
			if !ok {
				return nil
			}
			out = append(out, s.Value)
		}
		if out == nil {
			out = []string{}
		}
		return out
	}
	return nil
}

func isIdent(n ast.Node, name string) bool {
	id, ok := n.(*ast.IdentifierNode)
	return ok && id.Value == name
}

// stringVars are the environment's names that always hold a string.
var stringVars = []string{varKey, varDir, varBase, varExt, varBucket, varAccessPoint, varMethod, varIP}

// safeString reports whether n always evaluates to a string without error.
func safeString(n ast.Node) bool {
	switch x := n.(type) {
	case *ast.StringNode:
		return true
	case *ast.IdentifierNode:
		return slices.Contains(stringVars, x.Value)
	case *ast.MemberNode:
		_, constProp := x.Property.(*ast.StringNode)
		return constProp && (isIdent(x.Node, varHeaders) || isIdent(x.Node, varQuery))
	}
	return false
}

// safeBool reports whether n always evaluates to a boolean without error.
func safeBool(n ast.Node) bool {
	switch x := n.(type) {
	case *ast.BoolNode:
		return true
	case *ast.UnaryNode:
		return (x.Operator == "!" || x.Operator == "not") && safeBool(x.Node)
	case *ast.BinaryNode:
		switch x.Operator {
		case "&&", "and", "||", "or":
			return safeBool(x.Left) && safeBool(x.Right)
		case "==", "!=":
			return (safeString(x.Left) || safeBool(x.Left)) && (safeString(x.Right) || safeBool(x.Right))
		case "startsWith", "endsWith", "contains":
			return safeString(x.Left) && safeString(x.Right)
		case "in":
			if isIdent(x.Right, varHeaders) || isIdent(x.Right, varQuery) {
				return safeString(x.Left)
			}
			return safeString(x.Left) && extsOf(&ast.BinaryNode{Operator: "in", Left: &ast.IdentifierNode{Value: varExt}, Right: x.Right}) != nil
		}
	case *ast.CallNode:
		id, ok := x.Callee.(*ast.IdentifierNode)
		if !ok {
			return false
		}
		switch id.Value {
		case fnAccepts, fnGlob, fnSigned:
			return len(x.Arguments) == 1 && safeString(x.Arguments[0])
		case fnCIDR:
			return len(x.Arguments) == 2 && safeString(x.Arguments[0]) && safeString(x.Arguments[1])
		}
	}
	return false
}
