package rules

import (
	"encoding"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/opaprules/opaprules/actions"
)

// maxYAMLNodes bounds the work of walking a file, aliases included: a few
// lines of anchors can otherwise expand to billions of nodes.
const maxYAMLNodes = 200_000

// loader carries what every step of loading a file needs: the file's name
// and lines (for positions), the diagnostics so far, and the JSON pointer
// of every node (for the schema and for de-duplicating its findings).
type loader struct {
	file  string
	lines []string
	diags []Diagnostic
	ptrOf map[*yaml.Node]string
	nodes map[string]*yaml.Node
	seen  int
	// signedKeys collects the variables signed() calls name.
	signedKeys []string
	// fallbackNodes are the rules that say on_error: fallback, checked
	// against settings once the whole file is read.
	fallbackNodes []ruleNode
	// styles are the file's OSS IMG styles, for the actions that name them.
	styles actions.Styles
}

type ruleNode struct {
	rule string
	node *yaml.Node
}

func (l *loader) add(sev Severity, n *yaml.Node, rule, msg string) {
	d := Diagnostic{Severity: sev, File: l.file, Line: 1, Column: 1, Rule: rule, Message: msg}
	if n != nil {
		d.Line, d.Column = n.Line, n.Column
		d.pointer = l.ptrOf[n]
	}
	l.diags = append(l.diags, d)
}

func (l *loader) errorf(n *yaml.Node, rule, format string, args ...any) {
	l.add(Error, n, rule, fmt.Sprintf(format, args...))
}

func (l *loader) warnf(n *yaml.Node, rule, format string, args ...any) {
	l.add(Warning, n, rule, fmt.Sprintf(format, args...))
}

func (l *loader) warnAt(p Pos, rule, msg string) {
	l.diags = append(l.diags, Diagnostic{Severity: Warning, File: l.file, Line: p.Line, Column: p.Column, Rule: rule, Message: msg})
}

func (l *loader) errorAt(p Pos, n *yaml.Node, rule, msg string) {
	d := Diagnostic{Severity: Error, File: l.file, Line: p.Line, Column: p.Column, Rule: rule, Message: msg}
	if n != nil {
		d.pointer = l.ptrOf[n]
	}
	l.diags = append(l.diags, d)
}

// resolve follows aliases, charging the node budget.
func (l *loader) resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// pair is one key and value of a mapping.
type pair struct{ key, value *yaml.Node }

// pairs lists a mapping's entries with YAML merge keys (<<) expanded;
// explicit keys win over merged ones.
func (l *loader) pairs(n *yaml.Node) []pair {
	n = l.resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	var out, merged []pair
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Tag == "!!merge" || (k.Value == "<<" && k.Style == 0 && k.Tag != "!!str") {
			src := l.resolve(v)
			switch src.Kind {
			case yaml.MappingNode:
				merged = append(merged, l.pairs(src)...)
			case yaml.SequenceNode:
				for _, m := range src.Content {
					merged = append(merged, l.pairs(m)...)
				}
			}
			continue
		}
		out = append(out, pair{k, v})
	}
	for _, m := range merged {
		dup := false
		for _, p := range out {
			if p.key.Value == m.key.Value {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, m)
		}
	}
	return out
}

