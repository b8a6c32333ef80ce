package pii

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

var update = flag.Bool("update", false, "rewrite golden files")

func mustNew(t testing.TB, cfg Config) *Redactor {
	t.Helper()
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// small shrinks r's window so that tests put its edges everywhere.
func small(r *Redactor) *Redactor {
	r.jwtMax = 300
	r.segMax = 40
	r.chunk = 16
	r.minFill = 1
	r.setGeometry()
	return r
}

type tsvCase struct {
	line     int
	in, want string
	section  string
	negative bool
}

func loadCases(t testing.TB) []tsvCase {
	t.Helper()
	data, err := os.ReadFile("testdata/cases.tsv")
	if err != nil {
		t.Fatal(err)
	}
	var out []tsvCase
	section := ""
	for i, ln := range strings.Split(string(data), "\n") {
		switch {
		case ln == "":
			continue
		case strings.HasPrefix(ln, "## "):
			section = ln[3:]
			continue
		case strings.HasPrefix(ln, "#"):
			continue
		}
		in, want, ok := strings.Cut(ln, "\t")
		if !ok {
			want = in
		}
		out = append(out, tsvCase{line: i + 1, in: in, want: want, section: section, negative: !ok})
	}
	return out
}

func TestCases(t *testing.T) {
	ent := mustNew(t, Config{Style: StyleEntity})
	mask := mustNew(t, Config{})
	for _, c := range loadCases(t) {
		t.Run(fmt.Sprintf("%d:%s", c.line, c.section), func(t *testing.T) {
			if got := string(ent.RedactBytes(nil, []byte(c.in))); got != c.want {
				t.Errorf("cases.tsv:%d\n in: %s\ngot: %s\nwant: %s", c.line, c.in, got, c.want)
			}
			got := string(mask.RedactBytes(nil, []byte(c.in)))
			if len(got) != len(c.in) {
				t.Errorf("mask changed length: %q -> %q", c.in, got)
			}
			if c.negative && got != c.in {
				t.Errorf("negative was masked: %q -> %q", c.in, got)
			}
		})
	}
}

// TestEachDetectorAlone checks that every positive is found by the
// detector its section names, with only that detector on.
func TestEachDetectorAlone(t *testing.T) {
	rs := map[string]*Redactor{}
	for _, d := range DetectorNames() {
		rs[d] = mustNew(t, Config{Detectors: []string{d}, Style: StyleEntity})
	}
	for _, c := range loadCases(t) {
		r := rs[c.section]
		if r == nil || c.negative {
			continue
		}
		tag := "[" + builtinEntity[detectorID(c.section)] + "]"
		if !strings.Contains(c.want, tag) {
			continue
		}
		got := string(r.RedactBytes(nil, []byte(c.in)))
		if !strings.Contains(got, tag) {
			t.Errorf("cases.tsv:%d: %s alone: %q -> %q", c.line, c.section, c.in, got)
		}
	}
}

// splitReader returns data in two reads, cut at k.
type splitReader struct {
	data []byte
	k    int
	n    int
}

func (s *splitReader) Read(p []byte) (int, error) {
	if s.n == len(s.data) {
		return 0, io.EOF
	}
	end := len(s.data)
	if s.n < s.k {
		end = s.k
	}
	m := copy(p, s.data[s.n:end])
	s.n += m
	return m, nil
}

func streamAll(t testing.TB, r *Redactor, src io.Reader) string {
	t.Helper()
	out, err := io.ReadAll(r.Reader(src))
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func corpusText(t testing.TB) []byte {
	data, err := os.ReadFile("testdata/corpus.txt")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	b.Write(data)
	for _, c := range loadCases(t) {
		b.WriteString(c.in)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// TestStreamingMatchesWhole redacts the corpus through a tiny window, with
// reads cut at every offset and one byte at a time, and wants exactly the
// whole-buffer answer each time.
func TestStreamingMatchesWhole(t *testing.T) {
	data := corpusText(t)
	for ci, cfg := range []Config{
		{},
		{Style: StyleEntity},
		{Style: StyleMask, KeepLast: 4},
		{Patterns: []Pattern{{Name: "order", Regex: `ORD-[0-9]+`, MaxLength: 20}, {Name: "word", Regex: `(?i)\bdeclined\b|^id,.*$`, MaxLength: 30}}},
	} {
		t.Run(fmt.Sprintf("%s-%d-%d", cfg.Style, cfg.KeepLast, len(cfg.Patterns)), func(t *testing.T) {
			r := small(mustNew(t, cfg))
			want := string(r.RedactBytes(nil, data))
			if cfg.Style == "" && len(want) != len(data) {
				t.Fatalf("length %d, want %d", len(want), len(data))
			}
			if got := streamAll(t, r, iotest.OneByteReader(bytes.NewReader(data))); got != want {
				t.Fatalf("one byte at a time differs:\n%s", firstDiff(got, want))
			}
			if got := streamAll(t, r, iotest.HalfReader(bytes.NewReader(data))); got != want {
				t.Fatalf("half reads differ:\n%s", firstDiff(got, want))
			}
			// Every offset for the first configuration; the others share the
			// code path and only need to show they get the same answer.
			step := 1
			if ci > 0 {
				step = 5
			}
			if testing.Short() || raceOn {
				step *= 7
			}
			for k := 0; k <= len(data); k += step {
				if got := streamAll(t, r, &splitReader{data: data, k: k}); got != want {
					t.Fatalf("split at %d differs:\n%s", k, firstDiff(got, want))
				}
			}
			// The full-size window too.
			big := mustNew(t, cfg)
			if got := streamAll(t, big, iotest.OneByteReader(bytes.NewReader(data))); got != string(big.RedactBytes(nil, data)) {
				t.Fatal("default window differs")
			}
		})
	}
}

// TestValueAtEveryOffset puts each positive at every offset of a run of
// filler, so that the window's edges fall inside it at every position.
func TestValueAtEveryOffset(t *testing.T) {
	r := small(mustNew(t, Config{Style: StyleEntity}))
	filler := strings.Repeat("lorem ipsum 12:30:45 v1.2.3 ", 40)
	for _, c := range loadCases(t) {
		if c.negative || !strings.HasPrefix(c.want, "[") {
			continue
		}
		for off := 0; off < 700; off += 13 {
			in := filler[:off] + " " + c.in + " " + filler[:200]
			want := filler[:off] + " " + c.want + " " + filler[:200]
			if got := streamAll(t, r, iotest.OneByteReader(strings.NewReader(in))); got != want {
				t.Fatalf("cases.tsv:%d at offset %d:\n%s", c.line, off, firstDiff(got, want))
			}
		}
	}
}

func firstDiff(got, want string) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	lo := max(0, i-60)
	return fmt.Sprintf("at byte %d\n got: %q\nwant: %q", i, got[lo:min(len(got), i+60)], want[lo:min(len(want), i+60)])
}

func TestGolden(t *testing.T) {
	data, err := os.ReadFile("testdata/corpus.txt")
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]Config{
		"mask":        {},
		"mask-keep4":  {KeepLast: 4, Mask: 'X'},
		"replace":     {Style: StyleReplace, Replace: "<redacted>"},
		"entity":      {Style: StyleEntity},
		"hash":        {Style: StyleHash, HashKey: []byte("golden-test-key")},
		"hash-b64-10": {Style: StyleHash, HashKey: []byte("golden-test-key"), HashEncoding: "base64url", HashLen: 10},
		"patterns": {Detectors: []string{"none"}, Style: StyleEntity, Patterns: []Pattern{
			{Name: "order_no", Regex: `\bORD-\d{10}\b`},
			{Name: "worker", Regex: `^\S+ (?:ERROR|WARN)`},
		}},
	}
	for _, d := range DetectorNames() {
		cases["only-"+d] = Config{Detectors: []string{d}}
	}
	for name, cfg := range cases {
		t.Run(name, func(t *testing.T) {
			r := mustNew(t, cfg)
			var out bytes.Buffer
			if _, err := r.Redact(&out, bytes.NewReader(data), KindText); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, "corpus."+name+".txt", out.Bytes())
			if r.PreservesLength() && out.Len() != len(data) {
				t.Errorf("length %d, want %d", out.Len(), len(data))
			}
		})
	}
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden:\n%s", name, firstDiff(string(got), string(want)))
	}
}

