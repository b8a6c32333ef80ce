#!/usr/bin/env bash
# Instance concurrency in the custom runtime: one `opaprules fc-server`
# process with 1, 4 and 16 GetObjects in flight, driven through the local
# OSS by an emulator of Function Compute's custom-runtime contract, against
# an origin that takes 50 ms per read. Prints throughput and the server's
# peak RSS per level, and both as ratios to 1 in flight in the same run.
#
#   bench/fcserver.sh                                   # defaults below
#   DURATION=10s DELAY=50ms INFLIGHT=1,4,16 CASES=passthrough bench/fcserver.sh
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
CGO_ENABLED=0 go build -tags nodynamic -trimpath -o "$work/opaprules" .
go build -o "$work/fcbench" ./bench/fcbench
"$work/fcbench" -bin "$work/opaprules" \
  -inflight "${INFLIGHT:-1,4,16}" -delay "${DELAY:-50ms}" -duration "${DURATION:-5s}" \
  -cases "${CASES:-passthrough,thumbnail}"
