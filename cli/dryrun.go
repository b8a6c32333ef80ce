package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/opaprules/opaprules/actions"
	"github.com/opaprules/opaprules/engine"
	"github.com/opaprules/opaprules/rules"
	"github.com/opaprules/opaprules/ruletest"
)

// requestFlags are the flags that describe a request, shared by dry-run
// and the rule tests' request block.
// requestFlags are dry-run's flags that describe the request; they fill a
// ruletest.Request, the one request builder.
type requestFlags struct {
	method, accessPoint, ip string
	headers, objectMeta     multiFlag
}

func (rf requestFlags) request(target string) (*rules.Request, error) {
	r := ruletest.Request{Key: target, Method: rf.method, AccessPoint: rf.accessPoint, IP: rf.ip}
	if rf.ip != "" {
		if _, err := netip.ParseAddr(rf.ip); err != nil {
			return nil, fmt.Errorf("--ip %q: not an IP address", rf.ip)
		}
	}
	for _, h := range rf.headers {
		if err := r.AddHeader(h); err != nil {
			return nil, fmt.Errorf("-H %v", err)
		}
	}
	for _, kv := range rf.objectMeta {
		if r.Object == nil {
			r.Object = &ruletest.Object{}
		}
		if err := r.Object.Set(kv); err != nil {
			return nil, fmt.Errorf("--object-meta %v", err)
		}
	}
	return r.Build()
}

