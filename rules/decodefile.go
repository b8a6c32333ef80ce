package rules

import (
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/opaprules/opaprules/actions"
)

// DecodeFile decodes a YAML file other than rules.yaml (the rule tests'
// format, for one) into out, a pointer to a struct following the
// parameter tag conventions, with the same positioned errors as rules
// files: unknown keys, wrong types, and findings of the JSON schema
// identified by schemaID in schemaDoc. It reports whether decoding
// succeeded.
func DecodeFile(filename string, data []byte, out any, schemaID string, schemaDoc []byte) []Diagnostic {
	l := &loader{file: filename, ptrOf: map[*yaml.Node]string{}, nodes: map[string]*yaml.Node{}}
	l.decodeFile(data, out, schemaID, schemaDoc)
	return l.finish()
}

func (l *loader) decodeFile(data []byte, out any, schemaID string, schemaDoc []byte) {
	if len(data) > MaxFileSize {
		l.errorf(nil, "", "file is over the limit of %d bytes (1 MiB)", MaxFileSize)
		return
	}
	l.lines = strings.Split(string(data), "\n")
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		l.yamlSyntax(err)
		return
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		l.errorf(nil, "", "the file is empty")
		return
	}
	root := doc.Content[0]
	value, err := l.toJSON(root, "")
	if err != nil {
		l.errorf(root, "", "%v", err)
		return
	}
	v := reflect.ValueOf(out).Elem()
	l.decode(root, v, "", "")
	for _, f := range actions.ParamsFor(v.Type()).Fields {
		if f.Required && !hasKey(l, root, f.Name) {
			l.errorf(root, "", "missing %q", f.Name)
		}
	}
	s, err := compileSchema(schemaID, schemaDoc)
	if err != nil {
		l.errorf(nil, "", "%v", err)
		return
	}
	l.reportSchema(s.Validate(value))
}

func hasKey(l *loader, n *yaml.Node, name string) bool {
	for _, p := range l.pairs(n) {
		if p.key.Value == name {
			return true
		}
	}
	return false
}

// NodeLines returns the line of each item of the top-level list under key,
// for tools that report per item (the rule tests report per case).
func NodeLines(data []byte, key string) []int {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return nil
	}
	l := &loader{}
	for _, p := range l.pairs(doc.Content[0]) {
		if p.key.Value == key {
			var lines []int
			for _, item := range l.resolve(p.value).Content {
				lines = append(lines, item.Line)
			}
			return lines
		}
	}
	return nil
}
