#!/usr/bin/env bash
# bench/hostile.sh: the bounded hostile load of issue #10 against a freshly
# built `opaprules serve`: 2,000 requests, 100 in flight, every attack of
# the issue mixed with ordinary traffic (bench/hostile/main.go lists them).
# It fails unless the server stays alive, answers every request and stays
# under RSS_CAP; it prints per-attack answers and times, the server's peak
# RSS and temporary-file bytes, and whether the event log leaked.
#
#   bench/hostile.sh                       # the mixed load
#   bench/hostile.sh -scenario all         # each attack alone, RSS and CPU after the answer
#   bench/hostile.sh -cli                  # the CLI's file reads (finding 5)
#   bench/hostile.sh -idle                 # idle and half-sent connections (finding 9)
#   bench/hostile.sh memory                # finding 6: 300 requests, 50 in flight, 30 of them
#                                          # an 8000×6000 progressive JPEG at ?w=2000, memory_budget
#                                          # 1GiB: fails when peak RSS passes idle + budget + 128 MiB
#   BIN=/path/to/old/opaprules bench/hostile.sh    # measure another build
#
# Needs cjpeg (Debian libjpeg-turbo-progs) to make the 8000×6000
# progressive JPEG; installs it when run as root. The generated objects
# (about 70 MB) stay in $WORK between runs.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-${TMPDIR:-/tmp}/opaprules-hostile}
RSS_CAP=${RSS_CAP:-$((4 << 30))}
if ! command -v cjpeg >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
	(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libjpeg-turbo-progs) >&2
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/hostile" ./bench/hostile
bin=${BIN:-}
if [ -z "$bin" ]; then
	go build -o "$tmp/opaprules" .
	bin=$tmp/opaprules
fi
if [ $# -eq 0 ]; then
	set -- -mix -n 2000 -c 100
elif [ "$1" = memory ]; then
	shift
	# serve's runtime overhead over memory_budget: cli.serveMemoryOverhead.
	set -- -mix -n 300 -c 50 -mixof progressive-8000x6000=1,thumbnail=9 \
		-memory-budget 1GiB -rss-bound $(((1 << 30) + (128 << 20))) "$@"
fi
exec "$tmp/hostile" -bin "$bin" -work "$WORK" -rsscap "$RSS_CAP" "$@"
