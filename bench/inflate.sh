#!/usr/bin/env bash
# bench/inflate.sh: internal/inflate against compress/zlib on the same
# streams, in one run, reported as ratios (benchstat, ours vs stdlib).
#
#   bench/inflate.sh              # COUNT=6
#   COUNT=10 bench/inflate.sh
#
# Inputs (internal/inflate/bench_test.go): the IDAT stream image/png writes
# at default compression for a 1920×1080 photo-like picture, 1 MiB of
# pseudo-English at zlib level 6, and, where present, the IDAT streams of
# ~/.cache/opaprules/corpus/pictures/{canopee,warty-final-ubuntu}.png
# (skipped elsewhere). Both decode into a preallocated buffer of the known
# size; compress/zlib through a reused reader, its cheapest use.
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${COUNT:-6}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
go test -run '^$' -bench '^Benchmark(Zlib|Stdlib)$' -cpu 1 -count "$COUNT" ./internal/inflate/ |
	sed -E 's#^BenchmarkZlib/([^ \t]+)#BenchmarkInflate/in=\1/impl=ours#; s#^BenchmarkStdlib/([^ \t]+)#BenchmarkInflate/in=\1/impl=stdlib#' >"$out"
go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da -col /impl "$out"