func TestHashStable(t *testing.T) {
	r := mustNew(t, Config{Style: StyleHash, HashKey: []byte("k1")})
	a := string(r.RedactBytes(nil, []byte("a john@example.com b john@example.com c jane@example.com")))
	f := strings.Fields(a)
	if f[1] != f[3] || f[1] == f[5] || !strings.HasPrefix(f[1], "[EMAIL:") || len(f[1]) != len("[EMAIL:]")+16 {
		t.Fatalf("tokens not stable or distinct: %q", a)
	}
	r2 := mustNew(t, Config{Style: StyleHash, HashKey: []byte("k2")})
	if b := string(r2.RedactBytes(nil, []byte("john@example.com"))); b == f[1] {
		t.Fatal("token does not depend on the key")
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg   Config
		field string
	}{
		{Config{Detectors: []string{"email", "passport"}}, "detectors[1]"},
		{Config{Detectors: []string{"none", "email"}}, "detectors[0]"},
		{Config{Patterns: []Pattern{{Name: "ok", Regex: `a`}, {Name: "bad", Regex: `(`}}}, `patterns["bad"]`},
		{Config{Patterns: []Pattern{{Name: "empty", Regex: `a*`}}}, `patterns["empty"]`},
		{Config{Patterns: []Pattern{{Name: "email", Regex: `x`}}}, `patterns["email"]`},
		{Config{Patterns: []Pattern{{Name: "a b", Regex: `x`}}}, `patterns["a b"]`},
		{Config{Patterns: []Pattern{{Regex: `x`}}}, `patterns[0]`},
		{Config{Patterns: []Pattern{{Name: "big", Regex: `x`, MaxLength: 1 << 20}}}, `patterns["big"]`},
		{Config{Style: "blur"}, "style"},
		{Config{Mask: '\n'}, "mask"},
		{Config{KeepLast: -1}, "keep_last"},
		{Config{Style: StyleHash}, "hash_key"},
		{Config{Style: StyleHash, HashKey: []byte("k"), HashLen: 65}, "hash_len"},
		{Config{Style: StyleHash, HashKey: []byte("k"), HashEncoding: "b32"}, "hash_encoding"},
		{Config{JSONPaths: []string{"user.email"}}, `json_paths[0] "user.email"`},
		{Config{JSONPaths: []string{"$.a", "$.b["}}, `json_paths[1] "$.b["`},
	} {
		_, err := New(tc.cfg)
		ce, ok := err.(*ConfigError)
		if !ok || ce.Field != tc.field {
			t.Errorf("%+v: got %v, want a ConfigError on %s", tc.cfg, err, tc.field)
		}
	}
}

