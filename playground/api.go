package playground

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/opaprules/opaprules/actions"
	"github.com/opaprules/opaprules/engine"
	"github.com/opaprules/opaprules/internal/imageio"
	"github.com/opaprules/opaprules/internal/ossmeta"
	"github.com/opaprules/opaprules/rules"
	"github.com/opaprules/opaprules/ruletest"
)

// problem is one diagnostic of the rules, as the page lists it.
type problem struct {
	Severity string `json:"severity"` // "error" or "warning"
	Line     int    `json:"line"`
	Column   int    `json:"column"`
	Rule     string `json:"rule,omitempty"`
	Message  string `json:"message"`
}

func problemsOf(diags []rules.Diagnostic) []problem {
	out := []problem{}
	for _, d := range diags {
		sev := "error"
		if d.Severity == rules.Warning {
			sev = "warning"
		}
		out = append(out, problem{sev, d.Line, d.Column, d.Rule, d.Message})
	}
	return out
}

// rulesIn is the body of validate and save.
type rulesIn struct {
	Rules string `json:"rules"`
}

// readJSON decodes a bounded JSON body into v, answering the error itself
// (415, 413, 400) and reporting whether it did not.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		apiError(w, http.StatusUnsupportedMediaType, "send the body as application/json")
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("more than one JSON value")
	}
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		apiError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body is over %d bytes", maxBody))
		return false
	case err != nil:
		apiError(w, http.StatusBadRequest, "the body is not the expected JSON: "+err.Error())
		return false
	}
	return true
}

// checkSize answers 413 for rules over the loader's limit.
func checkSize(w http.ResponseWriter, text string) bool {
	if len(text) > rules.MaxFileSize {
		apiError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the rules are %d bytes, over the limit of %d (1 MiB)", len(text), rules.MaxFileSize))
		return false
	}
	return true
}

// rulesOut is GET /-/api/rules: what the editor starts with, and whether
// Save can write it back.
type rulesOut struct {
	Name        string `json:"name"`
	Text        string `json:"text"`
	File        string `json:"file,omitempty"`
	Writable    bool   `json:"writable"`
	SaveNote    string `json:"save_note"`
	Origin      string `json:"origin"`
	AccessPoint string `json:"access_point"`
}

func (s *Server) getRules(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, rulesOut{
		Name: s.cfg.RulesName, Text: string(s.cfg.Rules), File: s.cfg.RulesFile,
		Writable: s.saveRefusal() == "", SaveNote: s.saveNote(),
		Origin: s.cfg.OriginName, AccessPoint: s.cfg.AccessPoint,
	})
}

// saveRefusal says why Save cannot write, or "" when it can.
func (s *Server) saveRefusal() string {
	switch {
	case s.cfg.RulesFile == "":
		return "serve runs on the embedded rules: there is no file to save to (start it with --rules FILE --playground-write)"
	case !s.cfg.Writable:
		return "read-only: start serve with --playground-write to save to " + s.cfg.RulesFile
	}
	return ""
}

func (s *Server) saveNote() string {
	if why := s.saveRefusal(); why != "" {
		return why
	}
	return "Save writes " + s.cfg.RulesFile + "; serve keeps answering clients with the rules it started with until it is restarted"
}

