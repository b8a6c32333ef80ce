package engine

import (
	"bytes"
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
	"github.com/opaprules/opaprules/internal/ossmeta"
	"github.com/opaprules/opaprules/internal/safefile"
	"github.com/opaprules/opaprules/rules"
)

// LocalRun is one request answered outside Function Compute: by dry-run,
// rule tests and the playground. It goes through the same steps as an
// invocation (Handler.RunLocal), so what it shows is what a client gets.
type LocalRun struct {
	Request *rules.Request
	// Object is the path of a local file playing the original, or with
	// FS set, its slash-separated name in FS. Without one, the plan runs
	// only as far as it can without the bytes: the answer is what it
	// implies (see Implied), and Request.Object stands for the original's
	// metadata.
	Object string
	// FS, when set, holds the originals (the bundled samples, a folder
	// opened with os.Root): a missing Object is then answered 404
	// NoSuchKey, as OSS answers a missing key.
	FS fs.FS
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
	// Vary names the request headers the answer was negotiated on (convert
	// with format: auto reads Accept), which the derived ETag folds in; a
	// cache in front must key on them.
	Vary []string
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
		inv.source = &fileSource{fsys: run.FS, name: run.Object}
	}
	inv.fetcher = run.Others
	err := inv.run(ctx, nil)
	res.Plan, res.Trace, res.Predicted = inv.plan, inv.trace, run.Object == ""
	res.Vary = inv.vary.list()
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
// a passthrough the client's conditionals and Range. With fsys set, name
// is a name in it; else a path on disk.
type fileSource struct {
	fsys fs.FS
	name string
}

func (f *fileSource) open(ctx context.Context, req *rules.Request, forward []string) (*originResponse, error) {
	file, etag, err := f.openHashed()
	if err != nil {
		return nil, err
	}
	st, err := file.Stat()
	if err != nil {
		file.Close()
		return nil, err
	}
	size := st.Size()
	meta, err := f.meta()
	if err != nil {
		file.Close()
		// As the local OSS server answers an object whose sidecar is bad.
		return nil, originError(http.StatusInternalServerError, "InternalError", "invalid "+f.name+ossmeta.Suffix+": "+err.Error())
	}
	h := http.Header{}
	h.Set("Content-Type", contentType(req.Key, f.name))
	for k, v := range meta {
		h[k] = v
	}
	h.Set("ETag", etag)
	// Embedded files have no time; OSS always has one, but making one
	// up would make If-Modified-Since answer about nothing.
	modified := st.ModTime().UTC().Truncate(time.Second)
	if !st.ModTime().IsZero() {
		h.Set("Last-Modified", modified.Format(http.TimeFormat))
	} else {
		modified = time.Time{}
	}
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
		resp.header = http.Header{"Etag": {etag}}
		setIf(resp.header, "Last-Modified", h.Get("Last-Modified"))
		resp.status, resp.length = http.StatusNotModified, 0
		resp.read = &countingReader{r: http.NoBody}
		resp.body = readCloser{resp.read, io.NopCloser(nil)}
		return resp, nil
	}
	var body io.Reader = file
	// OSS answers a range it cannot satisfy with the whole object.
	if r, ok, unsatisfiable := parseRange(cond, size, etag, modified); ok && !unsatisfiable {
		if body, err = section(file, r.start, r.length); err != nil {
			file.Close()
			return nil, err
		}
		resp.status, resp.length = http.StatusPartialContent, r.length
		h.Set("Content-Range", r.contentRange(size))
	}
	resp.read = &countingReader{r: body}
	resp.body = readCloser{resp.read, file}
	return resp, nil
}

// openHashed opens the file and reads it once for its ETag, leaving it
// open at its start: rewound when it can seek (os and embed files can),
// else opened a second time.
func (f *fileSource) openHashed() (fs.File, string, error) {
	file, err := f.openFile()
	if err != nil {
		return nil, "", err
	}
	etag, err := md5ETag(file)
	if err == nil {
		if s, ok := file.(io.Seeker); ok {
			_, err = s.Seek(0, io.SeekStart)
		} else {
			file.Close()
			file, err = f.openFile()
		}
	}
	if err != nil {
		if file != nil {
			file.Close()
		}
		return nil, "", err
	}
	return file, etag, nil
}

func (f *fileSource) openFile() (fs.File, error) {
	if f.fsys == nil {
		return openRegular(f.name)
	}
	if !fs.ValidPath(f.name) {
		return nil, originError(http.StatusNotFound, "", "")
	}
	st, err := fs.Stat(f.fsys, f.name)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && st.IsDir()) {
		return nil, originError(http.StatusNotFound, "", "")
	}
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", f.name)
	}
	return f.fsys.Open(f.name)
}

// meta reads the original's sidecar, "<name>.ossmeta.json", if there is
// one: the headers OSS would have stored with it, as serve's local OSS
// server reads them (package ossmeta).
func (f *fileSource) meta() (http.Header, error) {
	if f.fsys != nil {
		return ossmeta.ReadFS(f.fsys, f.name)
	}
	b, err := safefile.ReadFile(f.name+ossmeta.Suffix, ossmeta.MaxSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return ossmeta.Decode(bytes.NewReader(b))
}

// section is length bytes of file from start.
func section(file fs.File, start, length int64) (io.Reader, error) {
	if ra, ok := file.(io.ReaderAt); ok {
		return io.NewSectionReader(ra, start, length), nil
	}
	if _, err := io.CopyN(io.Discard, file, start); err != nil {
		return nil, err
	}
	return io.LimitReader(file, length), nil
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

// md5ETag is the quoted, upper-case hex MD5 of r, as OSS gives a simple
// upload.
func md5ETag(r io.Reader) (string, error) {
	h := md5.New()
	if _, err := io.Copy(h, r); err != nil {
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
	return fsFetcher{root.FS()}, nil
}

// FSFetcher reads other objects (watermark images) from fsys playing the
// bucket, such as the bundled samples.
func FSFetcher(fsys fs.FS) actions.Fetcher { return fsFetcher{fsys} }

type fsFetcher struct{ fsys fs.FS }

func (d fsFetcher) Fetch(_ context.Context, key string, maxBytes int64) ([]byte, error) {
	if !fs.ValidPath(key) {
		return nil, &fs.PathError{Op: "open", Path: key, Err: fs.ErrInvalid}
	}
	st, err := fs.Stat(d.fsys, key)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, &fs.PathError{Op: "open", Path: key, Err: errors.New("not a regular file")}
	}
	if st.Size() > maxBytes {
		return nil, fmt.Errorf("object %q is over %d bytes", key, maxBytes)
	}
	f, err := d.fsys.Open(key)
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
	_ actions.Fetcher = fsFetcher{}
)
