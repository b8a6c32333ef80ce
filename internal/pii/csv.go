package pii

import (
	"bufio"
	"encoding/csv"
	"errors"
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
	br := bufio.NewReaderSize(src, 64<<10)
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
