package actions_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/opaprules/opaprules/actions"
	"github.com/opaprules/opaprules/engine"
	"github.com/opaprules/opaprules/internal/imageio"
	"github.com/opaprules/opaprules/internal/pii"
	"github.com/opaprules/opaprules/rules"
)

// redactObject wraps body as an origin object named key of the given
// Content-Type, with the default limits.
func redactObject(key, contentType string, body io.Reader, size int64) *actions.Object {
	h := http.Header{}
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	return actions.NewObject(&actions.Request{Key: key, Header: http.Header{}}, body, size, h, actions.DefaultLimits())
}

// redactRun applies a to obj (closing it when the test ends) and returns
// the result's bytes and its announced length.
func redactRun(t testing.TB, obj *actions.Object, a actions.Action) ([]byte, int64, error) {
	t.Helper()
	t.Cleanup(obj.Close)
	if err := a.Apply(context.Background(), obj); err != nil {
		return nil, 0, err
	}
	r, n, err := obj.Result(context.Background())
	if err != nil {
		return nil, 0, err
	}
	out, err := io.ReadAll(r)
	if err != nil {
		return nil, 0, err
	}
	if int64(len(out)) != n {
		t.Fatalf("result announced %d bytes, gave %d", n, len(out))
	}
	return out, n, nil
}

// redactString redacts s as the object key with the Content-Type.
func redactString(t testing.TB, a actions.Action, key, contentType, s string) string {
	t.Helper()
	out, _, err := redactRun(t, redactObject(key, contentType, strings.NewReader(s), int64(len(s))), a)
	if err != nil {
		t.Fatalf("redact %s: %v", key, err)
	}
	return string(out)
}

// prepared returns a with its Prepare and Validate run, as the loader does.
func prepared[A actions.Action](t testing.TB, a A) A {
	t.Helper()
	if p, ok := any(a).(actions.Preparer); ok {
		if err := p.Prepare(); err != nil {
			t.Fatalf("prepare: %v", err)
		}
	}
	if v, ok := any(a).(actions.Validator); ok {
		if err := v.Validate(); err != nil {
			t.Fatalf("validate: %v", err)
		}
	}
	return a
}

// wantRedactError checks err is an *actions.Error with the status and code.
func wantRedactError(t *testing.T, err error, status int, code string) *actions.Error {
	t.Helper()
	e, ok := actions.AsError(err)
	if !ok || e.Status != status || e.Code != code {
		t.Fatalf("error %v, want %d %s", err, status, code)
	}
	return e
}

// The pii package's corpus, through the action: every positive redacted
// to its entity, every negative (failing Luhn, bad ID checksums, strings
// that only look like e-mails) left alone.
func TestRedactCorpus(t *testing.T) {
	data, err := os.ReadFile("../internal/pii/testdata/cases.tsv")
	if err != nil {
		t.Fatal(err)
	}
	entity := prepared(t, &actions.Redact{Style: "entity"})
	mask := prepared(t, &actions.Redact{})
	positives, negatives := 0, 0
	for i, line := range strings.Split(string(data), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		in, want, positive := strings.Cut(line, "\t")
		if !positive {
			want = in
			negatives++
		} else {
			positives++
		}
		if got := redactString(t, entity, "app.log", "text/plain", in); got != want {
			t.Errorf("line %d: %q\n got %q\nwant %q", i+1, in, got, want)
		}
		masked := redactString(t, mask, "app.log", "text/plain; charset=utf-8", in)
		if len(masked) != len(in) || (masked == in) == positive {
			t.Errorf("line %d: mask gave %q for %q (positive %v)", i+1, masked, in, positive)
		}
	}
	if positives < 30 || negatives < 20 {
		t.Fatalf("corpus has %d positives and %d negatives: wrong file?", positives, negatives)
	}
}

// countingReader counts what was read from it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// redactLog returns about size bytes of log lines, one in a hundred with a
// value a detector finds, and how many such lines it wrote.
func redactLog(size int, seed uint64) ([]byte, int) {
	rng := rand.New(rand.NewPCG(seed, 7))
	values := []string{
		"login from li.lei@example.org", "sms to 13912345678", "card 4111-1111-1111-1111 charged",
		"resident 11010519491231002X", "peer 198.51.100.23 closed", "ak LTAI4Gq8ZPmNxV2rYtWb used",
		"upstream 2001:db8::8a2e:370:7334 slow",
	}
	var b bytes.Buffer
	b.Grow(size + 256)
	hits := 0
	for b.Len() < size {
		fmt.Fprintf(&b, "2025-01-%02d %02d:%02d:%02d.%03d %s svc=orders-%d span=%016x GET /v3/orders/%d?expand=items %d in %d.%03ds",
			1+rng.IntN(28), rng.IntN(24), rng.IntN(60), rng.IntN(60), rng.IntN(1000),
			[]string{"INFO", "WARN", "DEBUG"}[rng.IntN(3)], rng.IntN(9), rng.Uint64(), rng.IntN(1e7),
			[]int{200, 204, 404, 503}[rng.IntN(4)], rng.IntN(3), rng.IntN(1000))
		if rng.IntN(100) == 0 {
			b.WriteString(" " + values[rng.IntN(len(values))])
			hits++
		}
		b.WriteByte('\n')
	}
	return b.Bytes(), hits
}