// saveRules is PUT /-/api/rules: the editor's text written back to the
// rules file serve was started with, when allowed and only when it loads.
func (s *Server) saveRules(w http.ResponseWriter, r *http.Request) {
	if s.cfg.RulesFile == "" {
		apiError(w, http.StatusConflict, s.saveRefusal())
		return
	}
	if !s.cfg.Writable {
		apiError(w, http.StatusForbidden, s.saveRefusal())
		return
	}
	var in rulesIn
	if !readJSON(w, r, &in) || !checkSize(w, in.Rules) {
		return
	}
	if _, diags := rules.Check(s.cfg.RulesName, []byte(in.Rules)); hasError(diags) {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": "the rules have errors: not saved", "problems": problemsOf(diags)})
		return
	}
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	if err := writeFileAtomic(s.cfg.RulesFile, []byte(in.Rules)); err != nil {
		s.cfg.Logger.Error("playground: save", "file", s.cfg.RulesFile, "err", err)
		apiError(w, http.StatusInternalServerError, "not saved: "+err.Error())
		return
	}
	s.cfg.Logger.Info("playground: rules saved", "file", s.cfg.RulesFile, "bytes", len(in.Rules))
	writeJSON(w, http.StatusOK, map[string]any{"saved": s.cfg.RulesFile, "bytes": len(in.Rules)})
}

// writeFileAtomic replaces name with data so that a reader (or a crash)
// sees the old file or the new one, never half of one; the mode is kept.
func writeFileAtomic(name string, data []byte) error {
	mode := os.FileMode(0o644)
	if st, err := os.Stat(name); err == nil {
		mode = st.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}

func hasError(diags []rules.Diagnostic) bool {
	for _, d := range diags {
		if d.Severity == rules.Error {
			return true
		}
	}
	return false
}

// validate is POST /-/api/validate: the loader's diagnostics, as
// `opaprules validate` prints them.
func (s *Server) validate(w http.ResponseWriter, r *http.Request) {
	var in rulesIn
	if !readJSON(w, r, &in) || !checkSize(w, in.Rules) {
		return
	}
	rs, diags := rules.Check(s.cfg.RulesName, []byte(in.Rules))
	out := map[string]any{"valid": rs != nil, "problems": problemsOf(diags)}
	if rs != nil {
		out["rules"] = len(rs.Rules)
	}
	writeJSON(w, http.StatusOK, out)
}

// runIn is the body of POST /-/api/run.
type runIn struct {
	Rules   string   `json:"rules"`
	Request formData `json:"request"`
}

// formData is the request form; it fills a ruletest.Request, the one
// request builder of dry-run and rule tests.
type formData struct {
	Key         string `json:"key"`
	Method      string `json:"method"`
	Headers     string `json:"headers"` // one "Name: value" per line
	AccessPoint string `json:"access_point"`
}

func (f formData) request() (ruletest.Request, error) {
	rq := ruletest.Request{Key: strings.TrimSpace(f.Key), Method: strings.TrimSpace(f.Method), AccessPoint: strings.TrimSpace(f.AccessPoint)}
	for i, line := range strings.Split(f.Headers, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		if err := rq.AddHeader(strings.TrimRight(line, "\r")); err != nil {
			return rq, fmt.Errorf("headers, line %d: %v", i+1, err)
		}
	}
	return rq, nil
}

// runOut is what the page shows of a run.
type runOut struct {
	Request  requestOut        `json:"request"`
	Trace    []rules.RuleTrace `json:"trace"`
	Plan     []stepOut         `json:"plan"`
	Status   int               `json:"status"`
	Text     string            `json:"status_text"`
	Headers  []field           `json:"headers"`
	Vary     []string          `json:"vary"`
	ETag     string            `json:"etag,omitempty"`
	Error    *errorOut         `json:"error,omitempty"`
	Original *bodyOut          `json:"original,omitempty"`
	Result   *bodyOut          `json:"result,omitempty"`
	Stages   []stageOut        `json:"stages"`
	Problems []problem         `json:"problems"`
	TestCase string            `json:"test_case"`
}

type requestOut struct {
	Method      string  `json:"method"`
	Key         string  `json:"key"`
	Query       string  `json:"query"`
	AccessPoint string  `json:"access_point"`
	Headers     []field `json:"headers"`
}

type stepOut struct {
	Rule   string  `json:"rule"`
	Action string  `json:"action"`
	Params []field `json:"params"`
}

type errorOut struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// XML is the body a client gets.
	XML string `json:"xml"`
}

