package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/opaprules/opaprules/engine"
	"github.com/opaprules/opaprules/fcserver"
	"github.com/opaprules/opaprules/rules"
)

// fcShutdownGrace is how long a stopping fc-server lets invocations in
// flight finish.
const fcShutdownGrace = 10 * time.Second

func runFCServer(env *Env, args []string) int {
	fs := newFlags(env, "fc-server", "[--addr 0.0.0.0:9000] [--rules FILE]")
	addr := fs.String("addr", fcserver.ListenAddr(env.Getenv), "address to listen on (FC needs 0.0.0.0 and its CAPort: FC_CUSTOM_LISTEN_PORT, FC_SERVER_PORT, else 9000)")
	rulesFile := fs.String("rules", "", "rules file (default: OPAPRULES_RULES, else the embedded rules)")
	if _, err := parseInterspersed(fs, args); err != nil {
		return usageError(env, fs, err)
	}
	logger := slog.New(slog.NewJSONHandler(env.Stderr, nil))
	var (
		fn  *engine.Function
		err error
	)
	if *rulesFile != "" {
		var rs *rules.RuleSet
		if rs, err = rules.LoadFile(*rulesFile); err != nil {
			logger.Error("rules do not load", "error", err.Error())
			return ExitFail
		}
		fn = &engine.Function{Rules: rs, Logger: logger}
	} else if fn, err = engine.NewFunction(env.DefaultRules, logger); err != nil {
		return ExitFail
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		logger.Error("cannot listen", "addr", *addr, "error", err.Error())
		return ExitFail
	}
	hs := fcserver.NewHTTPServer(*addr, fcserver.New(fn, env.Stdout))
	logger.Info("fc-server listening", "addr", ln.Addr().String(), "rules", len(fn.Rules.Rules))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), fcShutdownGrace)
		defer cancel()
		_ = hs.Shutdown(shutdown)
	}()
	if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(env.Stderr, "opaprules fc-server: %v\n", err)
		return ExitFail
	}
	stop()
	<-done
	return ExitOK
}
