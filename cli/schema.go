package cli

import (
	"github.com/opaprules/opaprules/schema"
)

func runSchema(env *Env, args []string) int {
	fs := newFlags(env, "schema", "[rules|tests]")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return usageError(env, fs, err)
	}
	which := "rules"
	if len(pos) > 1 {
		fs.Usage()
		return ExitUsage
	}
	if len(pos) == 1 {
		which = pos[0]
	}
	switch which {
	case "rules":
		env.Stdout.Write(schema.Rules)
	case "tests":
		env.Stdout.Write(schema.Tests)
	default:
		fs.Usage()
		return ExitUsage
	}
	return ExitOK
}