// bodyOut describes the original or the result.
type bodyOut struct {
	Key         string `json:"key,omitempty"`
	ContentType string `json:"content_type"`
	Bytes       int64  `json:"bytes"`
	// URL fetches the bytes; empty when they were too large to keep.
	URL string `json:"url,omitempty"`
	// Width and Height are as displayed (EXIF orientation applied).
	Width       int    `json:"width,omitempty"`
	Height      int    `json:"height,omitempty"`
	Format      string `json:"format,omitempty"`
	Frames      int    `json:"frames,omitempty"`
	Orientation int    `json:"orientation,omitempty"`
	// Text is the start of a text body, TextTruncated set when there is
	// more.
	Text          *string `json:"text,omitempty"`
	TextTruncated bool    `json:"text_truncated,omitempty"`
	Note          string  `json:"note,omitempty"`
}

type stageOut struct {
	Name string  `json:"name"`
	MS   float64 `json:"ms"`
}

// run is POST /-/api/run: the request answered with the editor's rules by
// the handler's own steps, the origin's object as the original.
func (s *Server) run(w http.ResponseWriter, r *http.Request) {
	var in runIn
	if !readJSON(w, r, &in) || !checkSize(w, in.Rules) {
		return
	}
	form, err := in.Request.request()
	if err == nil && form.Key == "" {
		err = errors.New("the request needs an object key, such as photos/landscape.jpg?w=400")
	}
	if err != nil {
		apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	req, err := form.Build()
	if err != nil {
		apiError(w, http.StatusBadRequest, "request: "+err.Error())
		return
	}
	rs, diags := rules.Check(s.cfg.RulesName, []byte(in.Rules))
	if rs == nil {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": "the rules have errors: fix them to run", "problems": problemsOf(diags)})
		return
	}
	h, err := engine.New(engine.Config{Rules: rs, Logger: s.cfg.Logger, Bucket: s.cfg.Bucket})
	if err != nil {
		apiError(w, http.StatusInternalServerError, err.Error())
		return
	}
	select {
	case s.runs <- struct{}{}:
		defer func() { <-s.runs }()
	case <-r.Context().Done():
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.Timeout)
	defer cancel()

	req.Bucket = s.cfg.Bucket
	body := &capture{max: maxResult}
	res, err := h.RunLocal(ctx, engine.LocalRun{Request: req, FS: s.cfg.Origin, Object: req.Key, Others: engine.FSFetcher(s.cfg.Origin), Body: body})
	if err != nil {
		apiError(w, http.StatusInternalServerError, "the run could not finish: "+err.Error())
		return
	}
	out := runOut{Status: res.Status, Text: http.StatusText(res.Status), Vary: res.Vary, Problems: problemsOf(diags), Trace: []rules.RuleTrace{}, Plan: []stepOut{}, Headers: []field{}, Stages: []stageOut{}}
	if out.Vary == nil {
		out.Vary = []string{}
	}
	out.Request = requestOut{Method: req.Method, Key: req.Key, Query: req.RawQuery, AccessPoint: req.AccessPoint, Headers: sortedHeaders(req.Header)}
	if res.Trace != nil {
		out.Trace = append(out.Trace, res.Trace.Rules...)
	}
	if res.Plan != nil {
		for _, st := range res.Plan.Steps {
			out.Plan = append(out.Plan, describeStep(st))
		}
	}
	out.Headers = sortedHeaders(res.Header)
	out.ETag = res.Header.Get("ETag")
	for _, st := range res.Stages {
		out.Stages = append(out.Stages, stageOut{st.Name, float64(st.Duration.Microseconds()) / 1000})
	}
	out.Original = s.describeOriginal(req.Key)
	if res.Error != nil {
		out.Error = &errorOut{Code: res.Error.Code, Message: res.Error.Message, XML: string(body.kept())}
	} else if req.Method != http.MethodHead {
		out.Result = s.describeResult(res, body)
	}
	tc, err := testCase(ctx, h, rs, form, out.Original, res)
	if err != nil {
		tc = "# no test case: " + err.Error()
	}
	out.TestCase = tc
	writeJSON(w, http.StatusOK, out)
}

// field is a name and a value: a header, or an action's parameter.
type field struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

func sortedHeaders(h http.Header) []field {
	out := []field{}
	for _, k := range sortedKeys(h) {
		out = append(out, field{headerName(k), strings.Join(h[k], ", ")})
	}
	return out
}

// headerName spells a header as WriteGetObjectResponse's reference does
// (ETag, not Go's canonical Etag).
func headerName(k string) string {
	for _, f := range actions.ForwardedHeaders {
		if strings.EqualFold(f, k) {
			return f
		}
	}
	return k
}

// describeStep lists an action's parameters by their YAML names with the
// values this request resolved them to.
func describeStep(st rules.PlanStep) stepOut {
	out := stepOut{Rule: st.Rule, Action: st.Name, Params: []field{}}
	for _, p := range actions.Values(st.Action) {
		out.Params = append(out.Params, field{p.Name, actions.FormatValue(p.Value)})
	}
	return out
}

// describeOriginal says what the origin holds under key; nil when nothing.
func (s *Server) describeOriginal(key string) *bodyOut {
	if !fs.ValidPath(key) || ossmeta.IsSidecar(key) {
		return nil
	}
	st, err := fs.Stat(s.cfg.Origin, key)
	if err != nil || !st.Mode().IsRegular() {
		return nil
	}
	out := &bodyOut{Key: key, ContentType: s.stored(key).Get("Content-Type"), Bytes: st.Size(), URL: objectURL(key)}
	f, err := s.cfg.Origin.Open(key)
	if err != nil {
		return out
	}
	defer f.Close()
	head, _ := io.ReadAll(io.LimitReader(f, headBytes))
	describeBody(out, head, st.Size())
	return out
}

// headBytes is how much of a body is read for an image's header (a JPEG's
// EXIF can come before its size) or a text's preview.
const headBytes = 256 << 10

// describeResult keeps the result for the page to fetch when it is not too
// large, and says what it is.
func (s *Server) describeResult(res *engine.LocalResult, body *capture) *bodyOut {
	ct := res.Header.Get("Content-Type")
	if ct == "" {
		ct = "application/octet-stream"
	}
	out := &bodyOut{ContentType: ct, Bytes: res.Bytes}
	if body.whole() {
		out.URL = "/-/api/results/" + s.results.put(ct, body.kept())
	} else {
		out.Note = fmt.Sprintf("the result is over %d MiB: not kept for display", maxResult>>20)
	}
	describeBody(out, body.kept(), res.Bytes)
	return out
}

// describeBody fills the picture's size or the text's start from the first
// bytes of a body of n bytes.
func describeBody(out *bodyOut, head []byte, n int64) {
	switch {
	case strings.HasPrefix(out.ContentType, "image/"):
		if cfg, err := imageio.DecodeConfig(head); err == nil {
			out.Width, out.Height = cfg.Upright()
			out.Format, out.Frames, out.Orientation = cfg.Format, cfg.Frames, cfg.Orientation
		}
	case isText(out.ContentType):
		t := head[:min(len(head), maxText)]
		// Cut at a character boundary.
		for len(t) > 0 && !utf8.Valid(t) && len(t) > len(head)-utf8.UTFMax {
			t = t[:len(t)-1]
		}
		if utf8.Valid(t) {
			text := string(t)
			out.Text = &text
			out.TextTruncated = int64(len(t)) < n
		}
	}
}

// isText reports whether a media type is shown as text.
func isText(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"), strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "+xml"):
		return true
	}
	switch mt {
	case "application/json", "application/xml", "application/x-ndjson", "application/csv", "application/yaml", "application/javascript":
		return true
	}
	return false
}