func runDryRun(env *Env, args []string) int {
	const argsHelp = "[--rules FILE] [--access-point NAME] [-H 'Name: value']... [--method GET] [--ip IP] [--object-meta key=value]... [--input FILE [--output FILE] [--origin DIR]] [--format text|json] 'KEY?QUERY'"
	fs := newFlags(env, "dry-run", argsHelp)
	rulesFile := fs.String("rules", "", "rules file (default ./rules.yaml, else the embedded one)")
	var rf requestFlags
	fs.StringVar(&rf.method, "method", "GET", "request method")
	fs.StringVar(&rf.accessPoint, "access-point", "", "access point name or alias the request came through")
	fs.StringVar(&rf.ip, "ip", "", "client IP address")
	fs.Var(&rf.headers, "H", "request header 'Name: value' (repeatable)")
	fs.Var(&rf.objectMeta, "object-meta", "origin object metadata key=value: size, content_type, etag, last_modified, meta.NAME (repeatable)")
	input := fs.String("input", "", "run the request with this local file as the original object")
	output := fs.String("output", "", "with --input, write the response body here")
	originDir := fs.String("origin", ".", "with --input, the folder other objects (watermark images) are read from")
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
	if rf.method == "" {
		return usageError(env, fs, fmt.Errorf("--method must name an HTTP method"))
	}
	if *output != "" && *input == "" {
		return usageError(env, fs, fmt.Errorf("--output needs --input"))
	}
	if *input != "" {
		if st, err := os.Stat(*input); err != nil || !st.Mode().IsRegular() {
			return usageError(env, fs, fmt.Errorf("--input %s: not a readable regular file", *input))
		}
	}
	run := engine.LocalRun{Object: *input}
	if *input != "" {
		if run.Others, err = engine.DirFetcher(*originDir); err != nil {
			return usageError(env, fs, fmt.Errorf("--origin: %v", unwrapPathError(err)))
		}
	}
	if run.Request, err = rf.request(pos[0]); err != nil {
		return usageError(env, fs, err)
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
	h, err := engine.New(engine.Config{Rules: rs, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Fprintf(env.Stderr, "opaprules dry-run: %v\n", err)
		return ExitFail
	}

	// The body streams to --output; its first bytes are kept to read an
	// image's dimensions, so a large object is never held whole.
	head := &headWriter{max: 64 << 10}
	var out io.Writer = head
	if *output != "" {
		f, err := os.Create(*output)
		if err != nil {
			fmt.Fprintf(env.Stderr, "opaprules dry-run: %v\n", err)
			return ExitFail
		}
		defer f.Close()
		out = io.MultiWriter(f, head)
	}
	run.Body = out
	res, err := h.RunLocal(context.Background(), run)
	if err != nil {
		fmt.Fprintf(env.Stderr, "opaprules dry-run: %v\n", err)
		return ExitFail
	}
	doc := describe(res, head.buf)
	if *format == "json" {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		_ = enc.Encode(doc)
	} else {
		printDryRun(env.Stdout, run.Request, doc)
	}
	if doc.Result != nil && doc.Result.Error != "" {
		return ExitFail
	}
	return ExitOK
}

type dryRunResult struct {
	Rules   []rules.RuleTrace `json:"rules"`
	Plan    []planOut         `json:"plan"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	// Vary lists the request headers the answer depends on, whether or
	// not the OPAP path forwards them as Vary.
	Vary   []string   `json:"vary"`
	Error  *errorOut  `json:"error,omitempty"`
	Result *resultOut `json:"result,omitempty"`
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

// resultOut describes the body a run with --input produced.
type resultOut struct {
	Status      int    `json:"status"`
	ContentType string `json:"content_type"`
	Bytes       int64  `json:"bytes"`
	Width       int    `json:"width,omitempty"`
	Height      int    `json:"height,omitempty"`
	Error       string `json:"error,omitempty"`
}

// describe turns an engine result into dry-run's document.
func describe(res *engine.LocalResult, head []byte) dryRunResult {
	doc := dryRunResult{Rules: []rules.RuleTrace{}, Plan: []planOut{}, Status: res.Status, Headers: map[string]string{}, Vary: append([]string{}, res.Vary...)}
	if res.Trace != nil {
		doc.Rules = append(doc.Rules, res.Trace.Rules...)
	}
	if res.Plan != nil {
		for _, s := range res.Plan.Steps {
			doc.Plan = append(doc.Plan, describeStep(s))
		}
	}
	for k := range res.Header {
		doc.Headers[headerName(k)] = res.Header.Get(k)
	}
	if res.Error != nil {
		doc.Error = &errorOut{res.Error.Code, res.Error.Message}
	}
	if res.Predicted {
		return doc
	}
	r := &resultOut{Status: res.Status, ContentType: res.Header.Get("Content-Type"), Bytes: res.Bytes}
	if res.Error != nil {
		r.Error = res.Error.Code + ": " + res.Error.Message
	} else if strings.HasPrefix(r.ContentType, "image/") {
		if cfg, _, err := image.DecodeConfig(bytes.NewReader(head)); err == nil {
			r.Width, r.Height = cfg.Width, cfg.Height
		}
	}
	doc.Result = r
	return doc
}

// headerName spells a header as WriteGetObjectResponse's reference does
// (ETag, not Go's canonical Etag).
func headerName(k string) string {
	if i := slices.IndexFunc(actions.ForwardedHeaders, func(f string) bool { return strings.EqualFold(f, k) }); i >= 0 {
		return actions.ForwardedHeaders[i]
	}
	return k
}

// headWriter keeps the first max bytes written to it.
type headWriter struct {
	buf []byte
	max int
}

func (w *headWriter) Write(p []byte) (int, error) {
	if room := w.max - len(w.buf); room > 0 {
		w.buf = append(w.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// describeStep lists an action's parameters by their YAML names with the
// values this request resolved them to.
func describeStep(s rules.PlanStep) planOut {
	out := planOut{Action: s.Name, Rule: s.Rule, Params: map[string]any{}}
	for _, p := range actions.Values(s.Action) {
		out.Params[p.Name] = p.Value
		out.order = append(out.order, p.Name)
	}
	return out
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
			fmt.Fprintf(w, "       %s: %s\n", name, actions.FormatValue(p.Params[name]))
		}
	}
	fmt.Fprintln(w, "\nresponse:")
	fmt.Fprintf(w, "  status: %d %s\n", out.Status, http.StatusText(out.Status))
	if len(out.Vary) > 0 {
		fmt.Fprintf(w, "  vary: %s\n", strings.Join(out.Vary, ", "))
	}
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
