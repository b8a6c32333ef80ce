package rules

import (
	"fmt"
	"strings"
)

// Severity of a Diagnostic.
type Severity int

const (
	Error Severity = iota
	Warning
)

// Diagnostic is one problem found in a rules file, positioned in the file.
// Line and Column are 1-based; Column counts characters, not bytes.
type Diagnostic struct {
	Severity Severity `json:"-"`
	File     string   `json:"file"`
	Line     int      `json:"line"`
	Column   int      `json:"column"`
	Rule     string   `json:"rule"`
	Message  string   `json:"message"`
	// pointer is the JSON pointer of the value the diagnostic is about,
	// used to avoid reporting a schema violation twice.
	pointer string
}

// String formats the diagnostic as FILE:LINE:COL: rule "NAME": message, or
// FILE:LINE:COL: warning: message.
func (d Diagnostic) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:%d:%d: ", d.File, d.Line, d.Column)
	if d.Severity == Warning {
		b.WriteString("warning: ")
	}
	if d.Rule != "" {
		fmt.Fprintf(&b, "rule %q: ", d.Rule)
	}
	b.WriteString(d.Message)
	return b.String()
}

// LoadError is returned when a rules file has errors. It lists every
// error found, not only the first, so an operator fixes them in one go.
type LoadError struct {
	Diagnostics []Diagnostic
}

func (e *LoadError) Error() string {
	var lines []string
	for _, d := range e.Diagnostics {
		if d.Severity == Error {
			lines = append(lines, d.String())
		}
	}
	return strings.Join(lines, "\n")
}

// Pos is a position in a rules file.
type Pos struct {
	Line, Column int
}
