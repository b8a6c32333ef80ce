package cli

import (
	"fmt"

	"github.com/opaprules/opaprules/ruletest"
)

func runTest(env *Env, args []string) int {
	fs := newFlags(env, "test", "[FILE...]")
	files, err := parseInterspersed(fs, args)
	if err != nil {
		return usageError(env, fs, err)
	}
	if len(files) == 0 {
		files = []string{"rules_test.yaml"}
	}
	passed, failed, broken := 0, 0, 0
	for _, file := range files {
		f, rs, lines, err := ruletest.Load(file)
		if err != nil {
			fmt.Fprintln(env.Stdout, unwrapPathError(err))
			broken++
			continue
		}
		p, fl := ruletest.Run(file, f, rs, lines).Print(env.Stdout)
		passed += p
		failed += fl
	}
	if failed == 0 && broken == 0 {
		fmt.Fprintln(env.Stdout, "PASS")
	} else {
		fmt.Fprintln(env.Stdout, "FAIL")
	}
	summary := fmt.Sprintf("%d passed, %d failed", passed, failed)
	if broken > 0 {
		summary += fmt.Sprintf(", %d files could not be loaded", broken)
	}
	fmt.Fprintln(env.Stdout, summary)
	if failed > 0 || broken > 0 {
		return ExitFail
	}
	return ExitOK
}