// The mask style keeps the origin's length and streams: Apply reads
// nothing, the result announces the origin's size without being buffered,
// and the source is never read far ahead of the output.
func TestRedactMaskStreams(t *testing.T) {
	in, hits := redactLog(2<<20, 1)
	src := &countingReader{r: bytes.NewReader(in)}
	obj := redactObject("logs/app.log", "", src, int64(len(in)))
	defer obj.Close()
	a := prepared(t, &actions.Redact{KeepLast: 4})
	before := *a
	if err := a.Apply(context.Background(), obj); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(before, *a) {
		t.Fatal("Apply modified its receiver")
	}
	// Apply may look at the first bytes for a UTF-16 byte order mark.
	if src.n > 16 {
		t.Fatalf("Apply read %d bytes: the body should stream when the response is written", src.n)
	}
	r, n, err := obj.Result(context.Background())
	if err != nil || n != int64(len(in)) {
		t.Fatalf("result: %d bytes, %v; want the origin's %d", n, err, len(in))
	}
	var out bytes.Buffer
	buf := make([]byte, 4096)
	ahead := int64(0)
	for {
		k, err := r.Read(buf)
		out.Write(buf[:k])
		ahead = max(ahead, src.n-int64(out.Len()))
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	// The redactor's window is about 100 KiB; a reader that buffered the
	// object would be megabytes ahead.
	if ahead > 512<<10 {
		t.Fatalf("source read up to %d bytes ahead of the output", ahead)
	}
	if out.Len() != len(in) {
		t.Fatalf("output %d bytes, input %d", out.Len(), len(in))
	}
	if masked := bytes.Count(out.Bytes(), []byte("****")); masked < hits {
		t.Fatalf("%d masked values for %d lines with personal data", masked, hits)
	}
	if bytes.Contains(out.Bytes(), []byte("li.lei@example.org")) || bytes.Contains(out.Bytes(), []byte("13912345678")) {
		t.Fatal("a value went out unmasked")
	}
}

// An unknown size stays unknown after the mask and the result is spooled.
func TestRedactMaskUnknownSize(t *testing.T) {
	in := "user bob@example.com\n"
	out, n, err := redactRun(t, redactObject("a.txt", "text/plain", strings.NewReader(in), -1), prepared(t, &actions.Redact{}))
	if err != nil || n != int64(len(in)) || string(out) != "user ***************\n" {
		t.Fatalf("%q (%d), %v", out, n, err)
	}
}

// A value split across the source's reads is found as if it were whole:
// one byte at a time, half reads, and a value straddling each position
// of the redactor's 64 KiB read size.
func TestRedactSplitAcrossReads(t *testing.T) {
	a := prepared(t, &actions.Redact{Style: "entity"})
	pad := strings.Repeat("x ", 32<<10)
	values := []string{"wang.wu@example.net", "4111 1111 1111 1111", "+86 139 1234 5678", "11010519491231002X",
		"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"}
	for _, v := range values {
		for shift := range len(v) + 2 {
			in := pad[:64<<10-shift] + " " + v + " tail\n"
			want := redactString(t, a, "a.log", "text/plain", in)
			if !strings.Contains(want, "] tail") || strings.Contains(want, v) {
				t.Fatalf("%q not redacted at shift %d", v, shift)
			}
			for name, src := range map[string]io.Reader{
				"one byte": iotest.OneByteReader(strings.NewReader(in)),
				"halves":   iotest.HalfReader(strings.NewReader(in)),
			} {
				if shift > 0 && name == "one byte" {
					continue // slow, and the boundary does not move for it
				}
				out, _, err := redactRun(t, redactObject("a.log", "text/plain", src, int64(len(in))), a)
				if err != nil || string(out) != want {
					t.Fatalf("%s, %q at shift %d: output differs from a whole read (%v)", name, v, shift, err)
				}
			}
		}
	}
}

// Styles that change lengths spool: in memory, then in a temporary file,
// and past max_spool_bytes the client gets 400 EntityTooLarge.
func TestRedactLengthChangingSpools(t *testing.T) {
	in, _ := redactLog(256<<10, 2)
	a := prepared(t, &actions.Redact{Style: "entity"})
	want := redactString(t, a, "app.log", "text/plain", string(in))
	if len(want) == len(in) || !strings.Contains(want, "[EMAIL]") {
		t.Fatalf("entity style kept the length (%d)", len(want))
	}
	for _, tc := range []struct {
		name          string
		buffer, spool actions.ByteSize
		tooLarge      bool
	}{
		{"memory", 1 << 20, 4 << 20, false},
		{"file", 16 << 10, 4 << 20, false},
		{"too large", 16 << 10, 64 << 10, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			obj := redactObject("app.log", "text/plain", bytes.NewReader(in), int64(len(in)))
			obj.Limits.MaxBufferBytes, obj.Limits.MaxSpoolBytes = tc.buffer, tc.spool
			out, n, err := redactRun(t, obj, a)
			if tc.tooLarge {
				e := wantRedactError(t, err, http.StatusBadRequest, actions.CodeEntityTooLarge)
				if !strings.Contains(e.Message, "64KiB") || !strings.Contains(e.Message, "max_spool_bytes") {
					t.Fatalf("message %q should name the limit", e.Message)
				}
				return
			}
			if err != nil || string(out) != want || n != int64(len(want)) {
				t.Fatalf("%d bytes, %v", n, err)
			}
		})
	}
}

