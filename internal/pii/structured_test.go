package pii

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/opaprules/opaprules/internal/spool"
)

func structuredRedactor(t testing.TB, style Style) *Redactor {
	return mustNew(t, Config{
		Style:      style,
		HashKey:    []byte("k"),
		JSONPaths:  []string{"$.user.email", "$.orders[*].card", "$..secret", "$.user.phones[0]"},
		JSONKeys:   []string{"PASSWORD"},
		CSVColumns: []string{"email", "PHONE"},
	})
}

func redactString(t testing.TB, r *Redactor, in string, kind Kind) string {
	t.Helper()
	var out bytes.Buffer
	n, err := r.Redact(&out, strings.NewReader(in), kind)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(out.Len()) {
		t.Fatalf("Redact said %d bytes, wrote %d", n, out.Len())
	}
	return out.String()
}

// shape replaces every scalar with its JSON type, numbers and strings
// both as "scalar" (a redacted number becomes a string).
func shape(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := map[string]any{}
		for k, e := range x {
			m[k] = shape(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = shape(e)
		}
		return s
	case string, float64, json.Number:
		return "scalar"
	}
	return v
}

func TestJSON(t *testing.T) {
	in, err := os.ReadFile("testdata/sample.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, style := range []Style{StyleMask, StyleEntity, StyleHash} {
		t.Run(string(style), func(t *testing.T) {
			r := structuredRedactor(t, style)
			got := redactString(t, r, string(in), KindJSON)
			var a, b any
			if err := json.Unmarshal(in, &a); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(got), &b); err != nil {
				t.Fatalf("output is not JSON: %v\n%s", err, got)
			}
			if !reflect.DeepEqual(shape(a), shape(b)) {
				t.Fatalf("shape changed:\n%s", got)
			}
			checkGolden(t, "sample."+string(style)+".json", []byte(got))
			// Untouched values keep their exact value.
			bm := b.(map[string]any)
			if bm["user"].(map[string]any)["name"] != "Zhang San" || bm["orders"].([]any)[0].(map[string]any)["amount"] != 12.5 {
				t.Fatalf("untouched values changed:\n%s", got)
			}
			if bm["orders"].([]any)[0].(map[string]any)["paid"] != true || bm["deep"].(map[string]any)["x"].([]any)[0].(map[string]any)["email"] != "not-an-email" {
				t.Fatalf("untouched values changed:\n%s", got)
			}
		})
	}
}

