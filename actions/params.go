package actions

import (
	"encoding"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Params describes an action's parameter struct, read once by reflection
// from its fields and tags:
//
//	Width int    `yaml:"width" min:"1" max:"16384" doc:"target width in pixels"`
//	Mode  string `yaml:"mode" enum:"fit,fill,force"`
//	Text  string `yaml:"text" required:"true"`
//	Key   string `yaml:"key" template:"false"` // never a ${} template
//
// The rules package uses it to decode and check parameters at load, to fill
// templates per request, and to generate the JSON schema, so the schema, the
// loader and the checks cannot drift apart.
type Params struct {
	Type   reflect.Type // the struct type (not the pointer)
	Fields []Param
}

// Param is one parameter: a struct field with a yaml name.
type Param struct {
	Name     string
	Index    []int
	Type     reflect.Type
	Doc      string
	Enum     []string
	Min, Max *float64
	Required bool
	// Template is true for scalar parameters, which may be a ${ } template
	// resolved per request.
	Template bool
}

// Field returns the parameter named name.
func (p *Params) Field(name string) (*Param, bool) {
	for i := range p.Fields {
		if p.Fields[i].Name == name {
			return &p.Fields[i], true
		}
	}
	return nil, false
}

// Names lists the parameter names in declaration order.
func (p *Params) Names() []string {
	names := make([]string, len(p.Fields))
	for i, f := range p.Fields {
		names[i] = f.Name
	}
	return names
}

var paramsCache sync.Map // reflect.Type -> *Params

// ParamsOf describes the parameter struct v points to (an Action, or any
// struct following the same tag conventions, such as Limits).
func ParamsOf(v any) *Params {
	t := reflect.TypeOf(v)
	if t == nil || t.Kind() != reflect.Pointer {
		panic(fmt.Sprintf("actions: parameters must be a pointer to a struct, not %v", t))
	}
	return ParamsFor(t.Elem())
}

// ParamsFor describes the struct type t. It is the one reader of the
// parameter tags: the YAML decoder, the checks, the JSON schema and
// docs/actions.md all go through it. It panics on a malformed tag, which
// Register turns into a failure of every test.
func ParamsFor(t reflect.Type) *Params {
	p, err := paramsFor(t)
	if err != nil {
		panic(fmt.Sprintf("actions: %v", err))
	}
	return p
}

func paramsFor(t reflect.Type) (*Params, error) {
	if t == nil || t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("parameters must be a struct, not %v", t)
	}
	if p, ok := paramsCache.Load(t); ok {
		return p.(*Params), nil
	}
	p := &Params{Type: t}
	for i := range t.NumField() {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if name == "" || name == "-" || !sf.IsExported() {
			continue
		}
		f := Param{
			Name:     name,
			Index:    sf.Index,
			Type:     sf.Type,
			Doc:      sf.Tag.Get("doc"),
			Required: sf.Tag.Get("required") == "true",
			Template: isScalar(sf.Type) && sf.Tag.Get("template") != "false",
		}
		if e := sf.Tag.Get("enum"); e != "" {
			f.Enum = strings.Split(e, ",")
		}
		for tag, dst := range map[string]**float64{"min": &f.Min, "max": &f.Max} {
			if s := sf.Tag.Get(tag); s != "" {
				v, err := strconv.ParseFloat(s, 64)
				if err != nil {
					return nil, fmt.Errorf("%s.%s: bad %s tag %q", t.Name(), sf.Name, tag, s)
				}
				*dst = &v
			}
		}
		p.Fields = append(p.Fields, f)
	}
	paramsCache.Store(t, p)
	return p, nil
}

var (
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	durationType    = reflect.TypeFor[time.Duration]()
)

// isScalar reports whether a parameter of type t can come from a template:
// strings, numbers, booleans, and types that parse themselves from text.
func isScalar(t reflect.Type) bool {
	if reflect.PointerTo(t).Implements(textUnmarshaler) {
		return true
	}
	switch t.Kind() {
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int64, reflect.Int32, reflect.Float64, reflect.Float32:
		return true
	}
	return false
}