// toJSON converts a node to the values encoding/json would produce, for
// the schema validator, recording every node's JSON pointer on the way.
func (l *loader) toJSON(n *yaml.Node, ptr string) (any, error) {
	l.seen++
	if l.seen > maxYAMLNodes {
		return nil, fmt.Errorf("the file expands to more than %d values (aliases?)", maxYAMLNodes)
	}
	if n.Kind == yaml.AliasNode {
		if _, ok := l.ptrOf[n]; !ok {
			l.ptrOf[n] = ptr
		}
		n = l.resolve(n)
	}
	if _, ok := l.ptrOf[n]; !ok {
		l.ptrOf[n] = ptr
	}
	if _, ok := l.nodes[ptr]; !ok {
		l.nodes[ptr] = n
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return l.toJSON(n.Content[0], ptr)
	case yaml.MappingNode:
		m := map[string]any{}
		for _, p := range l.pairs(n) {
			key := l.resolve(p.key)
			if key.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("line %d: mapping keys must be strings", key.Line)
			}
			kp := ptr + "/" + escapePointer(key.Value)
			l.ptrOf[p.key] = kp
			v, err := l.toJSON(p.value, kp)
			if err != nil {
				return nil, err
			}
			m[key.Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for i, c := range n.Content {
			v, err := l.toJSON(c, ptr+"/"+strconv.Itoa(i))
			if err != nil {
				return nil, err
			}
			s = append(s, v)
		}
		return s, nil
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return nil, nil
		case "!!bool":
			var b bool
			if err := n.Decode(&b); err == nil {
				return b, nil
			}
		case "!!int":
			var i int64
			if err := n.Decode(&i); err == nil {
				return i, nil
			}
		case "!!float":
			var f float64
			if err := n.Decode(&f); err == nil {
				return f, nil
			}
		}
		return n.Value, nil
	}
	return nil, nil
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// scalarPos returns the file position of the character at rune offset off
// within scalar n's value, so an error inside an expression points at the
// faulty token in the file, not only at the start of the value.
func (l *loader) scalarPos(n *yaml.Node, off int) Pos {
	start := Pos{n.Line, n.Column}
	if n.Line < 1 || n.Line > len(l.lines) {
		return start
	}
	switch n.Style {
	case yaml.LiteralStyle:
		return l.blockPos(n, off, false)
	case yaml.FoldedStyle:
		return l.blockPos(n, off, true)
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		return l.quotedPos(n, off)
	}
	// Plain scalar: possibly folded over several lines.
	return l.flowPos(n.Line, n.Column, off)
}

// quotedPos walks a quoted scalar in the source, decoding escapes, until
// off characters of the value have passed.
func (l *loader) quotedPos(n *yaml.Node, off int) Pos {
	line, col := n.Line, n.Column // col points at the opening quote
	src := []rune(l.lines[line-1])
	i := col // index (0-based) of the first character after the quote
	seen := 0
	for seen < off {
		if i >= len(src) {
			// The value continues on the next line (folded).
			if line >= len(l.lines) {
				break
			}
			line++
			src = []rune(l.lines[line-1])
			i = len(src) - len(strings.TrimLeft(string(src), " \t"))
			seen++ // the line break folds to a space
			continue
		}
		c := src[i]
		switch {
		case n.Style == yaml.DoubleQuotedStyle && c == '\\' && i+1 < len(src):
			i += escapeLen(src[i+1:]) + 1
		case n.Style == yaml.SingleQuotedStyle && c == '\'' && i+1 < len(src) && src[i+1] == '\'':
			i += 2
		default:
			i++
		}
		seen++
	}
	return Pos{line, i + 1}
}

// escapeLen is the number of runes after the backslash of a YAML escape.
func escapeLen(r []rune) int {
	switch r[0] {
	case 'x':
		return 3
	case 'u':
		return 5
	case 'U':
		return 9
	}
	return 1
}

// blockPos maps an offset in a literal (|) or folded (>) block scalar.
func (l *loader) blockPos(n *yaml.Node, off int, folded bool) Pos {
	first := n.Line + 1
	indent := -1
	for ln := first; ln <= len(l.lines); ln++ {
		s := l.lines[ln-1]
		if strings.TrimSpace(s) == "" {
			continue
		}
		indent = len(s) - len(strings.TrimLeft(s, " "))
		break
	}
	if indent < 0 {
		return Pos{n.Line, n.Column}
	}
	seen := 0
	for ln := first; ln <= len(l.lines); ln++ {
		s := l.lines[ln-1]
		content := ""
		if len(s) > indent {
			content = s[indent:]
		}
		width := utf8.RuneCountInString(content)
		if off-seen <= width {
			return Pos{ln, indent + off - seen + 1}
		}
		seen += width + 1 // the newline, or the space it folds into
		_ = folded
	}
	return Pos{n.Line, n.Column}
}

// flowPos maps an offset in a plain scalar that may continue on following
// lines, each continuation folding into one space.
func (l *loader) flowPos(line, col, off int) Pos {
	s := []rune(l.lines[line-1])
	startIdx := col - 1
	seen := 0
	for {
		width := len(s) - startIdx
		if off-seen <= width || line >= len(l.lines) {
			return Pos{line, startIdx + off - seen + 1}
		}
		seen += width + 1
		line++
		s = []rune(l.lines[line-1])
		trimmed := strings.TrimLeft(string(s), " \t")
		startIdx = len(s) - utf8.RuneCountInString(trimmed)
	}
}

var (
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	yamlUnmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
	durationType        = reflect.TypeFor[time.Duration]()
)

// decode decodes n into out (settable), reporting unknown keys and values
// of the wrong type at their own positions. It returns false when it
// reported anything.
func (l *loader) decode(n *yaml.Node, out reflect.Value, rule, path string) bool {
	n = l.resolve(n)
	if n == nil {
		return true
	}
	t := out.Type()
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return true // keep the default
	}
	pt := reflect.PointerTo(t)
	custom := pt.Implements(yamlUnmarshalerType) || pt.Implements(textUnmarshalerType) || t == durationType
	switch {
	case custom || isScalarKind(t.Kind()):
		if n.Kind != yaml.ScalarNode {
			l.errorf(n, rule, "%s: want %s, got a %s", path, actions.AnTypeName(t), kindName(n))
			return false
		}
		if err := n.Decode(out.Addr().Interface()); err != nil {
			l.errorf(n, rule, "%s: %s", path, decodeMessage(err, n, t))
			return false
		}
		return true
	case t.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			l.errorf(n, rule, "%s: want a mapping, got a %s", path, kindName(n))
			return false
		}
		ok := true
		for _, p := range l.pairs(n) {
			name := p.key.Value
			params := actions.ParamsFor(t)
			f, found := params.Field(name)
			if !found {
				l.errorf(p.key, rule, "%s: unknown key %q%s", path, name, suggest(name, params.Names()))
				ok = false
				continue
			}
			if !l.decode(p.value, out.FieldByIndex(f.Index), rule, joinPath(path, name)) {
				ok = false
			}
		}
		return ok
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			l.errorf(n, rule, "%s: want a list, got a %s", path, kindName(n))
			return false
		}
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		ok := true
		for i, c := range n.Content {
			if !l.decode(c, s.Index(i), rule, fmt.Sprintf("%s[%d]", path, i)) {
				ok = false
			}
		}
		out.Set(s)
		return ok
	case t.Kind() == reflect.Map:
		if n.Kind != yaml.MappingNode {
			l.errorf(n, rule, "%s: want a mapping, got a %s", path, kindName(n))
			return false
		}
		m := reflect.MakeMap(t)
		ok := true
		for _, p := range l.pairs(n) {
			k := reflect.New(t.Key()).Elem()
			if !l.decode(p.key, k, rule, path) {
				ok = false
				continue
			}
			v := reflect.New(t.Elem()).Elem()
			if !l.decode(p.value, v, rule, joinPath(path, p.key.Value)) {
				ok = false
				continue
			}
			m.SetMapIndex(k, v)
		}
		out.Set(m)
		return ok
	case t.Kind() == reflect.Pointer:
		v := reflect.New(t.Elem())
		if !l.decode(n, v.Elem(), rule, path) {
			return false
		}
		out.Set(v)
		return true
	case t.Kind() == reflect.Interface:
		var v any
		if err := n.Decode(&v); err != nil {
			l.errorf(n, rule, "%s: %v", path, err)
			return false
		}
		if v != nil {
			out.Set(reflect.ValueOf(v))
		}
		return true
	}
	l.errorf(n, rule, "%s: cannot decode into %s", path, t)
	return false
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func isScalarKind(k reflect.Kind) bool {
	switch k {
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str":
			return fmt.Sprintf("string %q", n.Value)
		case "!!int", "!!float":
			return "number " + n.Value
		case "!!bool":
			return "boolean " + n.Value
		}
		return "value " + strconv.Quote(n.Value)
	}
	return "value"
}

