package actions

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// Reference renders docs/actions.md: every registered action with its
// summary, its prose (Definition.Doc) and a table of its parameters read
// from the same struct tags the loader enforces, so the page cannot drift
// from the code. A test in the rules package keeps the committed file
// equal to this output.
func Reference() []byte {
	var b bytes.Buffer
	b.WriteString("<!-- Generated from the action registry by `go test ./rules -run UpToDate -update`; do not edit. -->\n\n")
	b.WriteString("# Actions\n\n")
	b.WriteString("Each action is one file in `actions/`, registered by name; its parameters are a typed\n")
	b.WriteString("struct decoded and checked when the rules load. A parameter marked *template* may be a\n")
	b.WriteString("`${ expr }` resolved per request (see [rules.md](rules.md#templates)); the others are\n")
	b.WriteString("literals only. To add an action, see [adding-an-action.md](adding-an-action.md).\n\n")
	names := Names()
	for _, name := range names {
		fmt.Fprintf(&b, "- [%s](#%s)\n", name, name)
	}
	for _, name := range names {
		d, _ := Lookup(name)
		fmt.Fprintf(&b, "\n## %s\n\n%s\n\n", name, d.Summary)
		fmt.Fprintf(&b, "*%s.*", classDoc(d.Class))
		if doc := strings.TrimSpace(d.Doc); doc != "" {
			fmt.Fprintf(&b, "\n\n%s", doc)
		}
		b.WriteString("\n")
		v := d.New()
		writeParamTable(&b, "", reflect.ValueOf(v).Elem(), true)
	}
	return b.Bytes()
}

func classDoc(c Class) string {
	switch c {
	case Metadata:
		return "Sets headers only: a plan of nothing else streams the original unchanged"
	case Terminal:
		return "Answers without reading the original, and stops rule evaluation"
	}
	return "Transforms the body: the original is read"
}

// writeParamTable writes one table for the struct v, then one per nested
// struct (the entries of a list such as redact's patterns).
func writeParamTable(b *bytes.Buffer, title string, v reflect.Value, top bool) {
	params := ParamsFor(v.Type())
	if len(params.Fields) == 0 {
		return
	}
	if title != "" {
		fmt.Fprintf(b, "\n%s\n", title)
	}
	b.WriteString("\n| parameter | type | default | allowed | description |\n|---|---|---|---|---|\n")
	type nested struct {
		name string
		t    reflect.Type
	}
	var more []nested
	for _, f := range params.Fields {
		allowed := ""
		if len(f.Enum) > 0 {
			allowed = "`" + strings.Join(f.Enum, "`, `") + "`"
		}
		switch {
		case f.Min != nil && f.Max != nil:
			allowed = fmtNum(*f.Min) + " to " + fmtNum(*f.Max)
		case f.Min != nil:
			allowed = "≥ " + fmtNum(*f.Min)
		case f.Max != nil:
			allowed = "≤ " + fmtNum(*f.Max)
		}
		typ := f.TypeName()
		var flags []string
		if f.Required {
			flags = append(flags, "required")
		}
		if top && f.Template {
			flags = append(flags, "template")
		}
		if len(flags) > 0 {
			typ += " (" + strings.Join(flags, ", ") + ")"
		}
		fmt.Fprintf(b, "| `%s` | %s | %s | %s | %s |\n", f.Name, typ, defaultOf(v.FieldByIndex(f.Index)), allowed, cell(f.Doc))
		et := f.Type
		for et.Kind() == reflect.Slice || et.Kind() == reflect.Pointer {
			et = et.Elem()
		}
		if et.Kind() == reflect.Struct && !reflect.PointerTo(et).Implements(textUnmarshaler) {
			more = append(more, nested{f.Name, et})
		}
	}
	for _, n := range more {
		writeParamTable(b, fmt.Sprintf("Each entry of `%s`:", n.name), reflect.New(n.t).Elem(), false)
	}
}

// defaultOf shows a field's value in the struct New returns; zero values
// are left blank, since each parameter's doc says what absent means.
func defaultOf(v reflect.Value) string {
	if v.IsZero() {
		return ""
	}
	if m, ok := v.Interface().(encoding.TextMarshaler); ok {
		if t, err := m.MarshalText(); err == nil {
			return "`" + string(t) + "`"
		}
	}
	if s, ok := v.Interface().(fmt.Stringer); ok {
		return "`" + s.String() + "`"
	}
	if v.Kind() == reflect.String {
		return "`" + v.String() + "`"
	}
	j, err := json.Marshal(v.Interface())
	if err != nil {
		return ""
	}
	return "`" + string(j) + "`"
}

// cell escapes text for a Markdown table cell.
func cell(s string) string {
	return strings.ReplaceAll(s, "|", `\|`)
}