// Check tests the tag constraints (enum, min, max) of the parameter held in
// v, the whole parameter struct.
func (p *Params) Check(v reflect.Value) error {
	v = reflect.Indirect(v)
	for i := range p.Fields {
		f := &p.Fields[i]
		if err := f.check(v.FieldByIndex(f.Index)); err != nil {
			return err
		}
	}
	return nil
}

func (f *Param) check(v reflect.Value) error {
	if len(f.Enum) > 0 {
		switch v.Kind() {
		case reflect.String:
			if s := v.String(); s != "" && !slices.Contains(f.Enum, s) {
				return fmt.Errorf("%s: %q is not one of %s", f.Name, s, strings.Join(f.Enum, ", "))
			}
		case reflect.Int, reflect.Int64, reflect.Int32:
			if n := strconv.FormatInt(v.Int(), 10); !slices.Contains(f.Enum, n) {
				return fmt.Errorf("%s: %s is not one of %s", f.Name, n, strings.Join(f.Enum, ", "))
			}
			return nil
		case reflect.Slice:
			for i := range v.Len() {
				if s := v.Index(i).String(); !slices.Contains(f.Enum, s) {
					return fmt.Errorf("%s: %q is not one of %s", f.Name, s, strings.Join(f.Enum, ", "))
				}
			}
		}
	}
	var n float64
	switch v.Kind() {
	case reflect.Int, reflect.Int64, reflect.Int32:
		if v.Type() == durationType {
			return nil
		}
		n = float64(v.Int())
	case reflect.Float64, reflect.Float32:
		n = v.Float()
	default:
		return nil
	}
	if f.Min != nil && n < *f.Min {
		return fmt.Errorf("%s: %s is below the minimum %s", f.Name, fmtNum(n), fmtNum(*f.Min))
	}
	if f.Max != nil && n > *f.Max {
		return fmt.Errorf("%s: %s is above the maximum %s", f.Name, fmtNum(n), fmtNum(*f.Max))
	}
	return nil
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// Set stores a template's result in field f of the struct v, converting it
// to the field's type. A nil value leaves the default in place. The error
// message names the parameter and is fit for a client.
func (f *Param) Set(v reflect.Value, value any) error {
	if value == nil {
		return nil
	}
	dst := reflect.Indirect(v).FieldByIndex(f.Index)
	if dst.CanAddr() && dst.Addr().Type().Implements(textUnmarshaler) {
		s, ok := value.(string)
		if !ok {
			s = fmt.Sprint(value)
		}
		if err := dst.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
			return fmt.Errorf("%s: %v", f.Name, err)
		}
		return nil
	}
	if dst.Type() == durationType {
		s, ok := value.(string)
		d, err := time.ParseDuration(s)
		if !ok || err != nil {
			return fmt.Errorf("%s: want a duration such as 10s, got %s", f.Name, quoteValue(value))
		}
		dst.SetInt(int64(d))
		return nil
	}
	switch dst.Kind() {
	case reflect.String:
		switch x := value.(type) {
		case string:
			dst.SetString(x)
		case float64:
			dst.SetString(strconv.FormatFloat(x, 'f', -1, 64))
		default:
			dst.SetString(fmt.Sprint(x))
		}
		return nil
	case reflect.Bool:
		switch x := value.(type) {
		case bool:
			dst.SetBool(x)
			return nil
		case string:
			b, err := strconv.ParseBool(x)
			if err == nil {
				dst.SetBool(b)
				return nil
			}
		}
		return fmt.Errorf("%s: want true or false, got %s", f.Name, quoteValue(value))
	case reflect.Int, reflect.Int64, reflect.Int32:
		n, ok := toInt(value)
		if !ok {
			return fmt.Errorf("%s: want an integer, got %s", f.Name, quoteValue(value))
		}
		if dst.OverflowInt(n) {
			return fmt.Errorf("%s: %d is out of range", f.Name, n)
		}
		dst.SetInt(n)
		return nil
	case reflect.Float64, reflect.Float32:
		x, ok := toFloat(value)
		if !ok {
			return fmt.Errorf("%s: want a number, got %s", f.Name, quoteValue(value))
		}
		dst.SetFloat(x)
		return nil
	}
	return fmt.Errorf("%s: cannot be set from a template", f.Name)
}