func TestRedactJSON(t *testing.T) {
	in := `{"user": {"email": "zhao.liu@example.com", "name": "Zhao Liu", "phone": "13812345678"},
  "password": "hunter2",
  "orders": [{"id": 1, "card": "4111111111111111", "note": "ship to 203.0.113.9"}, {"id": 2, "card": 5500005555555559}],
  "ok": true, "n": null}`
	a := prepared(t, &actions.Redact{Style: "entity",
		JSONPaths: []string{"$.user.name", "$.orders[*].card"}, JSONKeys: []string{"PASSWORD"}})
	out := redactString(t, a, "export/users", "application/json; charset=utf-8", in)
	var before, after any
	if err := json.Unmarshal([]byte(in), &before); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(out), &after); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if !sameShape(before, after) {
		t.Fatalf("structure changed:\n%s", out)
	}
	for _, want := range []string{`"email": "[EMAIL]"`, `"name": "[REDACTED]"`, `"phone": "[PHONE]"`, `"password": "[REDACTED]"`,
		`"card": "[REDACTED]"`, `"note": "ship to [IPV4]"`, `"id": 1`, `"ok": true, "n": null`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %s:\n%s", want, out)
		}
	}
}

// sameShape reports whether two decoded JSON values have the same keys,
// array lengths and nesting.
func sameShape(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if w, ok := y[k]; !ok || !sameShape(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameShape(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	_, isMap := b.(map[string]any)
	_, isSlice := b.([]any)
	return !isMap && !isSlice
}

func TestRedactNDJSON(t *testing.T) {
	in := "{\"msg\":\"login\",\"email\":\"a.b@example.com\"}\n\n{\"msg\":\"call 13912345678\",\"uid\":7}\r\n{\"token\":\"secret-value\"}\n"
	a := prepared(t, &actions.Redact{JSONKeys: []string{"token"}})
	// Mask on NDJSON: the kind is structured, so the object is spooled.
	out := redactString(t, a, "events.ndjson", "", in)
	lines := strings.SplitAfter(out, "\n")
	if want := strings.SplitAfter(in, "\n"); len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), out)
	}
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" && !json.Valid([]byte(l)) {
			t.Fatalf("line %q is not JSON", l)
		}
	}
	if strings.Contains(out, "a.b@example.com") || strings.Contains(out, "13912345678") || strings.Contains(out, "secret-value") ||
		!strings.Contains(out, "\r\n") {
		t.Fatalf("output:\n%q", out)
	}
}

func TestRedactCSV(t *testing.T) {
	in := "id,name,email,note\r\n1,\"Sun, Qi\",sun.qi@example.com,\"called 13812345678, twice\"\r\n2,Zhou Ba,,\"plain \"\"quoted\"\" note\"\r\n"
	a := prepared(t, &actions.Redact{Style: "replace", Replace: "-", CSVColumns: []string{" Name "}})
	out := redactString(t, a, "people.csv", "text/csv", in)
	read := func(s string) [][]string {
		recs, err := csv.NewReader(strings.NewReader(s)).ReadAll()
		if err != nil {
			t.Fatalf("not CSV: %v\n%s", err, s)
		}
		return recs
	}
	got, want := read(out), read(in)
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d", len(got), len(want))
	}
	wantCells := [][]string{
		{"id", "name", "email", "note"},
		{"1", "-", "-", "called -, twice"},
		{"2", "-", "", `plain "quoted" note`},
	}
	if !reflect.DeepEqual(got, wantCells) {
		t.Fatalf("records %q, want %q", got, wantCells)
	}
}

