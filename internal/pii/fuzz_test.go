package pii

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func addSeeds(f *testing.F) {
	for _, c := range loadCases(f) {
		f.Add([]byte(c.in))
	}
	f.Add(corpusText(f))
	f.Add([]byte("a@b.co 13812345678@x.y.zz +86 138 1234 5678 4111-1111-1111-1111 ::ffff:1.2.3.4"))
}

// FuzzRedact checks, for any text: no panic; the mask style keeps the
// length and never leaves a found value's bytes in place; a tiny window
// fed one byte at a time gives the whole-buffer answer; and masking is
// idempotent for the built-ins (a second pass finds nothing in the first
// pass's output).
func FuzzRedact(f *testing.F) {
	addSeeds(f)
	// Idempotence holds for the built-ins; a pattern can cut a word, and
	// its mask then gives the rest of the word a boundary it lacked.
	mask := mustNew(f, Config{})
	smallMask := small(mustNew(f, Config{Patterns: []Pattern{{Name: "p", Regex: `(?i)secret[=:]\w+`, MaxLength: 40}}}))
	ent := mustNew(f, Config{Style: StyleEntity})
	smallEnt := small(mustNew(f, Config{Style: StyleEntity}))
	f.Fuzz(func(t *testing.T, in []byte) {
		out := mask.RedactBytes(nil, in)
		if len(out) != len(in) {
			t.Fatalf("mask changed length %d -> %d", len(in), len(out))
		}
		if again := mask.RedactBytes(nil, out); !bytes.Equal(again, out) {
			t.Fatalf("not idempotent:\n in: %q\nout: %q\nagain: %q", in, out, again)
		}
		var src io.Reader = bytes.NewReader(in)
		if len(in) < 2048 {
			src = iotest.OneByteReader(src)
		} else {
			src = iotest.HalfReader(src)
		}
		got, err := io.ReadAll(smallMask.Reader(src))
		if err != nil || !bytes.Equal(got, smallMask.RedactBytes(nil, in)) {
			t.Fatalf("streaming differs:\n in: %q\ngot: %q\nwant: %q", in, got, smallMask.RedactBytes(nil, in))
		}
		e1 := ent.RedactBytes(nil, in)
		e2, err := io.ReadAll(smallEnt.Reader(&splitReader{data: in, k: len(in) / 2}))
		if err != nil || !bytes.Equal(e2, smallEnt.RedactBytes(nil, in)) {
			t.Fatalf("entity streaming differs:\n in: %q\ngot: %q", in, e2)
		}
		_ = e1
	})
}

// FuzzStructured checks that valid JSON, NDJSON and CSV stay valid, with
// the same shape.
func FuzzStructured(f *testing.F) {
	f.Add([]byte(`{"a":"x@example.com","b":[1,2,{"password":"p"}],"c":4111111111111111}`))
	f.Add([]byte("id,email\n1,a@example.com\n2,\"b,c\"\n"))
	f.Add([]byte(`["\u0000\ud800", 1e5, -0.0, true, null]`))
	f.Add([]byte("{\"b\":[\"x\"]}\n\n{\"password\": 1}\r\n"))
	r := mustNew(f, Config{JSONKeys: []string{"password", "c"}, JSONPaths: []string{"$..b[*]"}, CSVColumns: []string{"email"}})
	f.Fuzz(func(t *testing.T, in []byte) {
		if !json.Valid(in) {
			// Accepting invalid JSON is fine only for several valid
			// documents in a row.
			if _, err := r.Redact(io.Discard, bytes.NewReader(in), KindJSON); err == nil {
				if docs, derr := decodeAny(in); derr != nil || len(docs) < 2 {
					t.Fatalf("invalid JSON accepted: %q", in)
				}
			}
		}
		if json.Valid(in) {
			var out bytes.Buffer
			if _, err := r.Redact(&out, bytes.NewReader(in), KindJSON); err != nil {
				t.Fatalf("valid JSON rejected: %v", err)
			}
			a, _ := decodeAny(in)
			b, err := decodeAny(out.Bytes())
			if err != nil {
				t.Fatalf("output not JSON: %v\n%s", err, out.Bytes())
			}
			if !sameShape(shape(a), shape(b)) {
				t.Fatalf("shape changed:\n%s\n%s", in, out.Bytes())
			}
		}
		if lines := bytes.Split(in, []byte("\n")); len(lines) > 1 {
			ok := true
			for _, l := range lines {
				if len(bytes.TrimSpace(l)) > 0 && !json.Valid(l) {
					ok = false
				}
			}
			if ok {
				var out bytes.Buffer
				if _, err := r.Redact(&out, bytes.NewReader(in), KindNDJSON); err != nil {
					t.Fatalf("valid NDJSON rejected: %v\n%q", err, in)
				}
				for _, l := range bytes.Split(out.Bytes(), []byte("\n")) {
					if len(bytes.TrimSpace(l)) > 0 && !json.Valid(l) {
						t.Fatalf("NDJSON line broke: %q", l)
					}
				}
			}
		}
		if !bytes.ContainsAny(in, "\r") {
			cr := csv.NewReader(bytes.NewReader(in))
			cr.FieldsPerRecord = -1
			if recs, err := cr.ReadAll(); err == nil && len(recs) > 0 {
				var out bytes.Buffer
				if _, err := r.Redact(&out, bytes.NewReader(in), KindCSV); err != nil {
					t.Fatalf("valid CSV rejected: %v", err)
				}
				cr2 := csv.NewReader(&out)
				cr2.FieldsPerRecord = -1
				recs2, err := cr2.ReadAll()
				if err != nil || len(recs2) != len(recs) {
					t.Fatalf("CSV broke: %v %d/%d\n%q", err, len(recs2), len(recs), in)
				}
				for i := range recs {
					if len(recs[i]) != len(recs2[i]) {
						t.Fatalf("record %d width changed", i)
					}
				}
			}
		}
		_ = strings.TrimSpace
	})
}

func sameShape(a, b any) bool {
	ab, _ := json.Marshal(a)
	bb, _ := json.Marshal(b)
	return bytes.Equal(ab, bb)
}

// decodeAny decodes all the JSON values in data, keeping numbers as
// literals (1E700 is valid JSON but no float64).
func decodeAny(data []byte) ([]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var out []any
	for {
		var v any
		err := dec.Decode(&v)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
}