// typeByKey is the Content-Type OSS would have stored for key: by its
// extension.
func typeByKey(key string) string {
	if ct := mime.TypeByExtension(strings.ToLower(path.Ext(key))); ct != "" {
		return ct
	}
	return "application/octet-stream"
}

// stored is what the origin holds as key's headers: its sidecar's
// (package ossmeta), as the local runs and serve read them, with the
// Content-Type by extension when the sidecar sets none. A sidecar that
// does not decode is left out here; running the request reports it.
func (s *Server) stored(key string) http.Header {
	h, err := ossmeta.ReadFS(s.cfg.Origin, key)
	if err != nil || h == nil {
		h = http.Header{}
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", typeByKey(key))
	}
	return h
}

func objectURL(key string) string {
	parts := strings.Split(key, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return "/-/api/objects/" + strings.Join(parts, "/")
}

// objectOut is one entry of the object picker.
type objectOut struct {
	Key   string `json:"key"`
	Bytes int64  `json:"bytes"`
	Type  string `json:"content_type"`
}

// listObjects is GET /-/api/objects: the origin's keys, in order, at most
// maxObjects of them.
func (s *Server) listObjects(w http.ResponseWriter, r *http.Request) {
	list := []objectOut{}
	truncated := false
	errStop := errors.New("stop")
	err := fs.WalkDir(s.cfg.Origin, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // an unreadable folder is left out, not fatal
		}
		if d.IsDir() || ossmeta.IsSidecar(p) || !d.Type().IsRegular() {
			return nil
		}
		if len(list) == maxObjects {
			truncated = true
			return errStop
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		list = append(list, objectOut{p, info.Size(), s.stored(p).Get("Content-Type")})
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		apiError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"origin": s.cfg.OriginName, "objects": list, "truncated": truncated})
}