// Content the detectors cannot read is refused with a stable code, or
// served unchanged with on_unsupported: passthrough.
func TestRedactUnsupported(t *testing.T) {
	pngBytes := redactPNG(t, redactPicture(8, 8))
	utf16 := []byte("\xff\xfeu\x00@\x00")
	for _, tc := range []struct {
		name, key, contentType string
		encoding               string
		body                   []byte
		mention                string
	}{
		{"image", "a.png", "image/png", "", pngBytes, `"image/png"`},
		{"octet-stream", "dump.bin", "application/octet-stream", "", []byte("a@example.com"), `"application/octet-stream"`},
		{"no type, unknown extension", "blob", "", "", []byte("a@example.com"), "no Content-Type"},
		{"gzip", "a.log", "text/plain", "gzip", []byte("\x1f\x8b\x08"), "gzip"},
		{"utf-16 charset", "a.txt", "text/plain; charset=UTF-16LE", "", utf16, "utf-16le"},
		{"utf-16 BOM", "a.csv", "text/csv", "", utf16, "UTF-16"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			obj := func() *actions.Object {
				o := redactObject(tc.key, tc.contentType, bytes.NewReader(tc.body), int64(len(tc.body)))
				if tc.encoding != "" {
					o.Header.Set("Content-Encoding", tc.encoding)
				}
				return o
			}
			_, _, err := redactRun(t, obj(), prepared(t, &actions.Redact{}))
			e := wantRedactError(t, err, http.StatusBadRequest, actions.CodeUnsupportedContent)
			if !strings.Contains(e.Message, tc.mention) {
				t.Fatalf("message %q does not mention %s", e.Message, tc.mention)
			}
			out, _, err := redactRun(t, obj(), prepared(t, &actions.Redact{OnUnsupported: "passthrough"}))
			if err != nil || !bytes.Equal(out, tc.body) {
				t.Fatalf("passthrough: %v, %q", err, out)
			}
		})
	}
}

// Malformed structured content fails whatever on_unsupported says (it is
// not unknown content, and passing it through would leak it), and the
// message never quotes it.
func TestRedactMalformed(t *testing.T) {
	for _, tc := range []struct{ key, body, mention string }{
		{"a.json", `{"card": 4111111111111111x}`, "not valid JSON"},
		{"a.ndjson", "{\"a\":1}\n{\"email\": \"x@example.com\"\n", "not valid NDJSON"},
		{"a.csv", "a,b\n\"x@example.com,2\n", "not valid CSV"},
	} {
		a := prepared(t, &actions.Redact{OnUnsupported: "passthrough"})
		_, _, err := redactRun(t, redactObject(tc.key, "", strings.NewReader(tc.body), int64(len(tc.body))), a)
		e := wantRedactError(t, err, http.StatusBadRequest, actions.CodeUnsupportedContent)
		if !strings.Contains(e.Message, tc.mention) || strings.Contains(e.Message, "4111") || strings.Contains(e.Message, "example.com") {
			t.Errorf("%s: message %q", tc.key, e.Message)
		}
	}
}

// A failing origin is reported as it is, not as malformed content.
func TestRedactSourceError(t *testing.T) {
	boom := errors.New("origin reset")
	src := io.MultiReader(strings.NewReader(`{"a": "b@example.com", `), iotest.ErrReader(boom))
	_, _, err := redactRun(t, redactObject("a.json", "", src, -1), prepared(t, &actions.Redact{}))
	if !errors.Is(err, boom) {
		t.Fatalf("error %v, want the origin's", err)
	}
	if _, ok := actions.AsError(err); ok {
		t.Fatalf("origin failure became a client error: %v", err)
	}
}

func TestRedactEmpty(t *testing.T) {
	out, n, err := redactRun(t, redactObject("a.json", "application/json", strings.NewReader(""), 0), prepared(t, &actions.Redact{}))
	if err != nil || n != 0 || len(out) != 0 {
		t.Fatalf("%q, %v", out, err)
	}
}

func TestRedactHash(t *testing.T) {
	const env = "OPAPRULES_TEST_REDACT_KEY"
	t.Setenv(env, "0123456789abcdef-first")
	a := prepared(t, &actions.Redact{Style: "hash", HashKeyEnv: env, HashLength: 12, Detectors: []string{"email"}})
	in := "from a@example.com to b@example.com cc a@example.com\n"
	out := redactString(t, a, "a.log", "text/plain", in)
	tokens := strings.Fields(out)
	if tokens[1] != tokens[5] || tokens[1] == tokens[3] || len(tokens[1]) != len("[EMAIL:]")+12 {
		t.Fatalf("tokens %q: the same value must give the same token, others differ", out)
	}
	// The key is read per request: a new key gives new tokens.
	t.Setenv(env, "another key, also long enough")
	if again := redactString(t, a, "a.log", "text/plain", in); again == out {
		t.Fatal("the key changed and the tokens did not")
	}
	for _, key := range []string{"", "short"} {
		t.Setenv(env, key)
		_, _, err := redactRun(t, redactObject("a.log", "text/plain", strings.NewReader(in), int64(len(in))), a)
		e := wantRedactError(t, err, http.StatusInternalServerError, actions.CodeInternalError)
		if strings.Contains(e.Message, env) || !strings.Contains(e.Error(), env) {
			t.Fatalf("key %q: message %q should keep the variable's name for the log (%v)", key, e.Message, e)
		}
	}
	// A rule set loads where the key is absent (CI checks, dry runs).
	os.Unsetenv(env)
	prepared(t, &actions.Redact{Style: "hash", HashKeyEnv: env})
}

