package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/opaprules/opaprules/rules"
)

func runSign(env *Env, args []string) int {
	fs := newFlags(env, "sign", "--key-env NAME [--ttl 1h] 'KEY?QUERY'")
	keyEnv := fs.String("key-env", "", "environment variable holding the signing key(s); the first of a comma-separated list signs")
	ttl := fs.Duration("ttl", 0, "add an expires parameter this far in the future (e.g. 1h); 0 signs without expiry")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return usageError(env, fs, err)
	}
	if *keyEnv == "" || len(pos) != 1 {
		fs.Usage()
		return ExitUsage
	}
	if *ttl < 0 {
		return usageError(env, fs, fmt.Errorf("--ttl must not be negative"))
	}
	if !strings.HasPrefix(*keyEnv, rules.EnvPrefix) {
		return usageError(env, fs, fmt.Errorf("--key-env %s: signed() reads only variables starting with %s; name one of those", *keyEnv, rules.EnvPrefix))
	}
	secrets := env.Getenv(*keyEnv)
	if secrets == "" {
		fmt.Fprintf(env.Stderr, "opaprules sign: environment variable %s is empty\n", *keyEnv)
		return ExitFail
	}
	key, q, ok := rules.ParseTarget(pos[0])
	if !ok {
		return usageError(env, fs, fmt.Errorf("the request %q has no object key", pos[0]))
	}
	if q != "" {
		key += "?" + q
	}
	path, err := rules.SignPath(secrets, key, *ttl, time.Now())
	if err != nil {
		fmt.Fprintf(env.Stderr, "opaprules sign: %v\n", err)
		return ExitFail
	}
	fmt.Fprintln(env.Stdout, path)
	return ExitOK
}
