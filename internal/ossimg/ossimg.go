// Package ossimg reads the syntax of Alibaba Cloud OSS image processing
// (IMG) specs, the value of `x-oss-process`:
//
//	image/resize,m_fill,w_300,h_200/format,webp
//	style/thumbnail
//	video/snapshot,t_7000,f_jpg,w_800
//
// It knows the shape of a spec, not its meaning: a category (image, style,
// video), operations separated by '/', each a name followed by
// comma-separated parameters that are either key_value pairs or a bare
// value (rotate,90). Which operations exist and what their parameters mean
// is decided by whoever maps the operations onto real steps (the
// oss_process action); every element carries its byte offset in the spec,
// so that caller can point at the faulty token too.
//
// Parse never panics and refuses specs longer than MaxLen, with more than
// MaxOps operations or MaxArgs parameters per operation, so hostile input
// costs at most a few microseconds.
//
// The syntax follows Alibaba's IMG documentation: the access rules
// (operations run in order, image/resize,w_200/rotate,90:
// https://developer.aliyun.com/ask/212691), "Image styles" (style names:
// 1-63 characters of letters, digits, _ - .:
// https://alibabacloud.com/help/doc-detail/44687.html) and "Video
// snapshots" (https://alibabacloud.com/help/en/oss/user-guide/video-snapshots).
package ossimg

import (
	"fmt"
	"strings"
)

// Limits on one spec. Real specs are tens to a few hundred bytes; a text
// watermark's base64 is the longest part (OSS caps the text at 64 bytes
// before encoding).
const (
	MaxLen     = 4096
	MaxOps     = 32
	MaxArgs    = 24
	MaxNameLen = 63 // style names (OSS: 1-63 characters)
)

// Kind is the category of a spec, the part before the first '/'.
type Kind int

const (
	// Image is image/op,.../op,...
	Image Kind = iota + 1
	// Style is style/NAME: a named spec kept by the operator.
	Style
	// Video is video/snapshot,...
	Video
)

