package actions

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"strings"
	"sync/atomic"

	"github.com/opaprules/opaprules/internal/pii"
	"github.com/opaprules/opaprules/internal/spool"
)

// The text mode of redact (redact.go): personal data in text, logs, CSV,
// JSON and NDJSON, through internal/pii.

// textParamsSet names the text-mode parameters given.
func (r *Redact) textParamsSet() []string {
	var set []string
	add := func(name string, given bool) {
		if given {
			set = append(set, name)
		}
	}
	add("detectors", len(r.Detectors) > 0)
	add("patterns", len(r.Patterns) > 0)
	add("style", r.Style != "")
	add("mask_char", r.MaskChar != "")
	add("keep_last", r.KeepLast != 0)
	add("replace", r.Replace != "")
	add("hash_key_env", r.HashKeyEnv != "")
	add("hash_length", r.hashLengthSet())
	add("hash_encoding", r.HashEncoding != "")
	add("json_paths", len(r.JSONPaths) > 0)
	add("json_keys", len(r.JSONKeys) > 0)
	add("csv_columns", len(r.CSVColumns) > 0)
	add("on_unsupported", r.OnUnsupported != "")
	return set
}

func (r *Redact) style() pii.Style {
	if r.Style == "" {
		return pii.StyleMask
	}
	return pii.Style(r.Style)
}

// redactPrepared is the compiled text redactor. For the hash style the key
// is read from the environment per request (see redactorFor), so a rule set
// can be checked where the secret is absent (CI, a laptop) and the key can
// come with the deployment only.
type redactPrepared struct {
	redactor *pii.Redactor // styles without a key
	cfg      pii.Config    // hash style: the config, less the key
	keyEnv   string
	keyed    atomic.Pointer[keyedRedactor]
}

type keyedRedactor struct {
	key string
	r   *pii.Redactor
}

func (r *Redact) config() pii.Config {
	cfg := pii.Config{
		Detectors:    r.Detectors,
		Style:        r.style(),
		KeepLast:     r.KeepLast,
		Replace:      r.Replace,
		HashLen:      r.HashLength,
		HashEncoding: r.HashEncoding,
		JSONPaths:    r.JSONPaths,
		JSONKeys:     r.JSONKeys,
		CSVColumns:   r.CSVColumns,
	}
	if r.MaskChar != "" {
		cfg.Mask = r.MaskChar[0]
	}
	for _, p := range r.Patterns {
		cfg.Patterns = append(cfg.Patterns, pii.Pattern{Name: p.Name, Regex: p.Regex, MaxLength: p.MaxLength})
	}
	return cfg
}

func (r *Redact) prepare() (*redactPrepared, error) {
	cfg := r.config()
	p := &redactPrepared{}
	if cfg.Style != pii.StyleHash {
		red, err := pii.New(cfg)
		if err != nil {
			return nil, configError(err)
		}
		p.redactor = red
		return p, nil
	}
	p.cfg, p.keyEnv = cfg, r.HashKeyEnv
	key := os.Getenv(r.HashKeyEnv)
	if len(key) < minHashKeyBytes {
		// Compile with a stand-in key only to report every other mistake
		// now; requests read the variable again.
		cfg.HashKey = []byte("stand-in key for checking the rule")
		if _, err := pii.New(cfg); err != nil {
			return nil, configError(err)
		}
		return p, nil
	}
	cfg.HashKey = []byte(key)
	red, err := pii.New(cfg)
	if err != nil {
		return nil, configError(err)
	}
	p.keyed.Store(&keyedRedactor{key: key, r: red})
	return p, nil
}

// redactorFor returns the compiled redactor, with the current key for the
// hash style. A missing or short key is the deployment's fault: a 500 that
// names the variable in the log, never to the client.
func (p *redactPrepared) redactorFor() (*pii.Redactor, error) {
	if p.redactor != nil {
		return p.redactor, nil
	}
	key := os.Getenv(p.keyEnv)
	if k := p.keyed.Load(); k != nil && k.key == key {
		return k.r, nil
	}
	if len(key) < minHashKeyBytes {
		why := "is not set"
		if key != "" {
			why = fmt.Sprintf("holds %d bytes, fewer than the %d the hash style needs", len(key), minHashKeyBytes)
		}
		return nil, &Error{Status: http.StatusInternalServerError, Code: CodeInternalError,
			Message: "the redaction key is not configured",
			Cause:   fmt.Errorf("redact: hash_key_env: %s %s", p.keyEnv, why)}
	}
	cfg := p.cfg
	cfg.HashKey = []byte(key)
	red, err := pii.New(cfg)
	if err != nil {
		return nil, configError(err) // checked at load with a stand-in key
	}
	p.keyed.Store(&keyedRedactor{key: key, r: red})
	return red, nil
}

// piiParam maps pii's Config field names to the parameter names operators
// wrote.
var piiParam = map[string]string{
	"mask":     "mask_char",
	"hash_len": "hash_length",
	"hash_key": "hash_key_env",
}

func configError(err error) error {
	var ce *pii.ConfigError
	if !errors.As(err, &ce) {
		return err
	}
	field := ce.Field
	if name, ok := piiParam[field]; ok {
		field = name
	}
	return fmt.Errorf("%s: %v", field, ce.Err)
}

