package rules

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/expr-lang/expr/vm"
)

// A parameter value is a template when it contains ${ expr }. A value that
// is exactly one ${ } keeps the expression's type (`width: "${ int(query.w) }"`
// is an integer); anything else interpolates into a string
// (`filename: "${ base }-small.jpg"`). $${ is a literal ${.

// segment is a literal run or one ${ } expression of a template.
type segment struct {
	lit    string
	expr   string
	offset int // rune offset of expr within the whole value, for error positions
}

// splitTemplate cuts s into segments. It reports false when s holds no
// template at all (after $${ escapes are taken as literals).
func splitTemplate(s string) ([]segment, bool, error) {
	if !strings.Contains(s, "${") {
		return nil, false, nil
	}
	var segs []segment
	var lit strings.Builder
	isTemplate := false
	for i := 0; i < len(s); {
		if strings.HasPrefix(s[i:], "$${") {
			lit.WriteString("${")
			i += 3
			continue
		}
		if !strings.HasPrefix(s[i:], "${") {
			lit.WriteByte(s[i])
			i++
			continue
		}
		end, err := closingBrace(s, i+2)
		if err != nil {
			return nil, false, err
		}
		if lit.Len() > 0 {
			segs = append(segs, segment{lit: lit.String()})
			lit.Reset()
		}
		body := s[i+2 : end]
		if strings.TrimSpace(body) == "" {
			return nil, false, &templateError{runeOffset(s, i), "empty ${ }"}
		}
		segs = append(segs, segment{expr: body, offset: runeOffset(s, i+2)})
		isTemplate = true
		i = end + 1
	}
	if lit.Len() > 0 {
		segs = append(segs, segment{lit: lit.String()})
	}
	return segs, isTemplate, nil
}

// closingBrace finds the } that ends the expression starting at from,
// skipping braces inside string literals and nested map literals.
func closingBrace(s string, from int) (int, error) {
	depth := 0
	for i := from; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\'', '`':
			j := i + 1
			for ; j < len(s) && s[j] != c; j++ {
				if s[j] == '\\' && c != '`' {
					j++
				}
			}
			if j >= len(s) {
				return 0, &templateError{runeOffset(s, from-2), "unterminated string inside ${ }"}
			}
			i = j
		case '{':
			depth++
		case '}':
			if depth == 0 {
				return i, nil
			}
			depth--
		}
	}
	return 0, &templateError{runeOffset(s, from-2), "${ is not closed with }"}
}

// templateError is a malformed template, positioned within the value.
type templateError struct {
	offset int
	msg    string
}

func (e *templateError) Error() string { return e.msg }

func runeOffset(s string, byteOffset int) int {
	return len([]rune(s[:byteOffset]))
}

// template is a compiled parameter template.
type template struct {
	source string
	// url is set for a parameter tagged escape:"url" (a redirect's
	// location): each interpolated value is escaped for where it lands.
	url bool
	// whole is set when the value is exactly one ${ }; its result keeps its type.
	whole *vm.Program
	parts []templatePart
}

type templatePart struct {
	lit  string
	prog *vm.Program
}

// eval resolves the template against env. A nil result of a whole-value
// template means "use the parameter's default".
func (t *template) eval(machine *vm.VM, env *Env) (any, error) {
	if t.whole != nil {
		return machine.Run(t.whole, env.vars)
	}
	var b strings.Builder
	for _, p := range t.parts {
		if p.prog == nil {
			b.WriteString(p.lit)
			continue
		}
		v, err := machine.Run(p.prog, env.vars)
		if err != nil {
			return nil, err
		}
		if t.url {
			b.WriteString(escapeURLPart(b.String(), formatValue(v)))
		} else {
			b.WriteString(formatValue(v))
		}
	}
	return b.String(), nil
}

// escapeURLPart escapes s for where it lands after the URL text before it:
// in the path, every character but the unreserved ones, sub-delimiters, :
// and @ is escaped in each /-separated segment (a key's / keeps its
// meaning, its ?, #, % and spaces do not); after ?, as a query value; after
// #, as a fragment. A key "a b?x#y.jpg" in "/photos/${ base }?w=1" becomes
// /photos/a%20b%3Fx%23y.jpg?w=1, not a path, a query and a fragment.
func escapeURLPart(before, s string) string {
	switch {
	case strings.ContainsRune(before, '#'):
		return url.PathEscape(s)
	case strings.ContainsRune(before, '?'):
		return url.QueryEscape(s)
	}
	segs := strings.Split(s, "/")
	for i, seg := range segs {
		segs[i] = url.PathEscape(seg)
	}
	return strings.Join(segs, "/")
}

// formatValue is how an interpolated value reads inside a string.
func formatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int:
		return strconv.Itoa(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return fmt.Sprint(v)
}