var typeErrorLine = regexp.MustCompile(`^(yaml: )?line \d+: `)

// decodeMessage turns a yaml.v3 decoding error into a sentence about the
// value: "want an integer, got string "abc"".
func decodeMessage(err error, n *yaml.Node, t reflect.Type) string {
	if te, ok := err.(*yaml.TypeError); ok && len(te.Errors) > 0 {
		if strings.Contains(te.Errors[0], "cannot unmarshal") {
			return fmt.Sprintf("want %s, got %s", actions.AnTypeName(t), kindName(n))
		}
		return typeErrorLine.ReplaceAllString(te.Errors[0], "")
	}
	return typeErrorLine.ReplaceAllString(err.Error(), "")
}

// suggest returns `; did you mean "x"?` for the closest known name, or the
// list of names when nothing is close.
func suggest(name string, known []string) string {
	best, bestD := "", 1<<30
	for _, k := range known {
		if d := levenshtein(strings.ToLower(name), strings.ToLower(k)); d < bestD {
			best, bestD = k, d
		}
	}
	if best != "" && bestD <= max(2, len(name)/3) {
		return fmt.Sprintf("; did you mean %q?", best)
	}
	if len(known) > 0 && len(known) <= 16 {
		return " (known: " + strings.Join(known, ", ") + ")"
	}
	return ""
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
