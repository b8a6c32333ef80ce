package pii

import (
	"bufio"
	"fmt"
	"io"
	"mime"
	"strings"
)

// Redact copies src to dst, redacted as kind, and returns the bytes
// written. Text streams through Reader; JSON, NDJSON and CSV are parsed and
// re-encoded (see their rules in this package's documentation). On error
// dst may have received part of the output.
func (r *Redactor) Redact(dst io.Writer, src io.Reader, kind Kind) (int64, error) {
	cw := &countWriter{w: dst}
	if kind == KindText {
		_, err := r.Reader(src).(io.WriterTo).WriteTo(cw)
		return cw.n, err
	}
	bw := bufio.NewWriterSize(cw, 64<<10)
	var err error
	switch kind {
	case KindJSON:
		err = r.redactJSON(bw, src)
	case KindNDJSON:
		err = r.redactNDJSON(bw, src)
	case KindCSV:
		err = r.redactCSV(bw, src)
	default:
		return 0, fmt.Errorf("pii: unknown kind %v", kind)
	}
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	return cw.n, err
}

// RedactBytes redacts text held in memory and appends the result to dst.
func (r *Redactor) RedactBytes(dst, text []byte) []byte {
	return r.newWindow(nil).appendText(dst, text)
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// KindOf picks the kind for an object from its Content-Type and its name's
// extension (".log", "log" or "dir/a.log" all work). A structured media
// type wins (text/csv, application/json and +json, application/x-ndjson
// and its aliases); otherwise the extension decides (.csv, .json, .ndjson,
// .jsonl; .log, .txt, .out, .tsv, .xml, .yaml, .yml, .md, .html as text);
// otherwise any text/* (and XML, YAML, JavaScript, SQL, shell) is text. It
// reports false for anything else (binary or unknown), which a caller
// should pass through or refuse rather than redact.
func KindOf(contentType, ext string) (Kind, bool) {
	mt := ""
	if contentType != "" {
		if t, _, err := mime.ParseMediaType(contentType); err == nil {
			mt = t
		} else {
			mt = strings.ToLower(strings.TrimSpace(strings.SplitN(contentType, ";", 2)[0]))
		}
	}
	switch mt {
	case "text/csv", "application/csv":
		return KindCSV, true
	case "application/json", "text/json":
		return KindJSON, true
	case "application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines",
		"application/jsonlines", "application/json-seq", "text/x-ndjson":
		return KindNDJSON, true
	}
	if strings.HasSuffix(mt, "+json") {
		return KindJSON, true
	}
	switch mt {
	case "application/xml", "application/yaml", "application/x-yaml", "application/javascript",
		"application/x-javascript", "application/sql", "application/x-sh":
		return KindText, true
	}
	if strings.HasSuffix(mt, "+xml") || strings.HasSuffix(mt, "+yaml") {
		return KindText, true
	}
	ext = strings.ToLower(ext)
	if i := strings.LastIndexByte(ext, '.'); i >= 0 {
		ext = ext[i+1:]
	}
	if i := strings.LastIndexByte(ext, '/'); i >= 0 {
		ext = ext[i+1:]
	}
	switch ext {
	case "csv":
		return KindCSV, true
	case "json":
		return KindJSON, true
	case "ndjson", "jsonl":
		return KindNDJSON, true
	case "log", "txt", "text", "out", "tsv", "xml", "yaml", "yml", "md", "html", "htm":
		return KindText, true
	}
	if strings.HasPrefix(mt, "text/") {
		return KindText, true
	}
	return KindText, false
}