// getObject is GET /-/api/objects/{key}: the original's bytes, as the
// origin holds them.
func (s *Server) getObject(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	if !fs.ValidPath(key) || key == "." || ossmeta.IsSidecar(key) {
		apiError(w, http.StatusNotFound, fmt.Sprintf("no object %q in the origin", key))
		return
	}
	f, err := s.cfg.Origin.Open(key)
	if err != nil {
		apiError(w, http.StatusNotFound, fmt.Sprintf("no object %q in the origin", key))
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		apiError(w, http.StatusNotFound, fmt.Sprintf("no object %q in the origin", key))
		return
	}
	// The bytes as stored, with the encoding they are stored in, so that
	// the browser shows a gzip-encoded original decoded.
	meta := s.stored(key)
	bodyHeaders(w, meta.Get("Content-Type"))
	if ce := meta.Get("Content-Encoding"); ce != "" {
		w.Header().Set("Content-Encoding", ce)
	}
	if rs, ok := f.(io.ReadSeeker); ok {
		http.ServeContent(w, r, "", st.ModTime(), rs)
		return
	}
	w.Header().Set("Content-Length", fmt.Sprint(st.Size()))
	_, _ = io.Copy(w, f)
}

// getResult is GET /-/api/results/{id}: a run's result, while kept.
func (s *Server) getResult(w http.ResponseWriter, r *http.Request) {
	res, ok := s.results.get(r.PathValue("id"))
	if !ok {
		apiError(w, http.StatusNotFound, "no such result: results are kept for 10 minutes, and the oldest go first when they fill 64 MiB")
		return
	}
	bodyHeaders(w, res.contentType)
	w.Header().Set("Content-Length", fmt.Sprint(len(res.data)))
	_, _ = w.Write(res.data)
}

// bodyHeaders make an object shown by the page inert: an SVG or HTML
// original opened on its own cannot run script with the page's rights.
func bodyHeaders(w http.ResponseWriter, ct string) {
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Content-Security-Policy", "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox")
	h.Set("Cache-Control", "no-cache")
}