func quoteValue(v any) string {
	if s, ok := v.(string); ok {
		if len(s) > 64 {
			s = s[:64] + "…"
		}
		return strconv.Quote(s)
	}
	return fmt.Sprintf("%v", v)
}

func toInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case int64:
		return x, true
	case int32:
		return int64(x), true
	case uint:
		if uint64(x) > math.MaxInt64 {
			return 0, false
		}
		return int64(x), true
	case float64:
		if x != math.Trunc(x) || math.IsInf(x, 0) || math.Abs(x) > 1<<53 {
			return 0, false
		}
		return int64(x), true
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		return n, err == nil
	}
	return 0, false
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, !math.IsNaN(x) && !math.IsInf(x, 0)
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
	}
	return 0, false
}

// Accepts reports whether a template whose result has static type t can
// fill this parameter, for the load-time type check. Unknown types
// (interface{}) are accepted and checked per request.
func (f *Param) Accepts(t reflect.Type) bool {
	if t == nil || t.Kind() == reflect.Interface {
		return true
	}
	target := f.Type
	if reflect.PointerTo(target).Implements(textUnmarshaler) {
		return t.Kind() == reflect.String
	}
	switch target.Kind() {
	case reflect.String:
		return true // numbers and booleans format themselves
	case reflect.Bool:
		return t.Kind() == reflect.Bool
	case reflect.Int, reflect.Int64, reflect.Int32:
		switch t.Kind() {
		case reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint, reflect.Float64:
			return true
		}
	case reflect.Float64, reflect.Float32:
		switch t.Kind() {
		case reflect.Int, reflect.Int64, reflect.Int32, reflect.Float64:
			return true
		}
	}
	return false
}

// TypeName is the parameter's type as operators read it in messages.
func (f *Param) TypeName() string { return TypeName(f.Type) }

// TypeName names a Go type as operators read it in messages and in
// docs/actions.md: string, boolean, integer, number, duration, list of X,
// mapping. It is the one place that does.
func TypeName(t reflect.Type) string {
	switch {
	case t == nil:
		return "unknown"
	case t == durationType:
		return "duration"
	case reflect.PointerTo(t).Implements(textUnmarshaler):
		return "string"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float64, reflect.Float32:
		return "number"
	case reflect.Slice, reflect.Array:
		return "list of " + TypeName(t.Elem())
	case reflect.Map, reflect.Struct:
		return "mapping"
	case reflect.Pointer:
		return TypeName(t.Elem())
	}
	return t.String()
}

// AnTypeName is TypeName with its article, for sentences: "want an
// integer", "a duration such as 10s".
func AnTypeName(t reflect.Type) string {
	switch n := TypeName(t); {
	case n == "duration":
		return "a duration such as 10s"
	case n == "integer", n == "unknown":
		return "an " + n
	default:
		return "a " + n
	}
}

// ParamValue is one parameter with the value an action holds, for showing
// a resolved plan (dry-run, the playground).
type ParamValue struct {
	Name  string
	Value any
}

// Values lists the parameters of a, a pointer to a parameter struct, by
// their YAML names in declaration order, with their values.
func Values(a any) []ParamValue {
	v := reflect.ValueOf(a).Elem()
	fields := ParamsOf(a).Fields
	out := make([]ParamValue, len(fields))
	for i, f := range fields {
		out[i] = ParamValue{f.Name, v.FieldByIndex(f.Index).Interface()}
	}
	return out
}

// FormatValue writes a parameter's value as an operator would read it:
// strings bare ("" when empty), types that name themselves by their
// String or MarshalText, anything else as JSON.
func FormatValue(v any) string {
	switch x := v.(type) {
	case string:
		if x == "" {
			return `""`
		}
		return x
	case fmt.Stringer:
		return x.String()
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
