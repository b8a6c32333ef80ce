package rules

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/opaprules/opaprules/actions"
	"github.com/opaprules/opaprules/schema"
)

// SchemaDocument builds the JSON schema of rules.yaml from the code: the
// rule structure below, and each action's parameters from the registry.
// The embedded schema/rules.schema.json must equal its JSON encoding.
func SchemaDocument() map[string]any {
	defs := map[string]any{
		"template": map[string]any{
			"type":        "string",
			"pattern":     `\$\{`,
			"description": "a ${ expr } template resolved per request; a value that is exactly one ${ } keeps the expression's type",
		},
		"limits":   withDescription(actions.StructSchema(&actions.Limits{}), "bounds on what one request may cost"),
		"settings": withDescription(actions.StructSchema(&Settings{}), "file-wide switches"),
	}
	names := actions.Names()
	props := map[string]any{}
	for _, name := range names {
		def, _ := actions.Lookup(name)
		defs["action_"+name] = def.Schema()
		props[name] = map[string]any{"anyOf": []any{
			map[string]any{"type": "null"},
			map[string]any{"$ref": "#/$defs/action_" + name},
		}}
	}
	defs["action"] = map[string]any{
		"description": "one action: a mapping from the action's name to its parameters, or the bare name",
		"oneOf": []any{
			map[string]any{"type": "string", "enum": names},
			map[string]any{
				"type":                 "object",
				"minProperties":        1,
				"maxProperties":        1,
				"properties":           props,
				"additionalProperties": false,
			},
		},
	}
	defs["rule"] = map[string]any{
		"type":                 "object",
		"required":             []string{"name"},
		"additionalProperties": false,
		"properties": map[string]any{
			"name":          map[string]any{"type": "string", "pattern": ruleNamePattern.String(), "description": "unique name, shown in logs, errors and dry-run"},
			"description":   map[string]any{"type": "string"},
			"when":          map[string]any{"type": []string{"string", "boolean"}, "description": "an expr condition (https://expr-lang.org); leave out to always match"},
			"access_points": map[string]any{"type": "array", "items": map[string]any{"type": "string", "minLength": 1}, "description": "limit the rule to these access points (name or full alias)"},
			"final":         map[string]any{"type": "boolean", "description": "stop evaluating rules after this one matches"},
			"on_error":      map[string]any{"enum": []string{"fail", "skip", "fallback"}, "description": "a runtime error in when fails the request (400); skip: the rule does not match; fallback: it does not match and the answer is settings.fallback"},
			"limits":        map[string]any{"$ref": "#/$defs/limits"},
			"actions": map[string]any{
				"anyOf": []any{
					map[string]any{"type": "null"},
					map[string]any{"type": "array", "items": map[string]any{"$ref": "#/$defs/action"}},
				},
			},
		},
	}
	return map[string]any{
		"$schema":              "https://json-schema.org/draft/2020-12/schema",
		"$id":                  schema.RulesID,
		"title":                "opaprules rules file",
		"type":                 "object",
		"required":             []string{"version", "rules"},
		"additionalProperties": false,
		"properties": map[string]any{
			"version":  map[string]any{"const": 1},
			"limits":   map[string]any{"$ref": "#/$defs/limits"},
			"settings": map[string]any{"$ref": "#/$defs/settings"},
			"styles": map[string]any{
				"description":          "named OSS IMG specs, used as x-oss-process=style/NAME through oss_process",
				"type":                 "object",
				"propertyNames":        map[string]any{"pattern": `^[A-Za-z0-9_.-]{1,63}$`},
				"additionalProperties": map[string]any{"type": "string", "pattern": `^(image|video)/`},
			},
			"rules": map[string]any{
				"anyOf": []any{
					map[string]any{"type": "null"},
					map[string]any{"type": "array", "items": map[string]any{"$ref": "#/$defs/rule"}},
				},
			},
		},
		"$defs": defs,
	}
}

func withDescription(s map[string]any, d string) map[string]any {
	s["description"] = d
	return s
}

