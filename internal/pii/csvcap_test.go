package pii

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
)

// endless is "name,note\nalice," followed by an unending field: the 1 GiB
// CSV line of issue #10, finding 2, without its end.
type endless struct {
	head string
	fill byte
	n    int64
}

func (e *endless) Read(p []byte) (int, error) {
	i := 0
	for ; i < len(p) && e.n < int64(len(e.head)); i++ {
		p[i] = e.head[e.n]
		e.n++
	}
	for ; i < len(p); i++ {
		p[i] = e.fill
	}
	e.n += int64(len(p))
	return len(p), nil
}

// A record that never ends is refused once it passes MaxLine, having read
// little more than that, and holding a bounded amount of memory; a record
// of separators is refused at MaxFields before encoding/csv sees it.
func TestCSVRecordCaps(t *testing.T) {
	for _, tc := range []struct {
		name       string
		src        *endless
		wantFields bool
	}{
		{"endless field", &endless{head: "name,note\nalice,", fill: 'a'}, false},
		{"endless separators", &endless{head: "name,note\n", fill: ','}, true},
		{"endless quoted field", &endless{head: "name,note\nalice,\"", fill: '\n'}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := mustNew(t, Config{CSVColumns: []string{"name"}})
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := r.Redact(io.Discard, tc.src, KindCSV)
			runtime.ReadMemStats(&after)
			var tl *RecordTooLargeError
			if !errors.As(err, &tl) || tl.Fields != tc.wantFields || tl.Record != 2 {
				t.Fatalf("got %v, want a RecordTooLargeError for record 2 (fields %v)", err, tc.wantFields)
			}
			if tc.src.n > 8<<20+256<<10 {
				t.Errorf("read %d bytes before refusing", tc.src.n)
			}
			// encoding/csv grows its buffers by doubling: 8 MiB of field
			// costs it about 64 MiB of allocation in all.
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 96<<20 {
				t.Errorf("allocated %d MiB on the way", alloc>>20)
			}
		})
	}
	// Caps that fit pass.
	r := mustNew(t, Config{MaxLine: 64, MaxFields: 3})
	var out bytes.Buffer
	if _, err := r.Redact(&out, strings.NewReader("a,b,c\n\"x,\ny\",2,3\n1,2,3"), KindCSV); err != nil {
		t.Fatalf("within the caps: %v", err)
	}
	if _, err := r.Redact(io.Discard, strings.NewReader("a,b,c\n1,2,3,4\n"), KindCSV); err == nil {
		t.Error("4 fields passed a cap of 3")
	}
	if _, err := r.Redact(io.Discard, strings.NewReader("a\n"+strings.Repeat("x", 64)+"\n"), KindCSV); err == nil {
		t.Error("a 65-byte record passed a cap of 64")
	}
}

// FuzzCSVCaps: caps set to the largest record encoding/csv finds never
// refuse the input (the guard reads quoting as the parser does), and a
// field cap one below the widest record always refuses it.
func FuzzCSVCaps(f *testing.F) {
	for _, s := range []string{
		"a,b\n1,2\n",
		"a,\"b\nc\",d\n\"\"\"x\"\"\",y\n",
		"h\n\n\n1,2,3\n",
		"a,b\r\n\"1\r\n2\",3\r\n",
		"x\n\"a\"\"b\",\"\",,\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cr := csv.NewReader(bytes.NewReader(data))
		cr.FieldsPerRecord = -1
		maxFields, maxBytes, last := 0, int64(0), int64(0)
		for {
			rec, err := cr.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				return // malformed: the parser refuses it anyway
			}
			maxFields = max(maxFields, len(rec))
			off := cr.InputOffset()
			maxBytes = max(maxBytes, off-last)
			last = off
		}
		if maxFields == 0 {
			return
		}
		fit := mustNew(t, Config{Detectors: []string{"email"}, MaxLine: int(max(maxBytes, 1)), MaxFields: maxFields})
		var rte *RecordTooLargeError
		if _, err := fit.Redact(io.Discard, bytes.NewReader(data), KindCSV); errors.As(err, &rte) {
			t.Fatalf("caps of %d bytes and %d fields refused %q: %v", maxBytes, maxFields, data, err)
		}
		if maxFields > 1 {
			narrow := mustNew(t, Config{Detectors: []string{"email"}, MaxLine: int(max(maxBytes, 1)), MaxFields: maxFields - 1})
			if _, err := narrow.Redact(io.Discard, bytes.NewReader(data), KindCSV); !errors.As(err, &rte) || !rte.Fields {
				t.Fatalf("a cap of %d fields let %q through: %v", maxFields-1, data, err)
			}
		}
	})
}

// FuzzJSONCaps: an NDJSON line longer than MaxLine is refused with a
// *LineTooLongError whatever it holds, one within it never for its length;
// and a valid JSON document is never refused by a cap as long as itself.
func FuzzJSONCaps(f *testing.F) {
	for _, s := range []string{
		"{\"a\":\"x@example.com\"}\n{\"b\":1}\n",
		"[\"" + strings.Repeat("y", 40) + "\"]\n",
		"{}\r\n\r\n[1,2,3]",
		"\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\"",
	} {
		f.Add([]byte(s))
	}
	const maxLine = 24
	capped := mustNew(f, Config{Detectors: []string{"email"}, MaxLine: maxLine})
	f.Fuzz(func(t *testing.T, data []byte) {
		longest := 0
		lines := bytes.Split(data, []byte("\n"))
		for i, line := range lines {
			if i < len(lines)-1 { // "\r\n" ends a line; a last lone "\r" is content
				line = bytes.TrimSuffix(line, []byte("\r"))
			}
			longest = max(longest, len(line))
		}
		_, err := capped.Redact(io.Discard, bytes.NewReader(data), KindNDJSON)
		var ll *LineTooLongError
		switch {
		case longest > maxLine+2 && !errors.As(err, &ll):
			// Lines are read in order: an earlier bad line may stop it first.
			if err == nil {
				t.Fatalf("a %d-byte line passed a cap of %d", longest, maxLine)
			}
		case longest <= maxLine && errors.As(err, &ll):
			t.Fatalf("lines of at most %d bytes refused as too long: %v", longest, err)
		}
		if json.Valid(data) {
			whole := mustNew(t, Config{Detectors: []string{"email"}, MaxLine: max(len(data), 1)})
			if _, err := whole.Redact(io.Discard, bytes.NewReader(data), KindJSON); err != nil {
				t.Fatalf("valid JSON refused with a cap of its own length: %v", err)
			}
		}
	})
}
