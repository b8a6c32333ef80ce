package actions

import (
	"math"
	"reflect"
	"strconv"
)

// JSONSchemer is implemented by parameter types that describe themselves
// (sizes with units, colours), so the generated schema says what they accept.
type JSONSchemer interface {
	JSONSchema() map[string]any
}

// TemplateRef is where the generated schema points for "this value may be a
// ${ } template"; the rules schema defines it.
const TemplateRef = "#/$defs/template"

// Schema returns the JSON schema (2020-12) of the action's parameters, built
// from the same struct the loader decodes into.
func (d Definition) Schema() map[string]any {
	p := ParamsOf(d.New())
	s := structSchema(p.Type, true)
	if d.Summary != "" {
		s["description"] = d.Summary
	}
	return s
}

// StructSchema is the JSON schema of any struct following the parameter
// tag conventions (yaml, doc, enum, min, max, required).
func StructSchema(v any) map[string]any {
	return structSchema(reflect.TypeOf(v).Elem(), false)
}

func structSchema(t reflect.Type, top bool) map[string]any {
	props := map[string]any{}
	var required []string
	for _, f := range ParamsFor(t).Fields {
		s := typeSchema(f.Type)
		if len(f.Enum) > 0 {
			var values []any
			for _, v := range f.Enum {
				if k := f.Type.Kind(); k == reflect.Int || k == reflect.Int64 || k == reflect.Int32 {
					values = append(values, jsonNumber(v))
				} else {
					values = append(values, v)
				}
			}
			if f.Type.Kind() == reflect.Slice {
				s["items"] = map[string]any{"enum": values}
			} else {
				s["enum"] = values
			}
		}
		if f.Min != nil {
			s["minimum"] = jsonFloat(*f.Min)
		}
		if f.Max != nil {
			s["maximum"] = jsonFloat(*f.Max)
		}
		if f.Doc != "" {
			s["description"] = f.Doc
		}
		if top && f.Template {
			desc := s["description"]
			delete(s, "description")
			s = map[string]any{"anyOf": []any{s, map[string]any{"$ref": TemplateRef}}}
			if desc != nil {
				s["description"] = desc
			}
		}
		props[f.Name] = s
		if f.Required {
			required = append(required, f.Name)
		}
	}
	s := map[string]any{
		"type":                 "object",
		"properties":           props,
		"additionalProperties": false,
	}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

func typeSchema(t reflect.Type) map[string]any {
	if js, ok := reflect.New(t).Interface().(JSONSchemer); ok {
		return js.JSONSchema()
	}
	if t == durationType {
		return map[string]any{"type": "string", "pattern": durationPattern}
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int64, reflect.Int32:
		return map[string]any{"type": "integer"}
	case reflect.Float64, reflect.Float32:
		return map[string]any{"type": "number"}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": typeSchema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": typeSchema(t.Elem())}
	case reflect.Struct:
		return structSchema(t, false)
	case reflect.Pointer:
		return typeSchema(t.Elem())
	}
	return map[string]any{}
}

// jsonFloat keeps integral bounds integral in the generated JSON.
func jsonFloat(f float64) any {
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return int64(f)
	}
	return f
}

// jsonNumber reads an enum value of an integer parameter as a number.
func jsonNumber(s string) any {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n
	}
	f, _ := strconv.ParseFloat(s, 64)
	return f
}