// Load errors name the parameter.
func TestRedactLoadErrors(t *testing.T) {
	for _, tc := range []struct{ params, want string }{
		{`{regions: [{x: 0, y: 0, width: 10, height: 10}], detectors: [email]}`, "detectors apply to text"},
		{`{regions: [{x: 0, y: 0, width: 10, height: 10}], on_unsupported: passthrough}`, "on_unsupported apply to text"},
		{`{fill: blur}`, "fill: applies to image regions"},
		{`{regions: [{x: 0.5, y: 0, width: 0.2, height: 0.1}]}`, "regions[0].x: 0.5 is not a whole number"},
		{`{regions: [{x: 0.5, y: 0, width: 1.2, height: 0.1, unit: fraction}]}`, "regions[0].width: 1.2 is above 1"},
		{`{regions: [{x: 1, y: 0, width: 0.2, height: 0.1, unit: fraction}]}`, "regions[0]: x and y must be below 1"},
		{`{regions: [{x: 0, y: 0, width: 0, height: 5}]}`, "regions[0]: width and height"},
		{`{regions: [{x: 0, y: 0, width: 5}]}`, "height"},
		{`{regions: [{x: 0, y: 0, width: 5, height: 5, unit: cm}]}`, "unit"},
		{`{regions: [{x: 0, y: 0, width: 5, height: 5}], fill: solid, sigma: 3}`, "sigma: applies to fill: blur"},
		{`{regions: [{x: 0, y: 0, width: 5, height: 5}], block_size: 3}`, "block_size: applies to fill: pixelate"},
		{`{regions: [{x: 0, y: 0, width: 5, height: 5}], fill: blur, color: red}`, "color: applies to fill: solid"},
		{`{detectors: [email, passport]}`, "passport"},
		{`{detectors: [none]}`, "redacts nothing"},
		{`{detectors: [none, email]}`, `detectors[0]: "none" must stand alone`},
		{`{style: entity, mask_char: "#"}`, "mask_char: applies to style: mask"},
		{`{keep_last: 4, style: hash, hash_key_env: OPAPRULES_K}`, "keep_last: applies to style: mask"},
		{`{replace: "-"}`, "replace: applies to style: replace"},
		{`{mask_char: "ab"}`, "mask_char"},
		{`{mask_char: "é"}`, "mask_char"},
		{`{style: hash}`, "hash_key_env: required"},
		{`{style: hash, hash_key_env: ALIBABA_CLOUD_ACCESS_KEY_SECRET}`, "must be an environment variable name starting with OPAPRULES_"},
		{`{style: hash, hash_key_env: OPAPRULES_K, hash_encoding: base64url, hash_length: 50}`, "hash_length: 50 is outside 4..43"},
		{`{hash_length: 8}`, "hash_length: applies to style: hash"},
		{`{style: "${ query.s }"}`, "style"},
		{`{patterns: [{name: order_no, regex: "ORD-(["}]}`, `patterns["order_no"]: regex`},
		{`{patterns: [{name: order_no, regex: "x*"}]}`, "empty string"},
		{`{patterns: [{name: email, regex: "x+"}]}`, "already used"},
		{`{patterns: [{regex: "x+"}]}`, "name"},
		{`{json_paths: ["user.email"]}`, "json_paths[0]"},
		{`{keep_last: 20}`, "keep_last"},
		{`{on_unsupported: ignore}`, "on_unsupported"},
	} {
		src := "version: 1\nrules:\n  - name: r\n    actions:\n      - redact: " + tc.params + "\n"
		_, err := rules.Load("rules.yaml", []byte(src))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.params, err, tc.want)
		}
	}
}

// redactPicture is a w×h opaque picture in which neighbouring pixels differ.
func redactPicture(w, h int) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			i := m.PixOffset(x, y)
			m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = uint8(x*37+y*11), uint8(x*5+y*53), uint8((x^y)*29), 255
		}
	}
	return m
}

