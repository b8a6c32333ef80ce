package actions

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opaprules/opaprules/internal/ossimg"
)

func init() {
	Register(Definition{
		Name:    "oss_process",
		Summary: "Run an OSS IMG spec (image/resize,w_300/format,webp, style/NAME) as the steps of this plan.",
		Doc: "`spec` is what OSS users put in `x-oss-process`, usually `${ query['x-oss-process'] }`. " +
			"Each operation maps onto the actions of this page (resize, crop, slice, circle, " +
			"rounded_corners, rotate, adjust, watermark, convert, image_info, average_hue) and runs " +
			"on the plan's one decoded image, under its limits: a resize that comes first decodes " +
			"a JPEG at 1/2, 1/4 or 1/8 as `resize` does. `format`, `quality` and `interlace` set " +
			"the output wherever they appear; `auto-orient,0` keeps EXIF-rotated pixels as stored. " +
			"`style/NAME` runs the spec of that name from the file's top-level `styles:`.\n\n" +
			"A spec the client wrote is checked against `allow` (its operations; `style` lets it " +
			"name styles) and `watermark_prefixes` (the objects it may draw as watermarks: a " +
			"watermark can copy any object's pixels into the answer). A literal spec and the " +
			"styles are the operator's and are checked when the rules load, with positions. Bad " +
			"input answers 400 (an unknown style 404 `NoSuchStyle`) with OSS's error code and, " +
			"where OSS documents one, its `<EC>`. docs/oss-img.md lists every operation and " +
			"parameter with what differs from OSS.",
		Class: Transform,
		New:   func() Action { return &OSSProcess{} },
	})
}

// Styles are named OSS IMG specs, the top-level `styles:` of a rules file.
type Styles map[string]string

// StyleUser is implemented by actions that resolve named styles. The
// loader hands them the file's styles before Prepare; the per-request
// copies share them.
type StyleUser interface {
	UseStyles(Styles)
}

// OSSProcess runs an OSS IMG spec on the plan's object.
type OSSProcess struct {
	Spec              string   `yaml:"spec" required:"true" doc:"the spec: image/op,k_v/..., style/NAME or video/snapshot,...; usually ${ query['x-oss-process'] }"`
	Allow             []string `yaml:"allow" enum:"resize,crop,indexcrop,circle,rounded-corners,rotate,auto-orient,bright,contrast,sharpen,blur,format,quality,interlace,watermark,info,average-hue,style,snapshot" doc:"the operations a client's spec may use (style: naming a style); empty or absent allows all. A style's own operations are the operator's and are not checked"`
	WatermarkPrefixes []string `yaml:"watermark_prefixes" doc:"object key prefixes a client's spec may draw as watermark images (image_); empty or absent allows none. Styles and literal specs may use any"`
	FontDir           string   `yaml:"font_dir" template:"false" doc:"directory holding the fonts text watermarks name with type_ (wqy-zenhei.ttc, fangzhengshusong.ttf, ...); without it every text is drawn in goregular"`

	styles Styles
	// compiled is the plan of compiledSpec: a literal spec's, built at
	// load, or a request's, built by Validate on its own copy.
	compiled     *ossPlan
	compiledSpec string
}

// UseStyles receives the file's styles.
func (p *OSSProcess) UseStyles(s Styles) { p.styles = s }

// ReadsOriginalByURL reports whether the spec is a video snapshot, which
// reads the original by ranges.
func (p *OSSProcess) ReadsOriginalByURL() bool {
	if p.compiled == nil || len(p.compiled.steps) == 0 {
		return false
	}
	r, ok := p.compiled.steps[0].action.(URLReader)
	return ok && r.ReadsOriginalByURL()
}

// Prepare checks and compiles a literal spec once; a templated spec is
// empty here and compiled per request.
func (p *OSSProcess) Prepare() error {
	if p.FontDir != "" {
		if st, err := os.Stat(p.FontDir); err != nil || !st.IsDir() {
			return fmt.Errorf("font_dir: %s is not a directory", p.FontDir)
		}
	}
	if p.Spec == "" {
		return nil
	}
	plan, err := p.compile(p.Spec, true)
	if err != nil {
		var oe *ossError
		if errors.As(err, &oe) {
			return &ValueError{Param: "spec", Offset: oe.offset, Err: errors.New(oe.message())}
		}
		return err
	}
	p.compiled, p.compiledSpec = plan, p.Spec
	return nil
}

// Validate compiles a request's spec when the rules resolve the plan,
// before the original is read: a bad spec costs no origin GET. It runs on
// the request's own copy of the action, which keeps the plan for Apply.
func (p *OSSProcess) Validate() error {
	if p.compiled != nil && p.compiledSpec == p.Spec {
		return nil
	}
	plan, err := p.compile(p.Spec, false)
	if err != nil {
		return clientOSSError(err)
	}
	p.compiled, p.compiledSpec = plan, p.Spec
	return nil
}

// Predict sets the headers the spec implies (format's Content-Type, the
// JSON of info and average-hue), for dry-run and rule tests.
func (p *OSSProcess) Predict(obj *Object) {
	plan := p.compiled
	if plan == nil || p.compiledSpec != p.Spec {
		var err error
		if plan, err = p.compile(p.Spec, false); err != nil {
			return
		}
	}
	for _, st := range plan.steps {
		if pr, ok := st.action.(Predictor); ok {
			pr.Predict(obj)
		}
	}
}

