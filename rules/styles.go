package rules

import (
	"errors"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/opaprules/opaprules/actions"
	"github.com/opaprules/opaprules/internal/ossimg"
)

// compileStyles reads the top-level styles: a mapping from a style name
// (OSS's rules: 1-63 letters, digits, _ - .) to an OSS IMG spec, each
// checked now, with errors at the faulty character of the name or spec.
func (l *loader) compileStyles(n *yaml.Node) actions.Styles {
	n = l.resolve(n)
	styles := actions.Styles{}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return styles
	}
	if n.Kind != yaml.MappingNode {
		l.errorf(n, "", "styles: want a mapping from style names to specs, got a %s", kindName(n))
		return styles
	}
	for _, p := range l.pairs(n) {
		name := p.key.Value
		if err := ossimg.CheckStyleName(name); err != nil {
			l.errorAt(l.scalarPos(p.key, offsetIn(p.key.Value, errorOffset(err))), p.key, "", "styles: "+errorMessage(err))
			continue
		}
		v := l.resolve(p.value)
		if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!str" {
			l.errorf(p.value, "", "styles.%s: want a spec such as image/resize,w_200, got a %s", name, kindName(v))
			continue
		}
		if err := actions.CheckOSSStyle(v.Value); err != nil {
			var ve *actions.ValueError
			off := 0
			if errors.As(err, &ve) {
				off, err = ve.Offset, ve.Err
			}
			l.errorAt(l.scalarPos(v, offsetIn(v.Value, off)), v, "", "styles."+name+": "+err.Error())
			continue
		}
		styles[name] = v.Value
	}
	return styles
}

// stepError reports an action's load error, at the character inside a
// parameter's value when the action says where (actions.ValueError), at
// the action's name otherwise.
func (l *loader) stepError(r *Rule, keyNode *yaml.Node, values map[string]*yaml.Node, action string, err error) {
	var ve *actions.ValueError
	if errors.As(err, &ve) {
		if n := values[ve.Param]; n != nil && n.Kind == yaml.ScalarNode {
			l.errorAt(l.scalarPos(n, offsetIn(n.Value, ve.Offset)), n, r.Name, action+"."+ve.Param+": "+ve.Err.Error())
			return
		}
	}
	l.errorf(keyNode, r.Name, "%s: %v", action, err)
}

// offsetIn turns a byte offset into s into the rune offset scalarPos
// takes, clamped to s.
func offsetIn(s string, byteOff int) int {
	byteOff = max(0, min(byteOff, len(s)))
	return utf8.RuneCountInString(s[:byteOff])
}

func errorOffset(err error) int {
	var e *ossimg.Error
	if errors.As(err, &e) {
		return e.Offset
	}
	return 0
}

// errorMessage is a parse error without its "(at character N)": the
// diagnostic carries the position.
func errorMessage(err error) string {
	var e *ossimg.Error
	if errors.As(err, &e) {
		return e.Msg
	}
	return err.Error()
}