func redactPNG(t testing.TB, m image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func redactDecode(t testing.TB, data []byte) *imageio.Image {
	t.Helper()
	cfg, err := imageio.DecodeConfig(data)
	if err != nil {
		t.Fatal(err)
	}
	img, err := imageio.Decode(data, cfg, imageio.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func redactAt(m image.Image, x, y int) color.NRGBA {
	return color.NRGBAModel.Convert(m.At(x, y)).(color.NRGBA)
}

// Regions change the pixels inside their boxes and no other.
func TestRedactImageRegions(t *testing.T) {
	const w, h = 90, 60
	src := redactPicture(w, h)
	data := redactPNG(t, src)
	for _, tc := range []struct {
		name string
		a    *actions.Redact
		box  image.Rectangle
	}{
		{"solid px", &actions.Redact{Regions: []actions.RedactRegion{{X: 10, Y: 5, Width: 30, Height: 20}}}, image.Rect(10, 5, 40, 25)},
		{"solid clipped", &actions.Redact{Regions: []actions.RedactRegion{{X: 80, Y: 50, Width: 30, Height: 20}}}, image.Rect(80, 50, 90, 60)},
		// Fractions round outwards: 0.1×90 = 9, 0.35×90 = 31.5 → 32.
		{"solid fraction", &actions.Redact{Regions: []actions.RedactRegion{{X: 0.1, Y: 0.5, Width: 0.25, Height: 0.25, Unit: "fraction"}}}, image.Rect(9, 30, 32, 45)},
		{"pixelate", &actions.Redact{Fill: "pixelate", BlockSize: 5, Regions: []actions.RedactRegion{{X: 20, Y: 10, Width: 40, Height: 30}}}, image.Rect(20, 10, 60, 40)},
		{"pixelate default block", &actions.Redact{Fill: "pixelate", Regions: []actions.RedactRegion{{X: 20, Y: 10, Width: 40, Height: 30}}}, image.Rect(20, 10, 60, 40)},
		{"blur", &actions.Redact{Fill: "blur", Sigma: 6, Regions: []actions.RedactRegion{{X: 20, Y: 10, Width: 40, Height: 30}}}, image.Rect(20, 10, 60, 40)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := redactRun(t, redactObject("a.png", "image/png", bytes.NewReader(data), int64(len(data))), prepared(t, tc.a))
			if err != nil {
				t.Fatal(err)
			}
			got := redactDecode(t, out).Frames[0].Image
			changed := 0
			for y := range h {
				for x := range w {
					inside := image.Pt(x, y).In(tc.box)
					c, orig := redactAt(got, x, y), redactAt(src, x, y)
					switch {
					case !inside && c != orig:
						t.Fatalf("pixel %d,%d outside the box changed: %v → %v", x, y, orig, c)
					case inside && tc.a.Fill == "" && c != (color.NRGBA{0, 0, 0, 255}):
						t.Fatalf("pixel %d,%d inside the box is %v, want black", x, y, c)
					case inside && c != orig:
						changed++
					}
				}
			}
			if area := tc.box.Dx() * tc.box.Dy(); changed < area*9/10 {
				t.Fatalf("%d of %d pixels in the box changed", changed, area)
			}
			if tc.a.Fill == "pixelate" && tc.a.BlockSize == 5 {
				// Each 5×5 block aligned to the box is one colour.
				for y := tc.box.Min.Y; y < tc.box.Max.Y; y++ {
					for x := tc.box.Min.X; x < tc.box.Max.X; x++ {
						bx, by := tc.box.Min.X+(x-tc.box.Min.X)/5*5, tc.box.Min.Y+(y-tc.box.Min.Y)/5*5
						if redactAt(got, x, y) != redactAt(got, bx, by) {
							t.Fatalf("pixel %d,%d differs from its block's corner %d,%d", x, y, bx, by)
						}
					}
				}
			}
		})
	}
}

// A box wholly outside the picture would leave the picture unredacted:
// the request fails rather than serve it.
func TestRedactImageRegionOutside(t *testing.T) {
	data := redactPNG(t, redactPicture(20, 20))
	a := prepared(t, &actions.Redact{Regions: []actions.RedactRegion{{X: 5, Y: 5, Width: 5, Height: 5}, {X: 30, Y: 0, Width: 5, Height: 5}}})
	_, _, err := redactRun(t, redactObject("a.png", "image/png", bytes.NewReader(data), int64(len(data))), a)
	e := wantRedactError(t, err, http.StatusBadRequest, actions.CodeInvalidArgument)
	if !strings.Contains(e.Message, "regions[1]") {
		t.Fatalf("message %q", e.Message)
	}
}

// Every frame of an animation is redacted.
func TestRedactImageGIFFrames(t *testing.T) {
	pal := color.Palette{color.NRGBA{255, 0, 0, 255}, color.NRGBA{0, 255, 0, 255}, color.NRGBA{0, 0, 255, 255}, color.NRGBA{255, 255, 255, 255}}
	g := &gif.GIF{}
	for i := range 3 {
		pm := image.NewPaletted(image.Rect(0, 0, 40, 30), pal)
		for j := range pm.Pix {
			pm.Pix[j] = uint8((i + j) % len(pal))
		}
		g.Image = append(g.Image, pm)
		g.Delay = append(g.Delay, 5)
	}
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, g); err != nil {
		t.Fatal(err)
	}
	a := prepared(t, &actions.Redact{Color: actions.Color{NRGBA: color.NRGBA{0, 0, 0, 255}, Set: true},
		Regions: []actions.RedactRegion{{X: 0.5, Y: 0, Width: 0.5, Height: 0.5, Unit: "fraction"}}})
	out, _, err := redactRun(t, redactObject("anim.gif", "image/gif", bytes.NewReader(buf.Bytes()), int64(buf.Len())), a)
	if err != nil {
		t.Fatal(err)
	}
	img := redactDecode(t, out)
	if img.Format != "gif" || len(img.Frames) != 3 {
		t.Fatalf("%s with %d frames", img.Format, len(img.Frames))
	}
	for i, f := range img.Frames {
		for y := range 30 {
			for x := range 40 {
				c := redactAt(f.Image, x, y)
				inside := x >= 20 && y < 15
				if inside != (c == color.NRGBA{0, 0, 0, 255}) {
					t.Fatalf("frame %d pixel %d,%d is %v (inside the box: %v)", i, x, y, c, inside)
				}
				if !inside && c != pal[(i+y*40+x)%len(pal)] {
					t.Fatalf("frame %d pixel %d,%d outside the box changed to %v", i, x, y, c)
				}
			}
		}
	}
}

// redactEXIF is a big-endian EXIF block whose only directory, besides
// IFD0, is GPS: latitude N 31° 14' 2".
func redactEXIF() []byte {
	var b []byte
	u16 := func(v uint16) { b = append(b, byte(v>>8), byte(v)) }
	u32 := func(v uint32) { b = append(b, byte(v>>24), byte(v>>16), byte(v>>8), byte(v)) }
	b = append(b, "MM\x00\x2a"...)
	u32(8)
	u16(1) // IFD0: the GPS pointer
	u16(0x8825)
	u16(4)
	u32(1)
	u32(26)
	u32(0)
	u16(2) // GPS IFD at 26
	u16(0x0001)
	u16(2)
	u32(2)
	b = append(b, 'N', 0, 0, 0)
	u16(0x0002)
	u16(5)
	u32(3)
	u32(26 + 2 + 2*12 + 4)
	u32(0)
	for _, v := range []uint32{31, 1, 14, 1, 2, 1} {
		u32(v)
	}
	return b
}

// The output carries no EXIF or GPS, even when a convert before or after
// the redact asked to keep them.
func TestRedactImageStripsMetadata(t *testing.T) {
	src, err := imageio.Encode(&imageio.Image{Frames: []imageio.Frame{{Image: redactPicture(64, 48)}}, Format: "jpeg", Orientation: 1},
		imageio.EncodeOptions{Format: "jpeg", Speed: -1, Metadata: imageio.Metadata{EXIF: redactEXIF()}})
	if err != nil {
		t.Fatal(err)
	}
	if !imageio.HasGPS(imageio.ReadMetadata("jpeg", src).EXIF) {
		t.Fatal("test source carries no GPS")
	}
	redact := prepared(t, &actions.Redact{Regions: []actions.RedactRegion{{X: 0, Y: 0, Width: 8, Height: 8}}})
	for _, tc := range []struct {
		name string
		acts []actions.Action
	}{
		{"redact alone", []actions.Action{redact}},
		{"after convert keeping exif and gps", []actions.Action{
			prepared(t, &actions.Convert{Format: "jpeg", KeepMetadata: []string{"exif", "gps", "icc"}}), redact}},
		{"before convert keeping exif and gps", []actions.Action{
			redact, prepared(t, &actions.Convert{Format: "jpeg", KeepMetadata: []string{"exif", "gps", "icc"}})}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			obj := redactObject("photo.jpg", "image/jpeg", bytes.NewReader(src), int64(len(src)))
			defer obj.Close()
			for _, a := range tc.acts {
				if err := a.Apply(context.Background(), obj); err != nil {
					t.Fatal(err)
				}
			}
			r, _, err := obj.Result(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			out, _ := io.ReadAll(r)
			m := imageio.ReadMetadata("jpeg", out)
			if len(m.EXIF) > 0 || len(m.XMP) > 0 {
				t.Fatalf("output carries EXIF (%d bytes, GPS %v) or XMP", len(m.EXIF), imageio.HasGPS(m.EXIF))
			}
		})
	}
}

const redactRules = `version: 1
rules:
  - name: logs
    when: glob("logs/**")
    actions:
      - redact:
          detectors: [email, phone, bank_card]
          patterns: [{name: order_no, regex: "ORD-[0-9]{8}", max_length: 12}]
          keep_last: 4
  - name: exports
    when: dir == "exports"
    actions:
      - redact: {style: entity, json_keys: [password], on_unsupported: "${ query.unsupported }"}
  - name: scans
    when: dir == "scans"
    actions:
      - redact:
          regions: [{x: 0, y: 0, width: 0.5, height: 0.5, unit: fraction}]
          fill: "${ query.fill }"
`

// The action as operators write it: loaded from rules.yaml, evaluated
// for a request and run by the engine.
func TestRedactFromRules(t *testing.T) {
	rs, err := rules.Load("rules.yaml", []byte(redactRules))
	if err != nil {
		t.Fatal(err)
	}
	run := func(key, rawQuery, contentType string, body []byte) ([]byte, error) {
		t.Helper()
		plan, err := rs.Evaluate(&rules.Request{Key: key, RawQuery: rawQuery, Method: "GET", Header: http.Header{}})
		if err != nil {
			// Templated parameters are checked as the plan is made.
			return nil, err
		}
		obj := actions.NewObject(&actions.Request{Key: key, Header: http.Header{}}, bytes.NewReader(body), int64(len(body)),
			http.Header{"Content-Type": {contentType}}, plan.Limits)
		defer obj.Close()
		if err := engine.Run(context.Background(), plan, obj); err != nil {
			return nil, err
		}
		r, n, err := obj.Result(context.Background())
		if err != nil {
			return nil, err
		}
		out, err := io.ReadAll(r)
		if int64(len(out)) != n {
			t.Fatalf("%s: %d bytes announced, %d read", key, n, len(out))
		}
		return out, err
	}

	out, err := run("logs/2025/app.log", "", "text/plain", []byte("paid ORD-12345678 by 4111 1111 1111 1111, mail x@example.com, host 10.0.0.1\n"))
	if want := "paid ********5678 by ***************1111, mail *********.com, host 10.0.0.1\n"; err != nil || string(out) != want {
		t.Fatalf("logs: %q, %v\nwant %q", out, err, want)
	}

	out, err = run("exports/users.json", "", "application/json", []byte(`{"u": "x@example.com", "password": "p"}`))
	if want := `{"u": "[EMAIL]", "password": "[REDACTED]"}`; err != nil || string(out) != want {
		t.Fatalf("exports: %q, %v", out, err)
	}
	_, err = run("exports/blob.bin", "", "application/octet-stream", []byte{0, 1, 2})
	e := wantRedactError(t, err, http.StatusBadRequest, actions.CodeUnsupportedContent)
	if !strings.Contains(e.Message, `rule "exports": redact:`) {
		t.Fatalf("message %q should name the rule and the action", e.Message)
	}
	if out, err = run("exports/blob.bin", "unsupported=passthrough", "application/octet-stream", []byte{0, 1, 2}); err != nil || !bytes.Equal(out, []byte{0, 1, 2}) {
		t.Fatalf("passthrough: %q, %v", out, err)
	}

	src := redactPicture(40, 40)
	for _, fill := range []string{"", "pixelate", "blur"} {
		out, err = run("scans/id.png", "fill="+fill, "image/png", redactPNG(t, src))
		if err != nil {
			t.Fatalf("fill %q: %v", fill, err)
		}
		got := redactDecode(t, out).Frames[0].Image
		if redactAt(got, 5, 5) == redactAt(src, 5, 5) && redactAt(got, 6, 6) == redactAt(src, 6, 6) || redactAt(got, 30, 30) != redactAt(src, 30, 30) {
			t.Fatalf("fill %q: the box is unchanged or the rest changed", fill)
		}
	}
	_, err = run("scans/id.png", "fill=smear", "image/png", redactPNG(t, src))
	wantRedactError(t, err, http.StatusBadRequest, actions.CodeInvalidArgument)
}

// BenchmarkRedactAction runs the default redaction (every built-in
// detector, mask) over a log with 1% of lines holding personal data,
// through the action and the Object as the handler reads it, and the
// entity style, which spools. pii-reader is the same corpus through
// pii.Reader alone: the action's own cost is the difference.
func BenchmarkRedactAction(b *testing.B) {
	in, _ := redactLog(16<<20, 3)
	b.Run("pii-reader", func(b *testing.B) {
		red, err := pii.New(pii.Config{})
		if err != nil {
			b.Fatal(err)
		}
		redactBench(b, len(in), func() {
			if _, err := io.Copy(io.Discard, red.Reader(bytes.NewReader(in))); err != nil {
				b.Fatal(err)
			}
		})
	})
	for _, tc := range []struct {
		name string
		a    *actions.Redact
	}{
		{"mask", &actions.Redact{}},
		{"entity", &actions.Redact{Style: "entity"}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			a := prepared(b, tc.a)
			redactBench(b, len(in), func() {
				obj := redactObject("logs/app.log", "text/plain", bytes.NewReader(in), int64(len(in)))
				defer obj.Close()
				if err := a.Apply(context.Background(), obj); err != nil {
					b.Fatal(err)
				}
				r, _, err := obj.Result(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, r); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// redactBench runs f, which redacts size bytes, and reports MB/s and
// allocations per MB.
func redactBench(b *testing.B, size int, f func()) {
	b.SetBytes(int64(size))
	b.ReportAllocs()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	for b.Loop() {
		f()
	}
	runtime.ReadMemStats(&ms1)
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/(float64(size)*float64(b.N)/1e6), "allocs/MB")
}
