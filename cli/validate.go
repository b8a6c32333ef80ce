package cli

import (
	"encoding/json"
	"fmt"

	"github.com/opaprules/opaprules/rules"
)

func runValidate(env *Env, args []string) int {
	fs := newFlags(env, "validate", "[--strict] [--format text|json] [FILE...]")
	strict := fs.Bool("strict", false, "treat warnings as errors")
	format := fs.String("format", "text", "output format: text or json")
	files, err := parseInterspersed(fs, args)
	if err != nil {
		return usageError(env, fs, err)
	}
	if *format != "text" && *format != "json" {
		return usageError(env, fs, fmt.Errorf("--format must be text or json, not %q", *format))
	}
	if len(files) == 0 {
		files = []string{"rules.yaml"}
	}
	type report struct {
		Valid    bool               `json:"valid"`
		Errors   []rules.Diagnostic `json:"errors"`
		Warnings []rules.Diagnostic `json:"warnings"`
	}
	rep := report{Valid: true, Errors: []rules.Diagnostic{}, Warnings: []rules.Diagnostic{}}
	var all []rules.Diagnostic
	ruleCount := 0
	for _, file := range files {
		data, err := rules.ReadFile(file)
		var diags []rules.Diagnostic
		if err != nil {
			diags = []rules.Diagnostic{{Severity: rules.Error, File: file, Line: 1, Column: 1, Message: fmt.Sprintf("cannot read the file: %v", unwrapPathError(err))}}
		} else {
			var rs *rules.RuleSet
			rs, diags = rules.Check(file, data)
			if rs != nil {
				ruleCount += len(rs.Rules)
			}
		}
		for _, d := range diags {
			if d.Severity == rules.Warning && *strict {
				d.Severity = rules.Error
			}
			if d.Severity == rules.Error {
				rep.Valid = false
				rep.Errors = append(rep.Errors, d)
			} else {
				rep.Warnings = append(rep.Warnings, d)
			}
			all = append(all, d)
		}
	}
	if *format == "json" {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		_ = enc.Encode(rep)
	} else {
		for _, d := range all {
			fmt.Fprintln(env.Stdout, d.String())
		}
		if rep.Valid {
			fmt.Fprintf(env.Stdout, "%s: valid, %s, %s\n", joinFiles(files), plural(ruleCount, "rule"), plural(len(rep.Warnings), "warning"))
		} else {
			fmt.Fprintf(env.Stdout, "%s: invalid, %s, %s\n", joinFiles(files), plural(len(rep.Errors), "error"), plural(len(rep.Warnings), "warning"))
		}
	}
	if !rep.Valid {
		return ExitFail
	}
	return ExitOK
}

func joinFiles(files []string) string {
	if len(files) == 1 {
		return files[0]
	}
	return fmt.Sprintf("%d files", len(files))
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
