# The README's commands:
#   go build -o opaprules . && ./opaprules serve   the local OPAP on the bundled rules and samples
#   make test           everything .ci/run checks
GO ?= go

.PHONY: test build package serve bench clean

test:
	@echo "== gofmt"; out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	@echo "== go vet"; $(GO) vet ./...
	@echo "== shipped rules"; $(GO) run . validate --strict rules.yaml && $(GO) run . test rules_test.yaml | tail -1
	@echo "== heavy codec tests (no race detector: WebAssembly codecs under -race take minutes)"
	OPAPRULES_HEAVY=1 $(GO) test -count=1 ./actions/ ./internal/imageio/
	@echo "== all tests with the race detector"
	$(GO) tool gotestsum --format pkgname -- -race -count=1 ./...

# A static binary for Function Compute's go1 runtime.
build:
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -tags nodynamic -trimpath -ldflags "-s -w" -o dist/main .

# The deployment zips of the same binary: opaprules.zip holds it as main,
# the handler of runtime go1 (deploy/s.yaml); opaprules-custom.zip as
# bootstrap, what a custom runtime starts (deploy/s-custom.yaml).
package: build
	cd dist && rm -f opaprules.zip opaprules-custom.zip bootstrap && cp -p main bootstrap \
		&& $(GO) run ../internal/zipfile opaprules.zip main \
		&& $(GO) run ../internal/zipfile opaprules-custom.zip bootstrap
	@ls -l dist/opaprules.zip dist/opaprules-custom.zip

serve:
	$(GO) run . serve

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./rules/
	bench/passthrough.sh
	bench/fcserver.sh
	bench/images.sh

clean:
	rm -rf dist