func TestPatternsStayOnOneLine(t *testing.T) {
	r := mustNew(t, Config{Detectors: []string{"none"}, Style: StyleEntity, Patterns: []Pattern{
		{Name: "kv", Regex: `secret=[\s\S]+?;`},
		{Name: "dot", Regex: `(?s)tok:.{3}`},
		{Name: "line", Regex: `\Aall$`},
	}})
	in := "secret=abc;\nsecret=ab\ncd;\ntok:a\nbc tok:xyz\nall\nall but\n"
	want := "[KV]\nsecret=ab\ncd;\ntok:a\nbc [DOT]\n[LINE]\nall but\n"
	if got := string(r.RedactBytes(nil, []byte(in))); got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

func TestPatternOverlapResolution(t *testing.T) {
	// The built-in e-mail starts first and wins; a pattern starting at the
	// same byte as a built-in loses; a pattern starting earlier wins.
	r := mustNew(t, Config{Style: StyleEntity, Patterns: []Pattern{
		{Name: "user", Regex: `user:\w+`},
		{Name: "mail", Regex: `\w+@example\.com`},
	}})
	in := "user:bob@example.com x bob@example.com"
	want := "[USER]@example.com x [EMAIL]"
	if got := string(r.RedactBytes(nil, []byte(in))); got != want {
		t.Fatalf("got %q want %q", got, want)
	}
}

func TestLongLinePatterns(t *testing.T) {
	// A line far longer than the pattern window still has every match, once.
	r := small(mustNew(t, Config{Detectors: []string{"none"}, Style: StyleEntity, Patterns: []Pattern{{Name: "id", Regex: `ID-[0-9]{5}`, MaxLength: 8}}}))
	var in, want strings.Builder
	for i := 0; i < 300; i++ {
		fmt.Fprintf(&in, "xx ID-%05d ", i)
		want.WriteString("xx [ID] ")
	}
	got := streamAll(t, r, iotest.OneByteReader(strings.NewReader(in.String())))
	if got != want.String() {
		t.Fatalf("%s", firstDiff(got, want.String()))
	}
}

func TestReaderErrors(t *testing.T) {
	r := mustNew(t, Config{})
	_, err := io.ReadAll(r.Reader(iotest.DataErrReader(iotest.TimeoutReader(strings.NewReader(strings.Repeat("a", 100000))))))
	if err != iotest.ErrTimeout {
		t.Fatalf("got %v, want the source's error", err)
	}
	if err := iotest.TestReader(r.Reader(strings.NewReader("mail a@example.com now")), []byte("mail ************* now")); err != nil {
		t.Fatal(err)
	}
}

func TestKindOf(t *testing.T) {
	for _, tc := range []struct {
		ct, ext string
		kind    Kind
		ok      bool
	}{
		{"text/plain; charset=utf-8", "", KindText, true},
		{"text/plain", "a.csv", KindCSV, true},
		{"text/csv", "x.log", KindCSV, true},
		{"application/json", "", KindJSON, true},
		{"application/vnd.api+json", "", KindJSON, true},
		{"application/x-ndjson", "", KindNDJSON, true},
		{"", ".jsonl", KindNDJSON, true},
		{"", "ndjson", KindNDJSON, true},
		{"application/octet-stream", "app.LOG", KindText, true},
		{"", "logs/2024/a.txt", KindText, true},
		{"", "a.json", KindJSON, true},
		{"text/html", "", KindText, true},
		{"application/octet-stream", "a.bin", KindText, false},
		{"image/png", "a.png", KindText, false},
		{"application/gzip", "a.log.gz", KindText, false},
		{"", "", KindText, false},
		{"application/xml", "", KindText, true},
		{"application/atom+xml", "", KindText, true},
		{"", "conf.yaml", KindText, true},
	} {
		k, ok := KindOf(tc.ct, tc.ext)
		if k != tc.kind || ok != tc.ok {
			t.Errorf("KindOf(%q, %q) = %v, %v; want %v, %v", tc.ct, tc.ext, k, ok, tc.kind, tc.ok)
		}
	}
}

func TestMaskKeepLastRunes(t *testing.T) {
	r := mustNew(t, Config{Detectors: []string{"none"}, KeepLast: 2, Patterns: []Pattern{{Name: "name", Regex: `名字:\S+`}}})
	got := string(r.RedactBytes(nil, []byte("名字:张三丰")))
	if want := strings.Repeat("*", len("名字:张")) + "三丰"; got != want {
		t.Fatalf("got %q want %q", got, want)
	}
	if len(got) != len("名字:张三丰") {
		t.Fatal("length changed")
	}
}

// Ensure the package's exported Reader satisfies the io.WriterTo fast path
// Redact relies on.
var _ io.WriterTo = (*reader)(nil)
var _ = bufio.NewReader

// TestConcurrentUse shares one Redactor between goroutines; run with -race.
func TestConcurrentUse(t *testing.T) {
	r := mustNew(t, Config{Style: StyleHash, HashKey: []byte("k"), JSONKeys: []string{"a"},
		Patterns: []Pattern{{Name: "p", Regex: `ORD-\d+`}}})
	data := corpusText(t)
	want := string(r.RedactBytes(nil, data))
	done := make(chan string, 8)
	for range 8 {
		go func() {
			var b bytes.Buffer
			r.Redact(&b, bytes.NewReader(data), KindText)
			r.Redact(io.Discard, strings.NewReader(`{"a":"x@example.com"}`), KindJSON)
			done <- b.String()
		}()
	}
	for range 8 {
		if got := <-done; got != want {
			t.Fatal("concurrent output differs")
		}
	}
}

// TestBoundedWindow streams inputs that stress the window (one endless
// word, one endless line, dense values) and checks the buffers stay at
// their starting size and the values at the far end are still found.
func TestBoundedWindow(t *testing.T) {
	r := mustNew(t, Config{Style: StyleEntity, Patterns: []Pattern{{Name: "p", Regex: `PAT-\d+`, MaxLength: 16}}})
	for name, in := range map[string]string{
		"one word":  strings.Repeat("a", 3<<20) + " bob@example.com PAT-1",
		"one line":  strings.Repeat("a ", 3<<19) + "bob@example.com PAT-1",
		"dense":     strings.Repeat("bob@example.com 13812345678 PAT-1\n", 100000),
		"at signs":  strings.Repeat("a@", 1<<20) + " bob@example.com PAT-1",
		"jwt-ish":   strings.Repeat("eyJhbGciOiJIUzI1NiJ9.", 1<<16) + " bob@example.com PAT-1",
		"long nums": strings.Repeat("4111111111111111111111", 1<<16) + " bob@example.com PAT-1",
	} {
		t.Run(name, func(t *testing.T) {
			rd := r.Reader(strings.NewReader(in)).(*reader)
			capBuf := cap(rd.e.buf)
			var out bytes.Buffer
			if _, err := rd.WriteTo(&out); err != nil {
				t.Fatal(err)
			}
			if cap(rd.e.buf) != capBuf || cap(rd.e.out) > 1<<20 {
				t.Fatalf("buffers grew: buf %d -> %d, out %d", capBuf, cap(rd.e.buf), cap(rd.e.out))
			}
			if !strings.HasSuffix(out.String(), "[EMAIL] [P]") && !strings.HasSuffix(out.String(), "[EMAIL] [PHONE] [P]\n") {
				t.Fatalf("tail: %q", out.String()[max(0, out.Len()-60):])
			}
		})
	}
}