func (r *Redact) applyText(ctx context.Context, obj *Object) error {
	p := r.prepared
	if p == nil {
		// Built without the loader (tests, tools): compile per call.
		var err error
		if p, err = r.prepare(); err != nil {
			return err
		}
	}
	ct := obj.ContentType()
	kind, ok := pii.KindOf(ct, obj.Key())
	if !ok {
		if ct == "" {
			return r.unsupported("the object has no Content-Type and its key's extension is not one of text, JSON, NDJSON or CSV")
		}
		return r.unsupported(fmt.Sprintf("content type %q is not text, JSON, NDJSON or CSV", ct))
	}
	// The detectors read bytes as ASCII-compatible text: compressed bytes
	// or UTF-16 would hide every value and go out as they came.
	if enc := obj.Header.Get("Content-Encoding"); enc != "" && !strings.EqualFold(strings.TrimSpace(enc), "identity") {
		return r.unsupported(fmt.Sprintf("the body is stored with Content-Encoding %q", enc))
	}
	if cs := charsetOf(obj.Header.Get("Content-Type")); wideCharset(cs) {
		return r.unsupported(fmt.Sprintf("charset %q is not ASCII-compatible", cs))
	}
	red, err := p.redactorFor()
	if err != nil {
		return err
	}
	body, size, err := obj.Body(ctx)
	if err != nil {
		return err
	}
	if size == 0 {
		return nil
	}
	// A 16-byte buffer is enough to look for a UTF-16 or UTF-32 byte order
	// mark; bufio hands larger reads straight to the source afterwards.
	br := bufio.NewReaderSize(body, 16)
	if head, _ := br.Peek(4); wideBOM(head) {
		obj.SetBody(br, size)
		return r.unsupported("the body is UTF-16 or UTF-32 text (byte order mark)")
	}
	if kind == pii.KindText && red.PreservesLength() {
		// Same length: stream with the origin's Content-Length, in the
		// Reader's fixed window. Nothing is read until the response is
		// written. An unknown size stays unknown and Result spools.
		obj.SetBody(red.Reader(br), size)
		return nil
	}
	src := &sourceReader{r: br}
	out, err := red.RedactSpooled(ctx, src, kind, obj.SpoolOptions())
	if err != nil {
		return redactError(ctx, err, src.err, kind)
	}
	obj.OnClose(func() { out.Close() })
	obj.SetBody(out, out.Size)
	return nil
}

func (r *Redact) unsupported(why string) error {
	if r.OnUnsupported == "passthrough" {
		return nil
	}
	return &Error{Status: http.StatusBadRequest, Code: CodeUnsupportedContent, Message: "cannot redact the object: " + why}
}

// sourceReader remembers the source's own error, so a failing origin is not
// reported as malformed content.
type sourceReader struct {
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}

// redactError turns a failed structured or spooled redaction into what the
// client should see. The messages never quote the content: a parse error
// could carry a piece of the very data being redacted.
func redactError(ctx context.Context, err, srcErr error, kind pii.Kind) error {
	var (
		syntax    *pii.JSONSyntaxError
		longLine  *pii.LineTooLongError
		csvErr    *csv.ParseError
		csvRecord *pii.RecordTooLargeError
	)
	switch {
	case errors.Is(err, spool.ErrTooLarge), errors.Is(err, spool.ErrBudget):
		return SpoolError(err, "redacted object")
	case errors.As(err, &csvRecord):
		what := "is longer than " + ByteSize(csvRecord.Limit).String()
		if csvRecord.Fields {
			what = fmt.Sprintf("has more than %d fields", csvRecord.Limit)
		}
		return &Error{Status: http.StatusBadRequest, Code: CodeEntityTooLarge,
			Message: fmt.Sprintf("cannot redact the object: CSV record %d %s", csvRecord.Record, what), Cause: err}
	case ctx.Err() != nil:
		return ctx.Err()
	case srcErr != nil && errors.Is(err, srcErr):
		return err
	case errors.As(err, &longLine):
		return &Error{Status: http.StatusBadRequest, Code: CodeUnsupportedContent,
			Message: fmt.Sprintf("cannot redact the object: NDJSON line %d is longer than %s", longLine.Line, ByteSize(longLine.Limit)), Cause: err}
	case errors.As(err, &syntax):
		return &Error{Status: http.StatusBadRequest, Code: CodeUnsupportedContent,
			Message: fmt.Sprintf("cannot redact the object: it is not valid %s", strings.ToUpper(kind.String())), Cause: err}
	case errors.As(err, &csvErr):
		return &Error{Status: http.StatusBadRequest, Code: CodeUnsupportedContent,
			Message: fmt.Sprintf("cannot redact the object: it is not valid CSV (line %d)", csvErr.Line), Cause: err}
	}
	return err
}

func charsetOf(contentType string) string {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return ""
	}
	return strings.ToLower(params["charset"])
}

// wideCharset reports the encodings whose ASCII characters are not single
// ASCII bytes.
func wideCharset(cs string) bool {
	return strings.HasPrefix(cs, "utf-16") || strings.HasPrefix(cs, "utf-32") ||
		strings.HasPrefix(cs, "ucs-") || strings.HasPrefix(cs, "iso-10646-ucs") || cs == "unicode"
}

func wideBOM(b []byte) bool {
	switch {
	case len(b) >= 4 && (string(b[:4]) == "\x00\x00\xfe\xff" || string(b[:4]) == "\xff\xfe\x00\x00"):
		return true
	case len(b) >= 2 && (string(b[:2]) == "\xfe\xff" || string(b[:2]) == "\xff\xfe"):
		return true
	}
	return false
}