// Fingerprint names what the spec stands for beyond its text: a style's
// content, which the operator may change under the same name.
func (p *OSSProcess) Fingerprint() string {
	name, ok := strings.CutPrefix(p.Spec, "style/")
	if !ok {
		return ""
	}
	return p.styles[name]
}

// Apply compiles the spec (unless it was at load) and runs its steps.
func (p *OSSProcess) Apply(ctx context.Context, obj *Object) error {
	plan := p.compiled
	if plan == nil || p.compiledSpec != p.Spec {
		var err error
		if plan, err = p.compile(p.Spec, false); err != nil {
			return clientOSSError(err)
		}
	}
	if plan.keepOrientation {
		obj.imageState().keepOrientation = true
	}
	for _, st := range plan.steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		if st.check != nil {
			if err := st.check(ctx, obj); err != nil {
				return clientOSSError(err)
			}
		}
		if err := st.action.Apply(ctx, obj); err != nil {
			return stepError(st, err)
		}
	}
	return nil
}

// stepError names the OSS operation in an action's client error, and turns
// a missing watermark object into the client's error it is.
func stepError(st ossStep, err error) error {
	if e, ok := AsError(err); ok && e.Status < 500 {
		named := *e
		named.Message = st.op + ": " + e.Message
		return &named
	}
	if errors.Is(err, fs.ErrNotExist) && st.op == "watermark" {
		return &Error{Status: http.StatusBadRequest, Code: CodeWatermarkError,
			Message: "watermark: the watermark image does not exist in this bucket", Cause: err}
	}
	return err
}

// ossPlan is a compiled spec: the actions to run, in order.
type ossPlan struct {
	steps []ossStep
	// keepOrientation is auto-orient,0: decode without turning the pixels.
	keepOrientation bool
}

type ossStep struct {
	op     string // the OSS operation, for messages
	action Action
	// check runs before the action, for what needs the image (crop's
	// start must lie inside it).
	check func(ctx context.Context, obj *Object) error
}

// ossError is a client error in a spec, at a byte offset of it.
type ossError struct {
	offset    int
	op, param string
	status    int
	code, ec  string
	msg       string
}

func (e *ossError) Error() string { return e.message() }

func (e *ossError) message() string {
	var b strings.Builder
	if e.op != "" {
		b.WriteString(e.op + ": ")
	}
	if e.param != "" {
		b.WriteString(e.param + ": ")
	}
	b.WriteString(e.msg)
	return b.String()
}

// clientOSSError turns a spec error into the client's error response.
func clientOSSError(err error) error {
	var oe *ossError
	if !errors.As(err, &oe) {
		return err
	}
	status, code := oe.status, oe.code
	if status == 0 {
		status = http.StatusBadRequest
	}
	if code == "" {
		code = CodeInvalidArgument
	}
	return &Error{Status: status, Code: code, EC: oe.ec, Message: oe.message()}
}

// ValueError is a load error inside one parameter's value, at a byte
// offset of it, so validate can point at the faulty character.
type ValueError struct {
	Param  string
	Offset int
	Err    error
}

func (e *ValueError) Error() string { return e.Param + ": " + e.Err.Error() }
func (e *ValueError) Unwrap() error { return e.Err }

// CheckOSSStyle checks the spec of a style as the loader does for the
// top-level styles: it must be an image or video spec (not another
// style) that compiles. The error is a *ValueError positioned in spec.
func CheckOSSStyle(spec string) error {
	p := &OSSProcess{}
	if s, err := ossimg.Parse(spec); err == nil && s.Kind == ossimg.Style {
		return &ValueError{Param: "style", Offset: 0, Err: errors.New("a style cannot name another style")}
	}
	if _, err := p.compile(spec, true); err != nil {
		var oe *ossError
		if errors.As(err, &oe) {
			return &ValueError{Param: "style", Offset: oe.offset, Err: errors.New(oe.message())}
		}
		return err
	}
	return nil
}

// compile parses spec and maps its operations onto actions, checking
// everything that does not need the image. trusted specs (literal, or a
// style) skip allow and watermark_prefixes.
func (p *OSSProcess) compile(spec string, trusted bool) (*ossPlan, error) {
	s, err := ossimg.Parse(spec)
	if err != nil {
		var se *ossimg.Error
		if errors.As(err, &se) {
			oe := &ossError{offset: se.Offset, op: se.Op, param: se.Param, msg: se.Msg}
			if strings.HasPrefix(se.Msg, "no operation") {
				oe.ec = "0040-00000212" // OSS: image/ without an operation
			}
			return nil, oe
		}
		return nil, err
	}
	switch s.Kind {
	case ossimg.Style:
		if !trusted && !p.allows("style") {
			return nil, &ossError{offset: 0, status: http.StatusForbidden, code: CodeAccessDenied, msg: "styles are not allowed here"}
		}
		content, ok := p.styles[s.Style]
		if !ok {
			return nil, &ossError{offset: s.StylePos, status: http.StatusNotFound, code: CodeNoSuchStyle,
				msg: fmt.Sprintf("the style %q does not exist", s.Style)}
		}
		inner, err := ossimg.Parse(content)
		if err != nil || inner.Kind == ossimg.Style {
			// Checked at load; a style never reaches here broken.
			return nil, &ossError{offset: s.StylePos, msg: fmt.Sprintf("the style %q is not a valid spec", s.Style)}
		}
		c := &ossCompiler{p: p, trusted: true}
		plan, err := c.plan(inner)
		if err != nil {
			var oe *ossError
			if errors.As(err, &oe) {
				oe.msg += fmt.Sprintf(" (in style %q)", s.Style)
				oe.offset = s.StylePos
			}
			return nil, err
		}
		return plan, nil
	case ossimg.Video:
		op := s.Ops[0]
		if !trusted && !p.allows("snapshot") {
			return nil, &ossError{offset: op.Pos, op: op.Name, status: http.StatusForbidden, code: CodeAccessDenied, msg: "this operation is not allowed here"}
		}
		c := &ossCompiler{p: p, trusted: trusted}
		st, err := c.snapshot(&op)
		if err != nil {
			return nil, err
		}
		return &ossPlan{steps: []ossStep{st}}, nil
	}
	c := &ossCompiler{p: p, trusted: trusted}
	return c.plan(s)
}

