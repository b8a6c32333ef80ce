package rules

import (
	"github.com/expr-lang/expr/ast"
)

// envPatch rewrites reads of the request's header and query maps into
// typed helper calls before type checking:
//
//	headers.referer        → __header("referer")
//	headers["User-Agent"]  → __header("user-agent")
//	query.w                → __query("w")
//	"w" in query           → __has_query("w")
//
// expr reads an entry of a typed map through reflection, which allocates
// on every read; the helpers return values boxed once per request. A read
// of an absent entry is "" either way. Whole-map uses (len(query),
// query[name] with a computed name) are left alone and still work.
type envPatch struct{}

func (envPatch) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.MemberNode:
		id, ok := n.Node.(*ast.IdentifierNode)
		if !ok {
			return
		}
		prop, ok := n.Property.(*ast.StringNode)
		if !ok {
			return
		}
		switch id.Value {
		case varHeaders:
			ast.Patch(node, call(fnHeader, &ast.StringNode{Value: lowerHeaderName(prop.Value)}))
		case varQuery:
			ast.Patch(node, call(fnQuery, &ast.StringNode{Value: prop.Value}))
		}
	case *ast.BinaryNode:
		if n.Operator != "in" {
			return
		}
		id, ok := n.Right.(*ast.IdentifierNode)
		if !ok {
			return
		}
		switch id.Value {
		case varHeaders:
			ast.Patch(node, call(fnHasHeader, n.Left))
		case varQuery:
			ast.Patch(node, call(fnHasQuery, n.Left))
		}
	}
}

func call(fn string, args ...ast.Node) *ast.CallNode {
	return &ast.CallNode{Callee: &ast.IdentifierNode{Value: fn}, Arguments: args}
}

// usesIn returns the request names an expression reads, from its parsed
// (unpatched) tree.
func usesIn(root ast.Node) uses {
	var u uses
	walk(root, func(n ast.Node) {
		id, ok := n.(*ast.IdentifierNode)
		if !ok {
			return
		}
		if id.Value == "$env" {
			u = usesAll
			return
		}
		u |= usesOf(id.Value)
	})
	return u
}