// SchemaJSON is SchemaDocument as indented JSON, the way the committed file
// is written.
func SchemaJSON() []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(SchemaDocument()); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

var compiledSchemas sync.Map // id -> *jsonschema.Schema

// compileSchema compiles an embedded schema once per process.
func compileSchema(id string, doc []byte) (*jsonschema.Schema, error) {
	if s, ok := compiledSchemas.Load(id); ok {
		return s.(*jsonschema.Schema), nil
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return nil, fmt.Errorf("embedded schema %s: %w", id, err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(id, v); err != nil {
		return nil, err
	}
	s, err := c.Compile(id)
	if err != nil {
		return nil, fmt.Errorf("embedded schema %s: %w", id, err)
	}
	compiledSchemas.Store(id, s)
	return s, nil
}

var printer = message.NewPrinter(language.English)

// liveSchema is the rules schema of this process's action registry. With
// only the built-in actions registered it is the embedded
// schema/rules.schema.json, which TestSchemaUpToDate keeps byte-for-byte
// equal to what SchemaJSON generates: generating it costs 5-6 ms of every
// cold start. A program that registers actions of its own (tests do) gets
// the schema generated from the registry, so the loader accepts them.
var liveSchema = sync.OnceValue(func() []byte {
	if slices.Equal(actions.Names(), builtinActions) {
		return schema.Rules
	}
	return SchemaJSON()
})

// builtinActions are the actions registered when this package is
// initialised: the actions package's own, whose init has run by then.
var builtinActions = actions.Names()

// schemaCheck validates the file against the schema. Our own checks run
// first and explain problems better; a schema finding is reported only
// where they found nothing, so each problem shows once while the schema is
// still enforced.
func (l *loader) schemaCheck(value any) {
	s, err := compileSchema(schema.RulesID, liveSchema())
	if err != nil {
		l.errorf(nil, "", "%v", err)
		return
	}
	l.reportSchema(s.Validate(value))
}

func (l *loader) reportSchema(err error) {
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		if err != nil {
			l.errorf(nil, "", "schema: %v", err)
		}
		return
	}
	var own []string
	for _, d := range l.diags {
		if d.Severity == Error {
			own = append(own, d.pointer)
		}
	}
	for _, leaf := range leaves(ve) {
		ptr := ""
		for _, tok := range leaf.InstanceLocation {
			ptr += "/" + escapePointer(tok)
		}
		if slices.ContainsFunc(own, func(o string) bool {
			return o == ptr || strings.HasPrefix(o, ptr+"/") || strings.HasPrefix(ptr, o+"/") || ptr == "" || o == ""
		}) {
			continue
		}
		n := l.nodes[ptr]
		d := Diagnostic{Severity: Error, File: l.file, Line: 1, Column: 1, Rule: l.ruleAt(ptr),
			Message: "schema: " + displayPath(leaf.InstanceLocation) + leaf.ErrorKind.LocalizedString(printer), pointer: ptr}
		if n != nil {
			d.Line, d.Column = n.Line, n.Column
		}
		l.diags = append(l.diags, d)
		own = append(own, ptr)
	}
}

func displayPath(loc []string) string {
	if len(loc) == 0 {
		return ""
	}
	return strings.Join(loc, ".") + ": "
}

// ruleAt names the rule a JSON pointer points into, if any.
func (l *loader) ruleAt(ptr string) string {
	parts := strings.Split(ptr, "/")
	if len(parts) < 3 || parts[1] != "rules" {
		return ""
	}
	if n := l.nodes["/rules/"+parts[2]+"/name"]; n != nil {
		return n.Value
	}
	return ""
}

// leaves returns the most specific validation errors.
func leaves(ve *jsonschema.ValidationError) []*jsonschema.ValidationError {
	if len(ve.Causes) == 0 {
		return []*jsonschema.ValidationError{ve}
	}
	var out []*jsonschema.ValidationError
	for _, c := range ve.Causes {
		out = append(out, leaves(c)...)
	}
	return out
}