func (p *OSSProcess) allows(op string) bool {
	return len(p.Allow) == 0 || slices.Contains(p.Allow, op)
}

// ossCompiler maps one image spec.
type ossCompiler struct {
	p       *OSSProcess
	trusted bool
	out     *Convert // format, quality and interlace, applied after the pixel steps
	outPos  int
	last    *ossimg.Op // info or average-hue: nothing may follow
}

// ossOps are the image operations and their mappers.
var ossOps = map[string]func(c *ossCompiler, op *ossimg.Op) ([]ossStep, error){
	"resize":          (*ossCompiler).resize,
	"crop":            (*ossCompiler).crop,
	"indexcrop":       (*ossCompiler).indexcrop,
	"circle":          (*ossCompiler).circle,
	"rounded-corners": (*ossCompiler).roundedCorners,
	"rotate":          (*ossCompiler).rotate,
	"auto-orient":     nil, // handled in plan
	"bright":          (*ossCompiler).bright,
	"contrast":        (*ossCompiler).contrast,
	"sharpen":         (*ossCompiler).sharpen,
	"blur":            (*ossCompiler).blur,
	"format":          nil, // output settings, handled in plan
	"quality":         nil,
	"interlace":       nil,
	"watermark":       (*ossCompiler).watermark,
	"info":            (*ossCompiler).info,
	"average-hue":     (*ossCompiler).averageHue,
}

