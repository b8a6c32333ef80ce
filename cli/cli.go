// Package cli implements the opaprules commands: validate, dry-run, test,
// sign, schema, serve and fc-server. Each command reads its flags, does its
// one job through the rules and engine packages, and returns an exit code.
// fc-server, the Function Compute custom runtime, is a thin verb over the
// fcserver package; nothing else here serves a real invocation.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/opaprules/opaprules/rules"
)

// Exit codes shared by every command.
const (
	ExitOK    = 0
	ExitFail  = 1 // the check ran and found problems
	ExitUsage = 2 // the command line was wrong
)

// Env is what the commands need from the binary around them.
type Env struct {
	Stdout, Stderr io.Writer
	// DefaultRules is the rules.yaml embedded at build, used when no file
	// is named and none is in the working directory.
	DefaultRules []byte
	// Samples is the bundled folder of sample originals serve uses by default.
	Samples fs.FS
	Getenv  func(string) string
}

type command struct {
	name, args, summary string
	run                 func(env *Env, args []string) int
}

var commands []command

func init() {
	commands = []command{
		{"serve", "[flags]", "run a local OSS endpoint that plays an OPAP over a folder", runServe},
		{"validate", "[--strict] [--format text|json] [FILE...]", "check rules files without a request", runValidate},
		{"dry-run", "[flags] 'KEY?QUERY'", "show which rules match a request, the plan, and the response it implies", runDryRun},
		{"test", "[FILE...]", "run the operators' rule tests (rules_test.yaml)", runTest},
		{"sign", "--key-env NAME [--ttl 1h] 'KEY?QUERY'", "print a signed path for signed(NAME) rules", runSign},
		{"schema", "[rules|tests]", "print the JSON schema of rules.yaml or rules_test.yaml", runSchema},
		{"fc-server", "[--addr 0.0.0.0:9000] [--rules FILE]", "serve Function Compute custom-runtime invocations (POST /invoke, /initialize)", runFCServer},
	}
}

// Main runs the command named by args[0] and returns the exit code.
func Main(env *Env, args []string) int {
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	if len(args) == 0 {
		usage(env.Stderr)
		return ExitUsage
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		usage(env.Stdout)
		return ExitOK
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(env, args[1:])
		}
	}
	fmt.Fprintf(env.Stderr, "opaprules: unknown command %q\n\n", args[0])
	usage(env.Stderr)
	return ExitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "opaprules: one Function Compute handler for OSS Object FC Access Points, driven by rules.yaml")
	fmt.Fprintln(w, "\nUsage:")
	fmt.Fprintln(w, "  opaprules                  (inside Function Compute: serve invocations)")
	for _, c := range commands {
		fmt.Fprintf(w, "  opaprules %-8s %s\n      %s\n", c.name, c.args, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'opaprules COMMAND -h' for a command's flags.")
}

// newFlags returns a flag set that reports errors and usage to stderr.
func newFlags(env *Env, name, args string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "Usage: opaprules %s %s\n\nFlags:\n", name, args)
		fs.PrintDefaults()
	}
	return fs
}

// parseInterspersed parses flags that may come before or after the
// positional arguments, as operators type them in either order.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		if args[0] == "--" {
			return append(positional, args[1:]...), nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// usageError reports a command-line mistake and returns ExitUsage; -h
// prints the usage and succeeds.
func usageError(env *Env, fs *flag.FlagSet, err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	if err != nil && !strings.Contains(err.Error(), "flag provided but not defined") && fs != nil {
		fmt.Fprintf(env.Stderr, "opaprules %s: %v\n", fs.Name(), err)
	}
	return ExitUsage
}

// multiFlag collects a repeated flag such as -H.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ", ") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// embeddedRulesName is what the embedded rules are called in messages.
const embeddedRulesName = "rules.yaml (embedded)"

// rulesSource returns the named rules file's bytes, or, with no name, the
// working directory's rules.yaml, else the embedded default.
func rulesSource(env *Env, name string) (string, []byte, error) {
	if name != "" {
		b, err := rules.ReadFile(name)
		return name, b, err
	}
	b, err := rules.ReadFile("rules.yaml")
	if err == nil {
		return "rules.yaml", b, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "rules.yaml", nil, err
	}
	if env.DefaultRules != nil {
		return embeddedRulesName, env.DefaultRules, nil
	}
	return "", nil, fmt.Errorf("no rules.yaml in the working directory: name one with --rules")
}

// unwrapPathError drops the operation and path from an *fs.PathError when
// the caller prints the path itself.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Path, pe.Err)
	}
	return err
}
