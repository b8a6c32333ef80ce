package engine

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/opaprules/opaprules/actions"
	"github.com/opaprules/opaprules/rules"
)

// LocalRun is one request answered outside Function Compute: by dry-run,
// rule tests and the playground. It goes through the same steps as an
// invocation (Handler.RunLocal), so what it shows is what a client gets.
type LocalRun struct {
	Request *rules.Request
	// Object is the path of a local file playing the original. Without
	// one, the plan runs only as far as it can without the bytes: the
	// answer is what it implies (see Implied), and Request.Object stands
	// for the original's metadata.
	Object string
	// Others reads other objects, such as watermark images; nil: none.
	Others actions.Fetcher
	// Body receives the response body as it streams; nil discards it.
	Body io.Writer
}

// LocalResult is what the client of a LocalRun would get, and why.
type LocalResult struct {
	// Plan is nil when the rules could not be evaluated.
	Plan  *rules.Plan
	Trace *rules.Trace
	// Status and Header are the response as the client sees it: the
	// headers WriteGetObjectResponse forwards.
	Status int
	Header http.Header
	// Bytes is the length of the body.
	Bytes int64
	// Error is set when the answer is an error, with the code and message
	// of its OSS XML body.
	Error *actions.Error
	// Predicted is set when there was no original: Status and Header are
	// what the plan implies.
	Predicted bool
	// Stages is the time each step took, in order.
	Stages []Stage
}

// Stage is the time one step of a request took.
type Stage struct {
	Name     string
	Duration time.Duration
}

// RunLocal answers run.Request with the handler's own steps, with a local
// file as the original and the answer kept instead of sent. The body
// streams into run.Body; nothing but the plan's own buffering holds it.
// The error is set only when the answer could not be delivered (run.Body
// failed).
func (h *Handler) RunLocal(ctx context.Context, run LocalRun) (*LocalResult, error) {
	lg := &requestLog{start: time.Now()}
	res := &LocalResult{}
	to := &localSink{forward: h.forward, body: run.Body, res: res}
	inv := h.newInvocation("", run.Request, lg, to)
	inv.explain = true
	if run.Object != "" {
		inv.source = &fileSource{path: run.Object}
	}
	inv.fetcher = run.Others
	err := inv.run(ctx, nil)
	res.Plan, res.Trace, res.Predicted = inv.plan, inv.trace, run.Object == ""
	lg.set(func(l *requestLog) {
		for _, a := range l.stages {
			res.Stages = append(res.Stages, Stage{a.Key, time.Duration(a.Value.Float64() * float64(time.Millisecond))})
		}
	})
	if h.cfg.Logger != nil {
		lg.emit(h.cfg.Logger.With(slog.Bool("local", true)), err)
	}
	return res, err
}

// localSink keeps a local run's answer: the headers WriteGetObjectResponse
// would forward, and the body streamed into a writer.
type localSink struct {
	forward []string
	body    io.Writer
	res     *LocalResult
}

func (s *localSink) send(r response) error {
	s.res.Status, s.res.Error = r.status, r.err
	s.res.Header = http.Header{}
	for _, name := range s.forward {
		if v := r.header.Get(name); v != "" {
			s.res.Header.Set(name, v)
		}
	}
	if r.body == nil {
		return nil
	}
	w := s.body
	if w == nil {
		w = io.Discard
	}
	n, err := io.Copy(w, io.LimitReader(safeReader{r.body}, r.size))
	s.res.Bytes = n
	if err == nil && n < r.size {
		err = fmt.Errorf("body ended %d bytes short", r.size-n)
	}
	return err
}

// fileSource plays the origin with a local file, answering as OSS answers
// a GetObject of a simple upload: Content-Type from the key's extension,
// an ETag that is the content's MD5, Last-Modified from the file, and for
// a passthrough the client's conditionals and Range.
type fileSource struct{ path string }

func (f *fileSource) open(ctx context.Context, req *rules.Request, forward []string) (*originResponse, error) {
	file, err := openRegular(f.path)
	if err != nil {
		return nil, err
	}
	st, _ := file.Stat()
	etag, err := fileETag(file)
	if err != nil {
		file.Close()
		return nil, err
	}
	size := st.Size()
	h := http.Header{}
	h.Set("Content-Type", contentType(req.Key, f.path))
	h.Set("ETag", etag)
	modified := st.ModTime().UTC().Truncate(time.Second)
	h.Set("Last-Modified", modified.Format(http.TimeFormat))
	h.Set("Accept-Ranges", "bytes")
	resp := &originResponse{status: http.StatusOK, header: h, length: size}
	cond := http.Header{}
	for _, name := range forward {
		if v := req.Header.Get(name); v != "" {
			cond.Set(name, v)
		}
	}
	switch precondition(cond, etag, modified) {
	case http.StatusPreconditionFailed:
		file.Close()
		return nil, originError(http.StatusPreconditionFailed, actions.CodePreconditionFailed, "At least one of the pre-conditions you specified did not hold.")
	case http.StatusNotModified:
		file.Close()
		// As OSS does: a 304 carries the validators only.
		resp.header = http.Header{"Etag": {etag}, "Last-Modified": {h.Get("Last-Modified")}}
		resp.status, resp.length = http.StatusNotModified, 0
		resp.read = &countingReader{r: http.NoBody}
		resp.body = readCloser{resp.read, io.NopCloser(nil)}
		return resp, nil
	}
	var body io.Reader = file
	// OSS answers a range it cannot satisfy with the whole object.
	if r, ok, unsatisfiable := parseRange(cond, size, etag, modified); ok && !unsatisfiable {
		body = io.NewSectionReader(file, r.start, r.length)
		resp.status, resp.length = http.StatusPartialContent, r.length
		h.Set("Content-Range", r.contentRange(size))
	}
	resp.read = &countingReader{r: body}
	resp.body = readCloser{resp.read, file}
	return resp, nil
}

// openRegular opens a regular file for reading: a FIFO or a device would
// block or never end.
func openRegular(name string) (*os.File, error) {
	st, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", name)
	}
	return os.Open(name)
}

// fileETag is the quoted, upper-case hex MD5 of the file, as OSS gives a
// simple upload; the file is left at its start.
func fileETag(f *os.File) (string, error) {
	h := md5.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	return `"` + strings.ToUpper(hex.EncodeToString(h.Sum(nil))) + `"`, nil
}

// contentType is what OSS would have stored: the type of the key's
// extension, else of the local file's, else application/octet-stream.
func contentType(key, file string) string {
	for _, ext := range []string{path.Ext(key), filepath.Ext(file)} {
		if ct := mime.TypeByExtension(strings.ToLower(ext)); ext != "" && ct != "" {
			return ct
		}
	}
	return "application/octet-stream"
}

// DirFetcher reads other objects (watermark images) from a local folder
// playing the bucket. Keys cannot leave the folder.
func DirFetcher(dir string) (actions.Fetcher, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return dirFetcher{root}, nil
}

type dirFetcher struct{ root *os.Root }

func (d dirFetcher) Fetch(_ context.Context, key string, maxBytes int64) ([]byte, error) {
	st, err := d.root.Stat(key)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, &fs.PathError{Op: "open", Path: key, Err: errors.New("not a regular file")}
	}
	if st.Size() > maxBytes {
		return nil, fmt.Errorf("object %q is over %d bytes", key, maxBytes)
	}
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

// Interface guards.
var (
	_ source          = (*fileSource)(nil)
	_ sink            = (*localSink)(nil)
	_ actions.Fetcher = dirFetcher{}
)
