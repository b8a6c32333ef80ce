#!/usr/bin/env bash
# Passthrough of a large object through `opaprules serve`: the whole chain a
# real OPAP runs (client -> local OSS -> handler -> origin GET ->
# WriteGetObjectResponse -> client), measured side by side with curl reading
# the same file from a plain loopback file server.
#
# Prints the throughput of both, their ratio, and the serve process's RSS
# growth (peak minus idle). Targets: ratio >= 50%, growth < 64 MiB.
#
#   bench/passthrough.sh            # 1 GiB, 3 runs each
#   SIZE_MB=256 RUNS=5 bench/passthrough.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MB=${SIZE_MB:-1024}
RUNS=${RUNS:-3}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

command -v curl >/dev/null || { echo "needs curl (apt-get install -y curl)"; exit 1; }
go build -o "$work/opaprules" .
go build -o "$work/fileserver" ./bench/fileserver
mkdir -p "$work/bucket"
# Incompressible content, so nothing along the way can cheat.
head -c $((SIZE_MB << 20)) /dev/urandom > "$work/bucket/big.bin"
printf 'version: 1\nrules:\n  - name: private\n    when: key startsWith "private/"\n    actions: [deny]\n' > "$work/rules.yaml"

"$work/fileserver" -addr 127.0.0.1:18090 -dir "$work/bucket" & pids+=($!)
"$work/opaprules" serve --rules "$work/rules.yaml" --origin "$work/bucket" --addr 127.0.0.1:18091 2>"$work/serve.log" & serve_pid=$!; pids+=($serve_pid)
for port in 18090 18091; do
  for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
done
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
idle=$(rss_kb "$serve_pid")

speed() { curl -s -o /dev/null -w '%{speed_download}' "$1"; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
plain=(); ours=()
for _ in $(seq "$RUNS"); do
  plain+=("$(speed http://127.0.0.1:18090/big.bin)")
  ours+=("$(speed http://127.0.0.1:18091/big.bin)")
done
p=$(printf '%s\n' "${plain[@]}" | median)
o=$(printf '%s\n' "${ours[@]}" | median)
peak=$(hwm_kb "$serve_pid")
growth=$(( (peak - idle) / 1024 ))
echo "passthrough of ${SIZE_MB} MiB, median of $RUNS runs each:"
awk -v p="$p" -v o="$o" 'BEGIN {printf "  plain file server  %8.0f MiB/s\n  opaprules serve    %8.0f MiB/s\n  ratio              %8.0f%%   (target >= 50%%)\n", p/1048576, o/1048576, 100*o/p}'
echo "  serve RSS          idle $((idle / 1024)) MiB, peak $((peak / 1024)) MiB, growth ${growth} MiB   (target < 64 MiB)"
