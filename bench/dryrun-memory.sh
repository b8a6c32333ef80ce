#!/usr/bin/env bash
# Peak memory of masking a large log with `opaprules dry-run --input`
# against the same request through `opaprules serve`: both run the engine's
# own steps (engine.RunLocal and Handler.Invoke), so both should stream.
# Prints each one's peak RSS and output bytes; the two byte counts must be
# equal. Target: dry-run under 150 MiB for a 200 MB log.
#
#   bench/dryrun-memory.sh              # 200 MB log
#   SIZE_MB=500 bench/dryrun-memory.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MB=${SIZE_MB:-200}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
command -v curl >/dev/null || { echo "needs curl (apt-get install -y curl)"; exit 1; }

go build -o "$work/opaprules" .
mkdir -p "$work/bucket/logs"
# A log with an e-mail address, a phone number and a card number per line.
awk -v n=$((SIZE_MB * 1000000 / 85)) 'BEGIN { for (i = 0; i < n; i++) printf "%08d user%d@example.com called +86 138 0013 %04d paid 4111 1111 1111 1111 ok\n", i, i, i % 10000 }' > "$work/bucket/logs/app.log"
cat > "$work/rules.yaml" <<'YAML'
version: 1
rules:
  - name: mask
    when: key startsWith "logs/"
    actions: [{redact: {detectors: [email, phone, bank_card]}}]
YAML
bytes_in=$(stat -c %s "$work/bucket/logs/app.log")

/usr/bin/time -f '%M' -o "$work/dry.kb" "$work/opaprules" dry-run --rules "$work/rules.yaml" \
  --input "$work/bucket/logs/app.log" --output "$work/dry.out" 'logs/app.log' >/dev/null

"$work/opaprules" serve --rules "$work/rules.yaml" --origin "$work/bucket" --addr 127.0.0.1:18093 2>/dev/null & serve_pid=$!; pids+=($serve_pid)
for _ in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:18093/ && break; sleep 0.1; done
curl -s -o "$work/serve.out" http://127.0.0.1:18093/logs/app.log
serve_kb=$(awk '/^VmHWM/ {print $2}' "/proc/$serve_pid/status")

dry_bytes=$(stat -c %s "$work/dry.out"); serve_bytes=$(stat -c %s "$work/serve.out")
echo "masking a $((bytes_in / 1000000)) MB log:"
printf '  dry-run --input   peak RSS %6d MiB   %d bytes out\n' $(( $(cat "$work/dry.kb") / 1024 )) "$dry_bytes"
printf '  serve             peak RSS %6d MiB   %d bytes out\n' $(( serve_kb / 1024 )) "$serve_bytes"
if cmp -s "$work/dry.out" "$work/serve.out"; then echo "  outputs identical"; else echo "  OUTPUTS DIFFER"; exit 1; fi
