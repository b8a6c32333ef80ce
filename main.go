// Command opaprules is one generic Function Compute handler for Alibaba
// Cloud OSS Object FC Access Points, driven by a declarative rules.yaml,
// and the operator's tools around it: validate, dry-run, test, sign,
// schema, and serve (a local OSS endpoint that plays an access point).
//
// Inside Function Compute's go1 runtime (FC_RUNTIME_API set) and with no
// arguments, it serves invocations with the rules.yaml embedded at build
// time, or the file named by OPAPRULES_RULES. In a custom runtime it runs
// as `opaprules fc-server`, or with no arguments under the name bootstrap.
package main

import (
	"embed"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/opaprules/opaprules/cli"
	"github.com/opaprules/opaprules/engine"
)

// rulesYAML is embedded so that "edit rules.yaml and redeploy" is the whole
// workflow: the deployment zip holds one file, the binary.
//
//go:embed rules.yaml
var rulesYAML []byte

//go:embed samples
var samplesFS embed.FS

func main() {
	if os.Getenv("FC_RUNTIME_API") != "" && len(os.Args) == 1 {
		// fc.Start serves until the instance stops; it returns only when
		// the rules do not load, which the log already says.
		if err := engine.StartFC(rulesYAML); err != nil {
			os.Exit(1)
		}
		return
	}
	args := os.Args[1:]
	// A custom runtime starts /code/bootstrap with no arguments unless
	// customRuntimeConfig says otherwise; the custom-runtime zip ships
	// this binary under that name.
	if len(args) == 0 && filepath.Base(os.Args[0]) == "bootstrap" {
		args = []string{"fc-server"}
	}
	samples, err := fs.Sub(samplesFS, "samples")
	if err != nil {
		panic(err)
	}
	env := &cli.Env{Stdout: os.Stdout, Stderr: os.Stderr, DefaultRules: rulesYAML, Samples: samples}
	os.Exit(cli.Main(env, args))
}