func (k Kind) String() string {
	switch k {
	case Image:
		return "image"
	case Style:
		return "style"
	case Video:
		return "video"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Spec is a parsed spec.
type Spec struct {
	Kind Kind
	// Style is the style's name, for Kind Style; StylePos its offset.
	Style    string
	StylePos int
	// Ops are the operations in order: image operations, or the single
	// video operation.
	Ops []Op
}

// Op is one operation: resize,w_300,h_200.
type Op struct {
	Name string
	// Pos is the byte offset of Name in the spec.
	Pos  int
	Args []Arg
}

// Arg is one parameter of an operation: a key_value pair, or a bare value
// (Key empty) as in rotate,90 and format,webp.
type Arg struct {
	Key   string
	Value string
	// Pos is the byte offset of the parameter (its key, or a bare value);
	// ValuePos that of its value.
	Pos      int
	ValuePos int
}

// Get returns the value of the parameter key and whether it is present.
func (o *Op) Get(key string) (Arg, bool) {
	for _, a := range o.Args {
		if a.Key == key {
			return a, true
		}
	}
	return Arg{}, false
}

// End is the offset just past the operation's last character.
func (o *Op) End() int {
	if len(o.Args) == 0 {
		return o.Pos + len(o.Name)
	}
	a := o.Args[len(o.Args)-1]
	return a.ValuePos + len(a.Value)
}

// Error is a syntax error at a byte offset of the spec. Op and Param name
// the operation and parameter it concerns, when there is one.
type Error struct {
	Offset int
	Op     string
	Param  string
	Msg    string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	if e.Param != "" {
		b.WriteString(e.Param)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	fmt.Fprintf(&b, " (at character %d)", e.Offset+1)
	return b.String()
}

func errAt(off int, op, param, format string, args ...any) *Error {
	return &Error{Offset: off, Op: op, Param: param, Msg: fmt.Sprintf(format, args...)}
}

// Parse reads a spec. The error, if any, is an *Error.
func Parse(spec string) (*Spec, error) {
	if len(spec) > MaxLen {
		return nil, errAt(MaxLen, "", "", "the spec is %d bytes, over the limit of %d", len(spec), MaxLen)
	}
	if i := badChar(spec); i >= 0 {
		return nil, errAt(i, "", "", "unexpected character %q: a spec holds printable ASCII only (base64url-encode text)", spec[i])
	}
	cat, rest, found := strings.Cut(spec, "/")
	if !found {
		if spec == "" {
			return nil, errAt(0, "", "", "empty spec: want image/..., style/NAME or video/snapshot,...")
		}
		return nil, errAt(0, "", "", "%q has no category: want image/..., style/NAME or video/snapshot,...", clip(spec))
	}
	start := len(cat) + 1
	switch cat {
	case "image":
		ops, err := parseOps(rest, start)
		if err != nil {
			return nil, err
		}
		if len(ops) == 0 {
			return nil, errAt(start, "", "", "no operation after image/")
		}
		return &Spec{Kind: Image, Ops: ops}, nil
	case "style":
		if err := checkStyleName(rest, start); err != nil {
			return nil, err
		}
		return &Spec{Kind: Style, Style: rest, StylePos: start}, nil
	case "video":
		ops, err := parseOps(rest, start)
		if err != nil {
			return nil, err
		}
		if len(ops) == 0 {
			return nil, errAt(start, "", "", "no operation after video/")
		}
		if len(ops) > 1 {
			return nil, errAt(ops[1].Pos, ops[1].Name, "", "video/ takes one operation")
		}
		return &Spec{Kind: Video, Ops: ops}, nil
	}
	return nil, errAt(0, "", "", "unknown category %q: want image/, style/ or video/", clip(cat))
}

// badChar returns the offset of the first byte that cannot appear in a
// spec (controls, spaces, non-ASCII), or -1.
func badChar(s string) int {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			return i
		}
	}
	return -1
}

// CheckStyleName reports whether name is a valid style name (1-63
// letters, digits, _ - .), with an *Error positioned within name.
func CheckStyleName(name string) error { return checkStyleName(name, 0) }

func checkStyleName(name string, start int) error {
	if name == "" {
		return errAt(start, "", "", "empty style name")
	}
	if len(name) > MaxNameLen {
		return errAt(start+MaxNameLen, "", "", "style name is %d characters, over the limit of %d", len(name), MaxNameLen)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !isAlnum(c) && c != '_' && c != '-' && c != '.' {
			return errAt(start+i, "", "", "style name: %q is not allowed (letters, digits, _ - . only)", c)
		}
	}
	return nil
}

func parseOps(s string, start int) ([]Op, error) {
	if s == "" {
		return nil, nil
	}
	var ops []Op
	off := start
	for seg := range strings.SplitSeq(s, "/") {
		segStart := off
		off += len(seg) + 1
		if seg == "" {
			if segStart == start+len(s) && len(ops) > 0 {
				break // one trailing '/' is tolerated
			}
			return nil, errAt(segStart, "", "", "empty operation (two '/' in a row?)")
		}
		if len(ops) == MaxOps {
			return nil, errAt(segStart, "", "", "more than %d operations", MaxOps)
		}
		op, err := parseOp(seg, segStart)
		if err != nil {
			return nil, err
		}
		ops = append(ops, op)
	}
	return ops, nil
}

func parseOp(seg string, start int) (Op, error) {
	name, rest, hasArgs := strings.Cut(seg, ",")
	if err := checkOpName(name, start); err != nil {
		return Op{}, err
	}
	op := Op{Name: name, Pos: start}
	if !hasArgs {
		return op, nil
	}
	off := start + len(name) + 1
	for tok := range strings.SplitSeq(rest, ",") {
		tokStart := off
		off += len(tok) + 1
		if len(op.Args) == MaxArgs {
			return Op{}, errAt(tokStart, name, "", "more than %d parameters", MaxArgs)
		}
		if tok == "" {
			return Op{}, errAt(tokStart, name, "", "empty parameter (two ',' in a row, or a trailing ',')")
		}
		key, value, kv := strings.Cut(tok, "_")
		if !kv {
			op.Args = append(op.Args, Arg{Value: tok, Pos: tokStart, ValuePos: tokStart})
			continue
		}
		if key == "" {
			return Op{}, errAt(tokStart, name, "", "parameter %q has no name before '_'", clip(tok))
		}
		for i := 0; i < len(key); i++ {
			if !isAlnum(key[i]) || (i == 0 && isDigit(key[i])) {
				if isDigit(key[0]) || key[0] == '-' {
					// rotate,-5_x and the like: a value with an '_' in it.
					return Op{}, errAt(tokStart, name, "", "%q is not a parameter (want key_value)", clip(tok))
				}
				return Op{}, errAt(tokStart+i, name, "", "parameter name %q holds %q (letters and digits only)", clip(key), key[i])
			}
		}
		if value == "" {
			return Op{}, errAt(tokStart+len(key)+1, name, key, "missing value after %s_", key)
		}
		if _, dup := op.Get(key); dup {
			return Op{}, errAt(tokStart, name, key, "given twice")
		}
		op.Args = append(op.Args, Arg{Key: key, Value: value, Pos: tokStart, ValuePos: tokStart + len(key) + 1})
	}
	return op, nil
}

// Operation names are lower-case words joined by '-': resize,
// rounded-corners, auto-orient, average-hue.
func checkOpName(name string, start int) error {
	if name == "" {
		return errAt(start, "", "", "missing operation name")
	}
	if len(name) > 32 {
		return errAt(start, "", "", "operation name %q is too long", clip(name))
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c == '-' && i > 0 && i < len(name)-1 || isDigit(c) && i > 0) {
			return errAt(start+i, "", "", "operation name %q holds %q (lower-case letters and '-')", clip(name), c)
		}
	}
	return nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || isDigit(c)
}

// clip keeps messages short whatever the input.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// String writes the spec back; Parse(s.String()) gives s again.
func (s *Spec) String() string {
	var b strings.Builder
	b.WriteString(s.Kind.String())
	b.WriteByte('/')
	if s.Kind == Style {
		b.WriteString(s.Style)
		return b.String()
	}
	for i, op := range s.Ops {
		if i > 0 {
			b.WriteByte('/')
		}
		b.WriteString(op.Name)
		for _, a := range op.Args {
			b.WriteByte(',')
			if a.Key != "" {
				b.WriteString(a.Key)
				b.WriteByte('_')
			}
			b.WriteString(a.Value)
		}
	}
	return b.String()
}