func TestJSONEdgeCases(t *testing.T) {
	r := mustNew(t, Config{Style: StyleEntity, JSONKeys: []string{"k"}, JSONPaths: []string{"$[1]", "$..*.deep"}})
	for _, tc := range []struct{ in, want string }{
		{`"a@example.com"`, `"[EMAIL]"`},
		{`[1, {"k": 2}, 3]`, `[1, {"k": "[REDACTED]"}, 3]`},
		{`[0, [4, "x"], 5]`, `[0, ["[REDACTED]", "[REDACTED]"], 5]`},
		{`{"a":{"b":{"deep":"v"}},"deep":"top"}`, `{"a":{"b":{"deep":"[REDACTED]"}},"deep":"top"}`},
		{`{"k": null, "K": true} {"k":"x"}`, `{"k": null, "K": true} {"k":"[REDACTED]"}`},
		{`{"<&>":"\u003c"}`, `{"<&>":"\u003c"}`},
		{"\t12\n", "\t12\n"},
		{"\ufeff{\"k\":1}", "\ufeff{\"k\":\"[REDACTED]\"}"},
		{`{"k\u0041":"v", "\u006b":"w"}`, `{"k\u0041":"v", "\u006b":"[REDACTED]"}`},
		{`"\u0061@example.com \ud83d\ude00 \ud800"`, "\"[EMAIL] 😀 \uFFFD\""},
		{`"\/no pii\n"`, `"\/no pii\n"`},
		{`[-0.5e+10, 0, 1E2]`, `[-0.5e+10, "[REDACTED]", 1E2]`},
	} {
		if got := redactString(t, r, tc.in, KindJSON); got != tc.want {
			t.Errorf("%s\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{``, `  `, `{`, `{"a":}`, `]`, `{"a":1}}`, `[1,]`, `[01]`, `[1.]`, `[-]`, `[1e]`, `tru`, `nul`, `"\x"`, "\"a\tb\"", `{"a" 1}`, `{1:2}`, `[1 2]`, `"\u12"`, strings.Repeat("[", maxJSONDepth+1)} {
		if _, err := r.Redact(io.Discard, strings.NewReader(bad), KindJSON); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestJSONBigStreams(t *testing.T) {
	// A large array goes through in one pass; a quadratic writer would
	// crawl here.
	var in bytes.Buffer
	in.WriteString("[")
	const n = 50000
	for i := 0; i < n; i++ {
		if i > 0 {
			in.WriteString(",")
		}
		in.WriteString(`{"email":"u@example.com","n":1}`)
	}
	in.WriteString("]")
	r := mustNew(t, Config{JSONKeys: []string{"n"}})
	got := redactString(t, r, in.String(), KindJSON)
	if !json.Valid([]byte(got)) || strings.Count(got, `"*"`) != n {
		t.Fatal("bad output")
	}
}

func TestNDJSON(t *testing.T) {
	in, err := os.ReadFile("testdata/sample.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	r := structuredRedactor(t, StyleEntity)
	got := redactString(t, r, string(in), KindNDJSON)
	checkGolden(t, "sample.entity.ndjson", []byte(got))
	inLines := strings.SplitAfter(string(in), "\n")
	outLines := strings.SplitAfter(got, "\n")
	if len(inLines) != len(outLines) {
		t.Fatalf("%d lines in, %d out", len(inLines), len(outLines))
	}
	for i := range inLines {
		a, b := strings.TrimSpace(inLines[i]), strings.TrimSpace(outLines[i])
		if a == "" {
			if inLines[i] != outLines[i] {
				t.Errorf("blank line %d changed", i+1)
			}
			continue
		}
		if !json.Valid([]byte(b)) {
			t.Errorf("line %d not JSON: %s", i+1, b)
		}
		if strings.HasSuffix(inLines[i], "\r\n") != strings.HasSuffix(outLines[i], "\r\n") {
			t.Errorf("line %d terminator changed", i+1)
		}
	}
	// Same answer through a byte-at-a-time source.
	var out bytes.Buffer
	if _, err := r.Redact(&out, iotest.OneByteReader(bytes.NewReader(in)), KindNDJSON); err != nil || out.String() != got {
		t.Fatalf("one-byte reads differ: %v", err)
	}
}

func TestNDJSONErrors(t *testing.T) {
	r := mustNew(t, Config{MaxLine: 64})
	_, err := r.Redact(io.Discard, strings.NewReader("{}\n{\"a\":\""+strings.Repeat("x", 100)+"\"}\n"), KindNDJSON)
	var lt *LineTooLongError
	if !errors.As(err, &lt) || lt.Line != 2 || lt.Limit != 64 {
		t.Fatalf("got %v", err)
	}
	_, err = r.Redact(io.Discard, strings.NewReader("{}\nnot json\n"), KindNDJSON)
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("got %v", err)
	}
	_, err = r.Redact(io.Discard, strings.NewReader("{} {}\n"), KindNDJSON)
	if err == nil {
		t.Fatal("two values on a line accepted")
	}
	// A byte order mark on the first line is kept.
	rk := mustNew(t, Config{Style: StyleEntity, JSONKeys: []string{"password"}})
	if got := redactString(t, rk, "\ufeff{\"password\":1}\n\n", KindNDJSON); got != "\ufeff{\"password\":\"[REDACTED]\"}\n\n" {
		t.Fatalf("BOM line: %q", got)
	}
	// A line of exactly the limit is fine.
	line := `{"a":"` + strings.Repeat("x", 64-8) + `"}`
	if _, err := r.Redact(io.Discard, strings.NewReader(line+"\n"), KindNDJSON); err != nil {
		t.Fatalf("line at the limit: %v", err)
	}
}

func readCSV(t testing.TB, s string) [][]string {
	t.Helper()
	cr := csv.NewReader(strings.NewReader(s))
	cr.FieldsPerRecord = -1
	recs, err := cr.ReadAll()
	if err != nil {
		t.Fatalf("not CSV: %v\n%s", err, s)
	}
	return recs
}

func TestCSV(t *testing.T) {
	in, err := os.ReadFile("testdata/sample.csv")
	if err != nil {
		t.Fatal(err)
	}
	for _, style := range []Style{StyleMask, StyleEntity} {
		t.Run(string(style), func(t *testing.T) {
			r := structuredRedactor(t, style)
			got := redactString(t, r, string(in), KindCSV)
			checkGolden(t, "sample."+string(style)+".csv", []byte(got))
			a, b := readCSV(t, string(in)), readCSV(t, got)
			if len(a) != len(b) {
				t.Fatalf("%d records in, %d out", len(a), len(b))
			}
			for i := range a {
				if len(a[i]) != len(b[i]) {
					t.Fatalf("record %d: %d fields in, %d out", i, len(a[i]), len(b[i]))
				}
				for j := range a[i] {
					redacted := i > 0 && (j == 1 || j == 2) && a[i][j] != ""
					plain := string(r.RedactBytes(nil, []byte(a[i][j])))
					switch {
					case i == 0 && a[i][j] != b[i][j]:
						t.Errorf("header changed: %q -> %q", a[i][j], b[i][j])
					case redacted && a[i][j] == b[i][j]:
						t.Errorf("record %d field %d not redacted", i, j)
					case !redacted && i > 0 && b[i][j] != plain:
						t.Errorf("record %d field %d: %q, want %q", i, j, b[i][j], plain)
					}
				}
			}
			if !strings.Contains(got, "plain note") || !strings.Contains(got, `""quoted""`) {
				t.Fatalf("untouched cells changed:\n%s", got)
			}
		})
	}
	// CRLF input keeps CRLF records.
	r := mustNew(t, Config{CSVColumns: []string{"b"}, Detectors: []string{"none"}})
	if got := redactString(t, r, "a,b\r\nx,yy\r\n", KindCSV); got != "a,b\r\nx,**\r\n" {
		t.Fatalf("got %q", got)
	}
	if _, err := r.Redact(io.Discard, strings.NewReader("a,\"b\nc"), KindCSV); err == nil {
		t.Fatal("broken CSV accepted")
	}
}

func TestRedactSpooled(t *testing.T) {
	r := mustNew(t, Config{Style: StyleEntity})
	body, err := r.RedactSpooled(context.Background(), strings.NewReader(`{"a":"x@example.com"}`), KindJSON, spool.Options{Memory: 8, File: 1 << 10, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	got, _ := io.ReadAll(body)
	if string(got) != `{"a":"[EMAIL]"}` || body.Size != int64(len(got)) {
		t.Fatalf("got %q (%d)", got, body.Size)
	}
	if _, err := r.RedactSpooled(context.Background(), strings.NewReader(strings.Repeat("a@example.com ", 100)), KindText, spool.Options{Memory: 8, File: 100, Dir: t.TempDir()}); !errors.Is(err, spool.ErrTooLarge) {
		t.Fatalf("got %v", err)
	}
}

// Numbers that are personal data are found even when JSON stores them as
// numbers; other numbers stay numbers, byte for byte.
func TestJSONNumbersScanned(t *testing.T) {
	r, err := New(Config{Style: StyleEntity})
	if err != nil {
		t.Fatal(err)
	}
	in := `{"phone": 13812345678, "card": 4111111111111111, "qty": 12345678, "price": 19.99, "ts": 1732350000000, "neg": -13812345678}` + "\n"
	var out strings.Builder
	if _, err := r.Redact(&out, strings.NewReader(in), KindJSON); err != nil {
		t.Fatal(err)
	}
	want := `{"phone": "[PHONE]", "card": "[BANK_CARD]", "qty": 12345678, "price": 19.99, "ts": 1732350000000, "neg": -13812345678}` + "\n"
	if out.String() != want {
		t.Errorf("got  %s\nwant %s", out.String(), want)
	}
}
