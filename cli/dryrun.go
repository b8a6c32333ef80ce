package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"io"
	"mime"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/opaprules/opaprules/actions"
	"github.com/opaprules/opaprules/engine"
	"github.com/opaprules/opaprules/rules"
)

type dryRunResult struct {
	Rules   []ruleOut         `json:"rules"`
	Plan    []planOut         `json:"plan"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Error   *errorOut         `json:"error,omitempty"`
	Result  *resultOut        `json:"result,omitempty"`
}

type ruleOut struct {
	Name            string `json:"name"`
	Matched         bool   `json:"matched"`
	Skipped         string `json:"skipped,omitempty"`
	FailedCondition string `json:"failed_condition,omitempty"`
	Error           string `json:"error,omitempty"`
}

type planOut struct {
	Action string         `json:"action"`
	Rule   string         `json:"rule"`
	Params map[string]any `json:"params"`
	order  []string
}

type errorOut struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type resultOut struct {
	Status      int    `json:"status"`
	ContentType string `json:"content_type"`
	Bytes       int64  `json:"bytes"`
	Width       int    `json:"width,omitempty"`
	Height      int    `json:"height,omitempty"`
	Error       string `json:"error,omitempty"`
}

// requestFlags are the flags that describe a request, shared by dry-run
// and the rule tests' request block.
type requestFlags struct {
	method, accessPoint, ip string
	headers, objectMeta     multiFlag
}

func runDryRun(env *Env, args []string) int {
	const argsHelp = "[--rules FILE] [--access-point NAME] [-H 'Name: value']... [--method GET] [--ip IP] [--object-meta key=value]... [--input FILE [--output FILE]] [--format text|json] 'KEY?QUERY'"
	fs := newFlags(env, "dry-run", argsHelp)
	rulesFile := fs.String("rules", "", "rules file (default ./rules.yaml, else the embedded one)")
	var rf requestFlags
	fs.StringVar(&rf.method, "method", "GET", "request method")
	fs.StringVar(&rf.accessPoint, "access-point", "", "access point name or alias the request came through")
	fs.StringVar(&rf.ip, "ip", "", "client IP address")
	fs.Var(&rf.headers, "H", "request header 'Name: value' (repeatable)")
	fs.Var(&rf.objectMeta, "object-meta", "origin object metadata key=value: size, content_type, etag, last_modified, meta.NAME (repeatable)")
	input := fs.String("input", "", "run the plan on this local file as the object")
	output := fs.String("output", "", "with --input, write the result here")
	origin := fs.String("origin", ".", "with --input, folder other objects (watermark images) are read from")
	format := fs.String("format", "text", "output format: text or json")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return usageError(env, fs, err)
	}
	if len(pos) != 1 {
		return usageError(env, fs, fmt.Errorf("want one request such as 'photos/a.jpg?w=200', got %d arguments", len(pos)))
	}
	if *format != "text" && *format != "json" {
		return usageError(env, fs, fmt.Errorf("--format must be text or json, not %q", *format))
	}
	if *output != "" && *input == "" {
		return usageError(env, fs, fmt.Errorf("--output needs --input"))
	}
	name, data, err := rulesSource(env, *rulesFile)
	if err != nil {
		fmt.Fprintf(env.Stderr, "opaprules dry-run: %v\n", unwrapPathError(err))
		return ExitFail
	}
	rs, err := rules.Load(name, data)
	if err != nil {
		fmt.Fprintf(env.Stderr, "%v\n", err)
		return ExitFail
	}
	req, err := buildRequest(pos[0], rf)
	if err != nil {
		return usageError(env, fs, err)
	}
	var inputData []byte
	if *input != "" {
		if inputData, err = os.ReadFile(*input); err != nil {
			fmt.Fprintf(env.Stderr, "opaprules dry-run: %v\n", err)
			return ExitFail
		}
		if req.Object == nil {
			req.Object = &rules.ObjectMeta{}
		}
		if req.Object.Size == 0 {
			req.Object.Size = int64(len(inputData))
		}
		if req.Object.ContentType == "" {
			req.Object.ContentType = contentTypeOf(*input, inputData)
		}
	}

	out := dryRunResult{Headers: map[string]string{}}
	plan, trace, evalErr := rs.Explain(req)
	for _, t := range trace.Rules {
		out.Rules = append(out.Rules, ruleOut{t.Name, t.Matched, t.Skipped, t.FailedCondition, t.Error})
	}
	origin0 := originHeader(req)
	if evalErr != nil {
		e := asClientError(evalErr)
		out.Status, out.Error = e.Status, &errorOut{e.Code, e.Message}
		out.Headers["Content-Type"] = "application/xml"
	} else {
		for _, s := range plan.Steps {
			out.Plan = append(out.Plan, describeStep(s))
		}
		status, hdr, e := plan.Implied(actionRequest(req), origin0)
		out.Status = status
		if e != nil {
			out.Error = &errorOut{e.Code, e.Message}
		}
		for k := range hdr {
			out.Headers[k] = hdr.Get(k)
		}
		if inputData != nil {
			out.Result = runOnFile(plan, req, inputData, origin0, *origin, *output)
		}
	}
	if *format == "json" {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		_ = enc.Encode(out)
	} else {
		printDryRun(env.Stdout, req, out)
	}
	if out.Result != nil && out.Result.Error != "" {
		return ExitFail
	}
	return ExitOK
}

func parseTarget(target string) (key, rawQuery string, err error) {
	key, rawQuery, ok := rules.ParseTarget(target)
	if !ok {
		return "", "", fmt.Errorf("the request %q has no object key", target)
	}
	return key, rawQuery, nil
}

func buildRequest(target string, rf requestFlags) (*rules.Request, error) {
	key, q, err := parseTarget(target)
	if err != nil {
		return nil, err
	}
	req := &rules.Request{Key: key, RawQuery: q, Header: http.Header{}, Method: strings.ToUpper(rf.method), IP: rf.ip}
	req.AccessPoint, req.AccessPointAlias = rules.SplitAccessPoint(rf.accessPoint)
	for _, h := range rf.headers {
		name, value, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(name) == "" {
			return nil, fmt.Errorf("-H %q: want 'Name: value'", h)
		}
		req.Header.Add(textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(name)), strings.TrimSpace(value))
	}
	for _, kv := range rf.objectMeta {
		if req.Object == nil {
			req.Object = &rules.ObjectMeta{}
		}
		if err := setObjectMeta(req.Object, kv); err != nil {
			return nil, err
		}
	}
	return req, nil
}

func setObjectMeta(m *rules.ObjectMeta, kv string) error {
	k, v, ok := strings.Cut(kv, "=")
	if !ok {
		return fmt.Errorf("--object-meta %q: want key=value", kv)
	}
	switch {
	case k == "size":
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("--object-meta size=%q: want a byte count", v)
		}
		m.Size = n
	case k == "content_type":
		m.ContentType = v
	case k == "etag":
		m.ETag = v
	case k == "last_modified":
		t, err := parseTime(v)
		if err != nil {
			return fmt.Errorf("--object-meta last_modified=%q: want RFC 3339 or an HTTP date", v)
		}
		m.LastModified = t
	case strings.HasPrefix(k, "meta."):
		if m.Meta == nil {
			m.Meta = map[string]string{}
		}
		m.Meta[strings.ToLower(strings.TrimPrefix(k, "meta."))] = v
	default:
		return fmt.Errorf("--object-meta %q: unknown key (size, content_type, etag, last_modified, meta.NAME)", k)
	}
	return nil
}

func parseTime(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	return http.ParseTime(v)
}

// originHeader is what the origin would answer with, as far as the flags tell.
func originHeader(req *rules.Request) http.Header {
	h := http.Header{}
	if req.Object != nil {
		if req.Object.ContentType != "" {
			h.Set("Content-Type", req.Object.ContentType)
		}
		if req.Object.ETag != "" {
			h.Set("ETag", req.Object.ETag)
		}
	}
	return h
}

func actionRequest(req *rules.Request) *actions.Request {
	return &actions.Request{ID: "dry-run", Key: req.Key, Method: req.Method, AccessPoint: req.AccessPoint, Header: req.Header}
}

func asClientError(err error) *actions.Error {
	if e, ok := actions.AsError(err); ok {
		return e
	}
	return &actions.Error{Status: http.StatusInternalServerError, Code: actions.CodeInternalError, Message: err.Error()}
}

// describeStep lists an action's parameters by their YAML names with the
// values this request resolved them to.
func describeStep(s rules.PlanStep) planOut {
	p := actions.ParamsOf(s.Action)
	v := reflect.ValueOf(s.Action).Elem()
	out := planOut{Action: s.Name, Rule: s.Rule, Params: map[string]any{}}
	for _, f := range p.Fields {
		out.Params[f.Name] = v.FieldByIndex(f.Index).Interface()
		out.order = append(out.order, f.Name)
	}
	return out
}

func contentTypeOf(path string, data []byte) string {
	if ct := mime.TypeByExtension(strings.ToLower(filepath.Ext(path))); ct != "" {
		return ct
	}
	return http.DetectContentType(data)
}

// dirFetcher reads other objects from a local folder.
type dirFetcher struct{ root *os.Root }

func (d dirFetcher) Fetch(_ context.Context, key string, maxBytes int64) ([]byte, error) {
	f, err := d.root.Open(key)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxBytes+1))
	if int64(len(b)) > maxBytes {
		return nil, fmt.Errorf("object %q is over %d bytes", key, maxBytes)
	}
	return b, err
}

func runOnFile(plan *rules.Plan, req *rules.Request, data []byte, header http.Header, originDir, output string) *resultOut {
	res := &resultOut{}
	ctx, cancel := context.WithTimeout(context.Background(), plan.Limits.Timeout)
	defer cancel()
	obj := actions.NewObject(actionRequest(req), bytes.NewReader(data), int64(len(data)), header.Clone(), plan.Limits)
	defer obj.Close()
	if root, err := os.OpenRoot(originDir); err == nil {
		defer root.Close()
		obj.Fetcher = dirFetcher{root}
	}
	body, n, err := func() (io.Reader, int64, error) {
		if err := engine.Run(ctx, plan, obj); err != nil {
			return nil, 0, err
		}
		return obj.Result(ctx)
	}()
	if err != nil {
		e := asClientError(err)
		res.Status, res.Error = e.Status, e.Code+": "+e.Message
		return res
	}
	out, err := io.ReadAll(body)
	if err != nil {
		res.Status, res.Error = http.StatusInternalServerError, err.Error()
		return res
	}
	res.Status, res.ContentType, res.Bytes = obj.Status, obj.Header.Get("Content-Type"), n
	if strings.HasPrefix(res.ContentType, "image/") {
		if cfg, _, err := image.DecodeConfig(bytes.NewReader(out)); err == nil {
			res.Width, res.Height = cfg.Width, cfg.Height
		}
	}
	if output != "" {
		if err := os.WriteFile(output, out, 0o644); err != nil {
			res.Error = err.Error()
		}
	}
	return res
}

func printDryRun(w io.Writer, req *rules.Request, out dryRunResult) {
	target := req.Key
	if req.RawQuery != "" {
		target += "?" + req.RawQuery
	}
	fmt.Fprintf(w, "request: %s %s", req.Method, target)
	if req.AccessPoint != "" {
		fmt.Fprintf(w, " (access point %s)", req.AccessPoint)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "\nrules:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, r := range out.Rules {
		switch {
		case r.Matched:
			fmt.Fprintf(tw, "  %s\tmatched\n", r.Name)
		case r.Skipped == "error":
			fmt.Fprintf(tw, "  %s\tskipped: condition failed (on_error: skip): %s\n", r.Name, r.Error)
		case r.Skipped != "":
			fmt.Fprintf(tw, "  %s\tskipped: %s\n", r.Name, r.Skipped)
		default:
			fmt.Fprintf(tw, "  %s\tnot matched: false: %s\n", r.Name, r.FailedCondition)
		}
	}
	tw.Flush()
	fmt.Fprintln(w, "\nplan:")
	if len(out.Plan) == 0 && out.Error == nil {
		fmt.Fprintln(w, "  (empty: the object passes through unchanged)")
	}
	for i, p := range out.Plan {
		fmt.Fprintf(w, "  %d. %s (rule %s)\n", i+1, p.Action, p.Rule)
		for _, name := range p.order {
			fmt.Fprintf(w, "       %s: %s\n", name, formatParam(p.Params[name]))
		}
	}
	fmt.Fprintln(w, "\nresponse:")
	fmt.Fprintf(w, "  status: %d %s\n", out.Status, http.StatusText(out.Status))
	if out.Error != nil {
		fmt.Fprintf(w, "  error: %s: %s\n", out.Error.Code, out.Error.Message)
	}
	names := make([]string, 0, len(out.Headers))
	for k := range out.Headers {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		fmt.Fprintf(w, "  %s: %s\n", k, out.Headers[k])
	}
	if r := out.Result; r != nil {
		fmt.Fprintln(w, "\nresult:")
		if r.Error != "" {
			fmt.Fprintf(w, "  status: %d\n  error: %s\n", r.Status, r.Error)
			return
		}
		fmt.Fprintf(w, "  status: %d\n  content type: %s\n  bytes: %d\n", r.Status, r.ContentType, r.Bytes)
		if r.Width > 0 {
			fmt.Fprintf(w, "  size: %d×%d\n", r.Width, r.Height)
		}
	}
}

func formatParam(v any) string {
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
