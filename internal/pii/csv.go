package pii

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// redactCSV copies CSV from src to w. The first record is the header: it
// is copied unchanged and names the columns of Config.CSVColumns (matched
// case-insensitively, surrounding spaces and a UTF-8 byte order mark
// ignored). Non-empty cells of those columns are redacted whole; other
// cells are run through the detectors and patterns. Records may have any
// number of fields, and keep it.
//
// The output is re-encoded: quotes appear where encoding/csv needs them,
// "\r\n" inside quoted fields becomes "\n", and records end in "\n" (or
// "\r\n" when the first record did), but every cell that is not redacted
// parses back to exactly its input value.
func (r *Redactor) redactCSV(w *bufio.Writer, src io.Reader) error {
	br := bufio.NewReaderSize(&csvGuard{r: src, maxBytes: int64(r.maxLine), maxFields: r.maxFields, record: 1, fieldStart: true}, 64<<10)
	crlf := false
	if head, err := br.Peek(br.Size()); len(head) > 0 {
		if nl := strings.IndexByte(string(head), '\n'); nl > 0 && head[nl-1] == '\r' {
			crlf = true
		}
	} else if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		return err
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	cw := csv.NewWriter(w)
	cw.UseCRLF = crlf
	e := r.newWindow(nil)
	var cols []bool
	var val, cellb []byte
	for first := true; ; first = false {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if first {
			cols = make([]bool, len(rec))
			for i, h := range rec {
				if i == 0 {
					h = strings.TrimPrefix(h, "\ufeff")
				}
				_, cols[i] = r.csvColumns[strings.ToLower(strings.TrimSpace(h))]
			}
		} else {
			for i, cell := range rec {
				if cell == "" {
					continue
				}
				cellb = append(cellb[:0], cell...)
				switch {
				case i < len(cols) && cols[i]:
					val = e.replacement(val[:0], cellb, detField)
				case r.scansText():
					val = e.appendText(val[:0], cellb)
					if e.hits == 0 {
						continue
					}
				default:
					continue
				}
				rec[i] = string(val)
			}
		}
		if len(rec) == 1 && rec[0] == "" {
			// csv.Writer writes a lone empty field as an empty line, which
			// readers skip: the record would vanish.
			cw.Flush()
			if crlf {
				w.WriteString("\"\"\r\n")
			} else {
				w.WriteString("\"\"\n")
			}
			continue
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// RecordTooLargeError is returned for a CSV record longer than
// Config.MaxLine bytes or with more than Config.MaxFields fields. The
// record is refused as it arrives, before the parser holds it: encoding/csv
// keeps a whole record, so a 1 MB gzip object unpacking to a 1 GiB line
// grew a server to gigabytes, and 1 MiB of commas costs it 145 MiB of
// field bookkeeping (issue #10, finding 2).
type RecordTooLargeError struct {
	Record int64 // 1-based; the header is record 1
	Limit  int64
	Fields bool // the field count, not the length, passed the limit
}

func (e *RecordTooLargeError) Error() string {
	if e.Fields {
		return fmt.Sprintf("pii: CSV record %d has more than %d fields", e.Record, e.Limit)
	}
	return fmt.Sprintf("pii: CSV record %d is longer than %d bytes", e.Record, e.Limit)
}

// csvGuard follows the CSV syntax encoding/csv accepts (RFC 4180 quoting,
// records ending in a newline outside quotes) over the raw bytes on their
// way to the parser, counting each record's bytes and fields.
type csvGuard struct {
	r         io.Reader
	maxBytes  int64
	maxFields int
	err       error

	record     int64
	bytes      int64
	fields     int // separators seen in this record
	inQuotes   bool
	quote      bool // inside quotes, the last byte was a quote
	fieldStart bool
}

func (g *csvGuard) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	n, err := g.r.Read(p)
	for _, c := range p[:n] {
		g.bytes++
		if g.bytes > g.maxBytes {
			g.err = &RecordTooLargeError{Record: g.record, Limit: g.maxBytes}
			return 0, g.err
		}
		if g.inQuotes {
			switch {
			case g.quote && c == '"': // an escaped quote
				g.quote = false
				continue
			case g.quote: // the closing quote; c follows the field
				g.quote, g.inQuotes = false, false
			case c == '"':
				g.quote = true
				continue
			default:
				continue
			}
		}
		switch c {
		case ',':
			g.fields++
			g.fieldStart = true
		case '\n':
			g.record++
			g.bytes, g.fields, g.fieldStart = 0, 0, true
		case '"':
			if g.fieldStart {
				g.inQuotes = true
			}
			g.fieldStart = false
		default:
			g.fieldStart = false
		}
		if g.fields >= g.maxFields {
			g.err = &RecordTooLargeError{Record: g.record, Limit: int64(g.maxFields), Fields: true}
			return 0, g.err
		}
	}
	return n, err
}