// OSSOperations lists the image operations oss_process knows, sorted.
func OSSOperations() []string {
	names := make([]string, 0, len(ossOps))
	for n := range ossOps {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func (c *ossCompiler) plan(s *ossimg.Spec) (*ossPlan, error) {
	plan := &ossPlan{}
	for i := range s.Ops {
		op := &s.Ops[i]
		mapper, known := ossOps[op.Name]
		if !known {
			return nil, c.fail(op, "", "0040-00000213", "unknown operation (known: %s)", strings.Join(OSSOperations(), ", "))
		}
		if !c.trusted && !c.p.allows(op.Name) {
			return nil, &ossError{offset: op.Pos, op: op.Name, status: http.StatusForbidden, code: CodeAccessDenied, msg: "this operation is not allowed here"}
		}
		if c.last != nil {
			return nil, c.fail(op, "", "", "nothing may follow %s, which answers with JSON", c.last.Name)
		}
		var err error
		switch op.Name {
		case "auto-orient":
			var v int
			if v, err = c.bare(op, 0, 1, "0040-00000215"); err == nil {
				plan.keepOrientation = v == 0
			}
		case "format", "quality", "interlace":
			err = c.output(op)
		default:
			var steps []ossStep
			if steps, err = mapper(c, op); err == nil {
				plan.steps = append(plan.steps, steps...)
			}
		}
		if err != nil {
			return nil, err
		}
		if op.Name == "info" || op.Name == "average-hue" {
			c.last = op
		}
	}
	if c.out != nil {
		if err := c.out.Validate(); err != nil {
			return nil, &ossError{offset: c.outPos, msg: err.Error()}
		}
		st := ossStep{op: "format", action: c.out}
		// The output settings go after the pixel steps, before a final
		// info or average-hue (which then describe the encoded result).
		n := len(plan.steps)
		if c.last != nil {
			n--
		}
		plan.steps = slices.Insert(plan.steps, n, st)
	}
	return plan, nil
}

func (c *ossCompiler) fail(op *ossimg.Op, param, ec, format string, args ...any) *ossError {
	off := op.Pos
	if a, ok := op.Get(param); ok && param != "" {
		off = a.Pos
	}
	return &ossError{offset: off, op: op.Name, param: param, ec: ec, msg: fmt.Sprintf(format, args...)}
}

// known refuses parameters the operation does not take.
func (c *ossCompiler) known(op *ossimg.Op, keys ...string) error {
	for _, a := range op.Args {
		if a.Key == "" {
			return &ossError{offset: a.Pos, op: op.Name, msg: fmt.Sprintf("unexpected value %q (want key_value)", clip(a.Value))}
		}
		if !slices.Contains(keys, a.Key) {
			return &ossError{offset: a.Pos, op: op.Name, param: a.Key, msg: fmt.Sprintf("unknown parameter (known: %s)", strings.Join(keys, ", "))}
		}
	}
	return nil
}

// integer reads parameter key as an integer in [lo, hi]; present is false
// when it is absent.
func (c *ossCompiler) integer(op *ossimg.Op, key string, lo, hi int, ec string) (v int, present bool, err error) {
	a, ok := op.Get(key)
	if !ok {
		return 0, false, nil
	}
	v, err = strconv.Atoi(a.Value)
	if err != nil || v < lo || v > hi {
		return 0, true, &ossError{offset: a.ValuePos, op: op.Name, param: key, ec: ec,
			msg: fmt.Sprintf("%q is not an integer in [%d, %d]", clip(a.Value), lo, hi)}
	}
	return v, true, nil
}

// bare reads the one bare value of rotate,90-style operations.
func (c *ossCompiler) bare(op *ossimg.Op, lo, hi int, ec string) (int, error) {
	if len(op.Args) != 1 || op.Args[0].Key != "" {
		missing := ec
		if op.Name == "rotate" {
			missing = "0040-00000216"
		}
		if len(op.Args) > 1 {
			missing = "0040-00000203" // OSS: several values for a one-value operation
		}
		return 0, &ossError{offset: op.Pos, op: op.Name, ec: missing, msg: fmt.Sprintf("want one value in [%d, %d], as in %s,%d", lo, hi, op.Name, hi)}
	}
	a := op.Args[0]
	v, err := strconv.Atoi(a.Value)
	if err != nil || v < lo || v > hi {
		return 0, &ossError{offset: a.ValuePos, op: op.Name, ec: ec, msg: fmt.Sprintf("%q is not an integer in [%d, %d]", clip(a.Value), lo, hi)}
	}
	return v, nil
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// Video snapshot: t (ms), w, h, m_fast, f (jpg, png), ar_auto (Alibaba
// Cloud OSS, "Video snapshots"). Onto the snapshot action, which reads the
// video by ranges; it always honours the video's rotation, so ar_auto is
// what it does anyway.
func (c *ossCompiler) snapshot(op *ossimg.Op) (ossStep, error) {
	if err := c.known(op, "t", "w", "h", "m", "f", "ar"); err != nil {
		return ossStep{}, err
	}
	t, has, err := c.integer(op, "t", 0, math.MaxInt32, "")
	if err != nil {
		return ossStep{}, err
	}
	if !has {
		return ossStep{}, &ossError{offset: op.Pos, op: op.Name, code: CodeMissingArgument, msg: "set t, the time of the frame in milliseconds"}
	}
	snap := &Snapshot{At: VideoTime(time.Duration(t) * time.Millisecond), Mode: "accurate", Format: "jpeg"}
	for _, dim := range []struct {
		key string
		dst *int
	}{{"w", &snap.Width}, {"h", &snap.Height}} {
		if *dim.dst, _, err = c.integer(op, dim.key, 0, 16384, ""); err != nil {
			return ossStep{}, err
		}
	}
	if a, ok := op.Get("m"); ok {
		if a.Value != "fast" {
			return ossStep{}, c.fail(op, "m", "", "%q is not a mode (want fast)", clip(a.Value))
		}
		snap.Mode = "fast"
	}
	if a, ok := op.Get("f"); ok {
		switch a.Value {
		case "jpg", "jpeg":
		case "png":
			snap.Format = "png"
		default:
			return ossStep{}, c.fail(op, "f", "", "%q is not a snapshot format (want jpg or png)", clip(a.Value))
		}
	}
	if a, ok := op.Get("ar"); ok && a.Value != "auto" {
		return ossStep{}, c.fail(op, "ar", "", "%q: want auto", clip(a.Value))
	}
	return ossStep{op: op.Name, action: snap}, nil
}

// Resize: m, w, h, l, s, p, limit, color (Alibaba Cloud OSS, "Resize
// images": https://www.alibabacloud.com/help/en/oss/user-guide/resize-images-4).
func (c *ossCompiler) resize(op *ossimg.Op) ([]ossStep, error) {
	if err := c.known(op, "m", "w", "h", "l", "s", "p", "limit", "color"); err != nil {
		return nil, err
	}
	r := registered("resize").(*Resize)
	r.Mode = "fit"
	if a, ok := op.Get("m"); ok {
		modes := map[string]string{"lfit": "fit", "mfit": "cover", "fill": "fill", "pad": "pad", "fixed": "force"}
		if r.Mode, ok = modes[a.Value]; !ok {
			return nil, &ossError{offset: a.ValuePos, op: op.Name, param: "m", ec: "0040-00000311", msg: fmt.Sprintf("%q is not one of lfit, mfit, fill, pad, fixed", clip(a.Value))}
		}
	}
	var sides [4]int
	var given [4]bool
	for i, k := range []string{"w", "h", "l", "s"} {
		ec := map[string]string{"w": "0040-00000312", "l": "0040-00000314", "s": "0040-00000315"}[k]
		var err error
		if sides[i], given[i], err = c.integer(op, k, 1, 16384, ec); err != nil {
			return nil, err
		}
	}
	p, hasP, err := c.integer(op, "p", 1, 1000, "0040-00000317")
	if err != nil {
		return nil, err
	}
	limit, hasLimit, err := c.integer(op, "limit", 0, 1, "0040-00000319")
	if err != nil {
		return nil, err
	}
	if a, ok := op.Get("color"); ok {
		if err := r.Background.UnmarshalText([]byte("#" + a.Value)); err != nil || len(a.Value) != 6 {
			return nil, &ossError{offset: a.ValuePos, op: op.Name, param: "color", msg: fmt.Sprintf("%q is not an RRGGBB colour such as FF0000", clip(a.Value))}
		}
	}
	// fill, pad and fixed with one side make a square box; lfit and
	// mfit follow the aspect ratio.
	square := r.Mode == "fill" || r.Mode == "pad" || r.Mode == "force"
	switch {
	case given[0] || given[1]:
		r.Width, r.Height = sides[0], sides[1]
		if square && r.Width == 0 {
			r.Width = r.Height
		}
		if square && r.Height == 0 {
			r.Height = r.Width
		}
	case given[2] || given[3]:
		r.Long, r.Short = sides[2], sides[3]
		if square && r.Long == 0 {
			r.Long = r.Short
		}
		if square && r.Short == 0 {
			r.Short = r.Long
		}
	case hasP:
		r.Percent = float64(p)
	default:
		return nil, &ossError{offset: op.Pos, op: op.Name, code: CodeMissingArgument, ec: "0040-00000322", msg: "set w, h, l, s or p"}
	}
	r.Upscale = hasLimit && limit == 0
	r.KeepSmall = !r.Upscale
	return []ossStep{{op: op.Name, action: r}}, nil
}

// ossGravity maps OSS's nine origins onto ours.
var ossGravity = map[string]string{
	"nw": gravityNorthWest, "north": gravityNorth, "ne": gravityNorthEast,
	"west": gravityWest, "center": gravityCenter, "east": gravityEast,
	"sw": gravitySouthWest, "south": gravitySouth, "se": gravitySouthEast,
}

// Crop: x, y, w, h, g ("Custom crop").
func (c *ossCompiler) crop(op *ossimg.Op) ([]ossStep, error) {
	if err := c.known(op, "x", "y", "w", "h", "g"); err != nil {
		return nil, err
	}
	cr := &Crop{}
	for _, f := range []struct {
		key string
		dst *int
		ec  string
	}{{"x", &cr.X, ""}, {"y", &cr.Y, ""}, {"w", &cr.Width, "0040-00000225"}, {"h", &cr.Height, "0040-00000226"}} {
		v, _, err := c.integer(op, f.key, 0, 1<<24, f.ec)
		if err != nil {
			return nil, err
		}
		*f.dst = v
	}
	if a, ok := op.Get("g"); ok {
		g, known := ossGravity[a.Value]
		if !known {
			return nil, &ossError{offset: a.ValuePos, op: op.Name, param: "g", ec: "0040-00000209", msg: fmt.Sprintf("%q is not one of nw, north, ne, west, center, east, sw, south, se", clip(a.Value))}
		}
		if g != gravityNorthWest {
			cr.Gravity = g
		}
	}
	if len(op.Args) == 0 {
		return nil, &ossError{offset: op.Pos, op: op.Name, code: CodeMissingArgument, msg: "set x, y, w, h or g"}
	}
	if cr.Gravity == "" && cr.X == 0 && cr.Y == 0 && cr.Width == 0 && cr.Height == 0 {
		cr.Gravity = gravityNorthWest // the whole image
	}
	check := func(ctx context.Context, obj *Object) error {
		img, err := obj.Image(ctx)
		if err != nil {
			return err
		}
		b := img.Bounds()
		if _, start := cr.window(img.Frames[0].Image); start.X >= b.Dx() || start.Y >= b.Dy() {
			// OSS's own message for this case ("Custom crop", usage notes).
			return &ossError{offset: op.Pos, op: op.Name, msg: fmt.Sprintf("Advance cut's position is out of image. (start %d,%d; image %d×%d)", start.X, start.Y, b.Dx(), b.Dy())}
		}
		return nil
	}
	return []ossStep{{op: op.Name, action: cr, check: check}}, nil
}

// Indexcrop: x or y, i ("Indexed slice").
func (c *ossCompiler) indexcrop(op *ossimg.Op) ([]ossStep, error) {
	if err := c.known(op, "x", "y", "i"); err != nil {
		return nil, err
	}
	s := &Slice{}
	var err error
	var hasX, hasY bool
	if s.Width, hasX, err = c.integer(op, "x", 1, 1<<24, "0040-00000230"); err != nil {
		return nil, err
	}
	if s.Height, hasY, err = c.integer(op, "y", 1, 1<<24, "0040-00000230"); err != nil {
		return nil, err
	}
	if s.Index, _, err = c.integer(op, "i", 0, 1<<30, "0040-00000229"); err != nil {
		return nil, err
	}
	if !hasX && !hasY {
		return nil, &ossError{offset: op.Pos, op: op.Name, code: CodeMissingArgument, ec: "0040-00000230", msg: "set x or y"}
	}
	return []ossStep{{op: op.Name, action: s}}, nil
}

// Circle: r ("Circle crop").
func (c *ossCompiler) circle(op *ossimg.Op) ([]ossStep, error) {
	if err := c.known(op, "r"); err != nil {
		return nil, err
	}
	r, has, err := c.integer(op, "r", 1, 4096, "0040-00000233")
	if err != nil {
		return nil, err
	}
	if !has {
		return nil, &ossError{offset: op.Pos, op: op.Name, code: CodeMissingArgument, ec: "0040-00000233", msg: "set r"}
	}
	return []ossStep{{op: op.Name, action: &Circle{Radius: r}}}, nil
}

// Rounded-corners: r ("Rounded rectangle").
func (c *ossCompiler) roundedCorners(op *ossimg.Op) ([]ossStep, error) {
	if err := c.known(op, "r"); err != nil {
		return nil, err
	}
	r, has, err := c.integer(op, "r", 1, 4096, "0040-00000237")
	if err != nil {
		return nil, err
	}
	if !has {
		return nil, &ossError{offset: op.Pos, op: op.Name, code: CodeMissingArgument, ec: "0040-00000237", msg: "set r"}
	}
	return []ossStep{{op: op.Name, action: &RoundedCorners{Radius: r}}}, nil
}

// Rotate: a clockwise angle in [0, 360] ("Rotate").
func (c *ossCompiler) rotate(op *ossimg.Op) ([]ossStep, error) {
	v, err := c.bare(op, 0, 360, "0040-00000217")
	if err != nil {
		return nil, err
	}
	r := registered("rotate").(*Rotate)
	r.Angle = float64(v)
	return []ossStep{{op: op.Name, action: r}}, nil
}

func (c *ossCompiler) adjust(op *ossimg.Op, lo, hi int, set func(a *Adjust, v int)) ([]ossStep, error) {
	v, err := c.bare(op, lo, hi, "")
	if err != nil {
		return nil, err
	}
	a := registered("adjust").(*Adjust)
	set(a, v)
	if len(a.steps()) == 0 {
		return nil, nil // bright,0 and contrast,0 change nothing
	}
	return []ossStep{{op: op.Name, action: a}}, nil
}

// Bright, contrast: [-100, 100]; sharpen: [50, 399] ("Brightness",
// "Contrast", "Sharpen").
func (c *ossCompiler) bright(op *ossimg.Op) ([]ossStep, error) {
	return c.adjust(op, -100, 100, func(a *Adjust, v int) { a.Brightness = float64(v) })
}

func (c *ossCompiler) contrast(op *ossimg.Op) ([]ossStep, error) {
	return c.adjust(op, -100, 100, func(a *Adjust, v int) { a.Contrast = float64(v) })
}

func (c *ossCompiler) sharpen(op *ossimg.Op) ([]ossStep, error) {
	// OSS's scale has 100 as its recommended strength: an unsharp mask of
	// one pixel's sigma.
	return c.adjust(op, 50, 399, func(a *Adjust, v int) { a.Sharpen = float64(v) / 100 })
}

// Blur: r (radius) and s (sigma), both in [1, 50] ("Blur").
func (c *ossCompiler) blur(op *ossimg.Op) ([]ossStep, error) {
	if err := c.known(op, "r", "s"); err != nil {
		return nil, err
	}
	r, hasR, err := c.integer(op, "r", 1, 50, "")
	if err != nil {
		return nil, err
	}
	s, hasS, err := c.integer(op, "s", 1, 50, "")
	if err != nil {
		return nil, err
	}
	if !hasR || !hasS {
		return nil, &ossError{offset: op.Pos, op: op.Name, code: CodeMissingArgument, msg: "set both r and s"}
	}
	a := registered("adjust").(*Adjust)
	a.Blur, a.BlurRadius = float64(s), r
	return []ossStep{{op: op.Name, action: a}}, nil
}

// output folds format, quality and interlace into one convert.
func (c *ossCompiler) output(op *ossimg.Op) error {
	if c.out == nil {
		c.out = registered("convert").(*Convert)
		c.out.Format = "keep"
		c.outPos = op.Pos
	}
	switch op.Name {
	case "format":
		if len(op.Args) != 1 || op.Args[0].Key != "" {
			return &ossError{offset: op.Pos, op: op.Name, msg: "want one format, as in format,webp"}
		}
		a := op.Args[0]
		switch a.Value {
		case "jpg", "jpeg":
			c.out.Format = "jpeg"
		case "png", "webp", "bmp", "tiff", "avif":
			c.out.Format = a.Value
		case "gif":
			// OSS keeps a GIF a GIF and any other source in its format.
			c.out.Format = "keep"
		case "heic":
			return &ossError{offset: a.ValuePos, op: op.Name, code: CodeNotImplemented, msg: "heic output is not supported (avif is)"}
		default:
			return &ossError{offset: a.ValuePos, op: op.Name, msg: fmt.Sprintf("%q is not one of jpg, png, webp, bmp, gif, tiff, avif", clip(a.Value))}
		}
	case "interlace":
		v, err := c.bare(op, 0, 1, "0040-00000281")
		if err != nil {
			return err
		}
		c.out.Progressive = v == 1
	case "quality":
		if err := c.known(op, "q", "Q"); err != nil {
			var oe *ossError
			if errors.As(err, &oe) && oe.param == "" {
				oe.ec = "0040-00000310"
			}
			return err
		}
		if len(op.Args) == 0 {
			return &ossError{offset: op.Pos, op: op.Name, code: CodeMissingArgument, ec: "0040-00000307", msg: "set q (relative) or Q (absolute)"}
		}
		read := func(key, ec string) (v int, lossless, present bool, err error) {
			a, ok := op.Get(key)
			if !ok {
				return 0, false, false, nil
			}
			if a.Value == "lossless" {
				return 0, true, true, nil
			}
			v, present, err = c.integer(op, key, 1, 100, ec)
			return v, false, present, err
		}
		q, qLossless, hasQ, err := read("q", "0040-00000309")
		if err != nil {
			return err
		}
		Q, QLossless, hasBigQ, err := read("Q", "0040-00000308")
		if err != nil {
			return err
		}
		switch {
		case hasBigQ: // Q wins when both are given
			c.out.Quality, c.out.RelativeQuality, c.out.NotAboveSource, c.out.Lossless = Q, 0, true, QLossless
		case hasQ:
			c.out.Quality, c.out.RelativeQuality, c.out.NotAboveSource, c.out.Lossless = 0, q, false, qLossless
		}
		if c.out.Lossless && c.out.Format != "webp" && c.out.Format != "keep" {
			c.out.Lossless = false // lossless only means something for WebP
		}
	}
	if c.out.Lossless && c.out.Format != "webp" && c.out.Format != "keep" {
		c.out.Lossless = false
	}
	return nil
}

func (c *ossCompiler) info(op *ossimg.Op) ([]ossStep, error) {
	if len(op.Args) > 0 {
		return nil, c.fail(op, "", "", "takes no parameters")
	}
	return []ossStep{{op: op.Name, action: &ImageInfo{}}}, nil
}

func (c *ossCompiler) averageHue(op *ossimg.Op) ([]ossStep, error) {
	if len(op.Args) > 0 {
		return nil, c.fail(op, "", "", "takes no parameters")
	}
	return []ossStep{{op: op.Name, action: &AverageHue{}}}, nil
}

// ossFonts are the type_ names of OSS text watermarks.
var ossFonts = []string{"wqy-zenhei", "wqy-microhei", "fangzhengshusong", "fangzhengkaiti", "fangzhengheiti", "fangzhengfangsong", "droidsansfallback"}

// decode64 reads a URL-safe base64 value, padded or not, as OSS writes
// them (RFC 4648 §5).
func decode64(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

// Watermark: t, g, x, y, voffset, fill, padx, pady; text_, type_, color_,
// size_, shadow_, rotate_; image_; order, align, interval ("Add
// watermarks": https://help.aliyun.com/en/oss/user-guide/add-watermarks).
func (c *ossCompiler) watermark(op *ossimg.Op) ([]ossStep, error) {
	if err := c.known(op, "t", "g", "x", "y", "voffset", "fill", "padx", "pady", "text", "type", "color", "size", "shadow", "rotate", "image", "order", "align", "interval"); err != nil {
		return nil, err
	}
	w := registered("watermark").(*Watermark)
	w.Opacity, w.Position, w.Size, w.Color = 1, gravitySouthEast, 40, Color{NRGBA: black, Set: true}
	w.MarginX, w.MarginY, w.GapX, w.GapY = 10, 10, 0, 0
	ints := []struct {
		key    string
		lo, hi int
		ec     string
		set    func(int)
	}{
		{"t", 0, 100, "", func(v int) { w.Opacity = float64(v) / 100 }},
		{"x", 0, 4096, "", func(v int) { w.MarginX = v }},
		{"y", 0, 4096, "", func(v int) { w.MarginY = v }},
		{"voffset", -1000, 1000, "0040-00000268", func(v int) { w.OffsetY = v }},
		{"fill", 0, 1, "", func(v int) { w.Tile = v == 1 }},
		{"padx", 0, 4096, "", func(v int) { w.GapX = v }},
		{"pady", 0, 4096, "", func(v int) { w.GapY = v }},
		{"size", 1, 1000, "", func(v int) { w.Size = float64(v) }},
		{"shadow", 0, 100, "", func(v int) { w.Shadow = float64(v) / 100 }},
		{"rotate", 0, 360, "0040-00000272", func(v int) { w.Rotate = float64(v) }},
		{"order", 0, 1, "", func(v int) { w.Order = []string{"image_first", "text_first"}[v] }},
		{"align", 0, 2, "", func(v int) { w.Align = []string{"top", "center", "bottom"}[v] }},
		{"interval", 0, 1000, "", func(v int) { w.Interval = v }},
	}
	for _, f := range ints {
		v, has, err := c.integer(op, f.key, f.lo, f.hi, f.ec)
		if err != nil {
			return nil, err
		}
		if has {
			f.set(v)
		}
	}
	if a, ok := op.Get("g"); ok {
		g, known := ossGravity[a.Value]
		if !known {
			return nil, &ossError{offset: a.ValuePos, op: op.Name, param: "g", msg: fmt.Sprintf("%q is not one of nw, north, ne, west, center, east, sw, south, se", clip(a.Value))}
		}
		w.Position = g
	}
	if a, ok := op.Get("color"); ok {
		if err := w.Color.UnmarshalText([]byte("#" + a.Value)); err != nil || len(a.Value) != 6 {
			return nil, &ossError{offset: a.ValuePos, op: op.Name, param: "color", msg: fmt.Sprintf("%q is not an RRGGBB colour such as FF0000", clip(a.Value))}
		}
	}
	if a, ok := op.Get("text"); ok {
		text, err := decode64(a.Value)
		if err != nil || len(text) == 0 || len(text) > 64 || !utf8Valid(text) {
			return nil, &ossError{offset: a.ValuePos, op: op.Name, param: "text", code: CodeWatermarkError,
				msg: "want the URL-safe base64 of 1 to 64 bytes of UTF-8 text"}
		}
		w.Text = string(text)
	}
	if err := c.watermarkFont(op, w); err != nil {
		return nil, err
	}
	if a, ok := op.Get("image"); ok {
		if err := c.watermarkImage(op, a, w); err != nil {
			return nil, err
		}
	}
	if w.Text == "" && w.Image == "" {
		return nil, &ossError{offset: op.Pos, op: op.Name, code: CodeMissingArgument, msg: "set text or image"}
	}
	if w.Text == "" {
		w.Size = 0 // size_ sizes text only
	}
	if err := w.Validate(); err != nil {
		return nil, &ossError{offset: op.Pos, op: op.Name, code: CodeWatermarkError, msg: err.Error()}
	}
	if w.Text != "" {
		if err := w.Prepare(); err != nil {
			return nil, err // a font file that fails to parse is the operator's to fix
		}
	}
	return []ossStep{{op: op.Name, action: w}}, nil
}

var black = colorNames["black"]

func utf8Valid(b []byte) bool { return strings.ToValidUTF8(string(b), "\uFFFD") == string(b) }

// watermarkFont picks the font file for type_ from font_dir.
func (c *ossCompiler) watermarkFont(op *ossimg.Op, w *Watermark) error {
	name := "wqy-zenhei" // OSS's default
	a, given := op.Get("type")
	if given {
		b, err := decode64(a.Value)
		if err != nil || !slices.Contains(ossFonts, string(b)) {
			return &ossError{offset: a.ValuePos, op: op.Name, param: "type", code: CodeWatermarkError,
				msg: fmt.Sprintf("want the URL-safe base64 of one of %s", strings.Join(ossFonts, ", "))}
		}
		name = string(b)
	}
	w.Font = "goregular"
	if c.p.FontDir == "" {
		return nil
	}
	for _, ext := range []string{".ttc", ".ttf", ".otf"} {
		path := filepath.Join(c.p.FontDir, name+ext)
		if _, err := os.Stat(path); err == nil {
			w.Font = path
			return nil
		}
	}
	if given {
		return &ossError{offset: a.ValuePos, op: op.Name, param: "type", code: CodeWatermarkError,
			msg: fmt.Sprintf("the font %s is not installed on this deployment", name)}
	}
	return nil
}

// watermarkImage reads image_: a base64url object key, optionally with its
// own ?x-oss-process=image/resize,P_n (the watermark's width as a
// percentage of the picture's).
func (c *ossCompiler) watermarkImage(op *ossimg.Op, a ossimg.Arg, w *Watermark) error {
	bad := func(format string, args ...any) error {
		return &ossError{offset: a.ValuePos, op: op.Name, param: "image", code: CodeWatermarkError, msg: fmt.Sprintf(format, args...)}
	}
	raw, err := decode64(a.Value)
	if err != nil || len(raw) == 0 || len(raw) > 1024 || !utf8Valid(raw) {
		return bad("want the URL-safe base64 of an object key")
	}
	key, process, hasProcess := strings.Cut(string(raw), "?")
	if key == "" || strings.HasPrefix(key, "/") {
		return bad("%q is not an object key", clip(key))
	}
	if !c.trusted && !slices.ContainsFunc(c.p.WatermarkPrefixes, func(p string) bool { return strings.HasPrefix(key, p) }) {
		return &ossError{offset: a.ValuePos, op: op.Name, param: "image", status: http.StatusForbidden, code: CodeAccessDenied,
			msg: fmt.Sprintf("the object %q may not be drawn as a watermark here (watermark_prefixes)", clip(key))}
	}
	w.Image = key
	if !hasProcess {
		return nil
	}
	spec, ok := strings.CutPrefix(process, "x-oss-process=")
	if !ok {
		return bad("after '?' want x-oss-process=image/resize,P_n")
	}
	s, err := ossimg.Parse(spec)
	if err != nil || s.Kind != ossimg.Image || len(s.Ops) != 1 || s.Ops[0].Name != "resize" {
		return bad("the watermark image's own processing may only be resize,P_n")
	}
	r := &s.Ops[0]
	if len(r.Args) != 1 || r.Args[0].Key != "P" {
		return bad("the watermark image's own processing may only be resize,P_n")
	}
	p, err := strconv.Atoi(r.Args[0].Value)
	if err != nil || p < 1 || p > 100 {
		return bad("P_%s: want a percentage in [1, 100]", clip(r.Args[0].Value))
	}
	w.Scale = float64(p) / 100
	return nil
}

// Interface guards.
var (
	_ Action        = (*OSSProcess)(nil)
	_ Preparer      = (*OSSProcess)(nil)
	_ Fingerprinter = (*OSSProcess)(nil)
	_ StyleUser     = (*OSSProcess)(nil)
	_ Validator     = (*OSSProcess)(nil)
	_ Predictor     = (*OSSProcess)(nil)
	_ URLReader     = (*OSSProcess)(nil)
)

// registered returns a fresh parameter struct of an action with its
// registered defaults.
func registered(name string) Action {
	d, ok := Lookup(name)
	if !ok {
		panic("actions: no action " + name)
	}
	return d.New()
}
