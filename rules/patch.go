package rules

import (
	"slices"

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

// headersIn returns the request headers an expression reads, in lower
// case, from its parsed (unpatched) tree: headers.NAME, headers["Name"],
// "name" in headers, accepts() (Accept) and ip (X-Forwarded-For and
// X-Real-Ip). all is set when it reads headers in a way that names no
// header (len(headers), headers[computed]), or the whole environment.
func headersIn(root ast.Node) (names []string, all bool) {
	named := map[*ast.IdentifierNode]bool{}
	add := func(name string) {
		name = lowerHeaderName(name)
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	walk(root, func(n ast.Node) {
		switch n := n.(type) {
		case *ast.MemberNode:
			if id, ok := n.Node.(*ast.IdentifierNode); ok && id.Value == varHeaders {
				if prop, ok := n.Property.(*ast.StringNode); ok {
					named[id] = true
					add(prop.Value)
				}
			}
		case *ast.BinaryNode:
			if id, ok := n.Right.(*ast.IdentifierNode); ok && id.Value == varHeaders && n.Operator == "in" {
				if s, ok := n.Left.(*ast.StringNode); ok {
					named[id] = true
					add(s.Value)
				}
			}
		case *ast.CallNode:
			if id, ok := n.Callee.(*ast.IdentifierNode); ok && id.Value == fnAccepts {
				add("accept")
			}
		}
	})
	walk(root, func(n ast.Node) {
		id, ok := n.(*ast.IdentifierNode)
		switch {
		case !ok:
		case id.Value == "$env", id.Value == varHeaders && !named[id]:
			all = true
		case id.Value == varIP:
			add("x-forwarded-for")
			add("x-real-ip")
		}
	})
	return names, all
}
