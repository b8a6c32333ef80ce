#!/usr/bin/env bash
# bench/http.sh: image requests over HTTP, as users meet them. `opaprules
# serve` (the built binary: local OSS endpoint, handler, origin reads and
# WriteGetObjectResponse all in one process) under wrk, on issue #14's
# cases; with IMGPROXY_BIN, imgproxy on the same inputs, alternately in the
# same run, and the ratios.
#
#   bench/http.sh                                   # ours alone
#   IMGPROXY_BIN=/tmp/imgproxy-bin/imgproxy bench/http.sh
#   DURATION=20 ROUNDS=3 CONNS="2 8" CASES="jpeg800 jpeg300" bench/http.sh
#
# Cases: jpeg800 jpeg300 webp800 avif800 (the default set) and png800 (a
# 3840×2160 photo-like RGB PNG, written by image/png, → 800 px JPEG).
#
# Per case, both servers start fresh (so peak RSS is the case's own), get
# a warm-up, then for each connection count ROUNDS wrk runs of DURATION
# seconds each, the servers taking turns (which goes first alternates).
# Reported: median req/s, median p50 and p99 latency, CPU time per request
# (the server process's utime+stime over the run / requests) and peak RSS
# (VmHWM). Then one response of each is judged against a full-resolution
# reference (the source decoded at full size, resized with Lanczos):
# bytes, PSNR over RGB, SSIM over luma (imagebench compare). Without
# imgproxy that column is libvips' `vips thumbnail` output (same sizes,
# Q=80, strip, optimize_coding, as imgproxy saves), and bench/images.sh is
# the in-process time comparison with libvips.
#
# Needs go, python3, curl and wrk (Debian package wrk; installed with
# apt-get when run as root without it). Our defaults: JPEG and WebP q80,
# AVIF q60 speed 10. imgproxy's: JPEG q80, WebP q79, AVIF q63 speed 8; the
# URLs ask both for q80 JPEG and WebP, AVIF at each side's defaults.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-"2 8"}
CASES=${CASES:-"jpeg800 jpeg300 webp800 avif800"}
WARMUP=${WARMUP:-3}
OURS_PORT=${OURS_PORT:-18101}
IMGPROXY_PORT=${IMGPROXY_PORT:-18102}
IMGPROXY_BIN=${IMGPROXY_BIN:-}

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v curl >/dev/null || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "installing ${need[*]}…" >&2
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}") >&2
	else
		echo "bench/http.sh needs ${need[*]}" >&2
		exit 1
	fi
fi
if [ -n "$IMGPROXY_BIN" ] && [ ! -x "$IMGPROXY_BIN" ]; then
	echo "IMGPROXY_BIN=$IMGPROXY_BIN is not an executable" >&2
	exit 1
fi

work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

CGO_ENABLED=0 go build -tags nodynamic -o "$work/opaprules" .
go build -o "$work/imagebench" ./bench/imagebench
"$work/imagebench" gen "$work/bucket" >/dev/null
case " $CASES " in
*" png800 "*) "$work/imagebench" photo 3840 2160 "$work/bucket/photo-3840x2160.png" >/dev/null ;;
esac
mkdir -p "$work/out"
cat >"$work/rules.yaml" <<'YAML'
version: 1
limits:
  max_source_pixels: 50M
rules:
  - name: box
    when: '"w" in query && "h" in query'
    final: true
    actions:
      - resize: {width: "${ query.w }", height: "${ query.h }", mode: fit}
      - convert: {format: "${ query.fmt }", quality: "${ query.q }", keep_metadata: []}
  - name: width-quality
    when: '"w" in query && "q" in query'
    final: true
    actions:
      - resize: {width: "${ query.w }", mode: fit}
      - convert: {format: "${ query.fmt }", quality: "${ query.q }", keep_metadata: []}
  - name: width
    when: '"w" in query'
    actions:
      - resize: {width: "${ query.w }", mode: fit}
      - convert: {format: "${ query.fmt }", keep_metadata: []}
YAML

# case NAME → "SOURCE|OUR_PATH|IMGPROXY_PATH|VIPS_THUMBNAIL_SIZE_ARGS|VIPS_OUTPUT|LABEL"
case_spec() {
	local big=photo-4000x3000.jpg small=photo-1200x800.jpg png=photo-3840x2160.png
	case $1 in
	jpeg800) echo "$big|/$big?w=800&fmt=jpeg&q=80|/insecure/rs:fit:800:0/q:80/plain/local:///$big@jpg|800|jpg[Q=80,strip,optimize_coding]|4000×3000 JPEG → 800 wide JPEG q80" ;;
	jpeg300) echo "$small|/$small?w=300&h=200&fmt=jpeg&q=80|/insecure/rs:fit:300:200/q:80/plain/local:///$small@jpg|300 --height 200|jpg[Q=80,strip,optimize_coding]|1200×800 JPEG → fit 300×200 JPEG q80" ;;
	webp800) echo "$big|/$big?w=800&fmt=webp&q=80|/insecure/rs:fit:800:0/q:80/plain/local:///$big@webp|800|webp[Q=80,strip]|4000×3000 JPEG → 800 wide WebP q80" ;;
	avif800) echo "$big|/$big?w=800&fmt=avif|/insecure/rs:fit:800:0/plain/local:///$big@avif|800|avif[Q=63,effort=1,strip]|4000×3000 JPEG → 800 wide AVIF, each side's defaults" ;;
	png800) echo "$png|/$png?w=800&fmt=jpeg&q=80|/insecure/rs:fit:800:0/q:80/plain/local:///$png@jpg|800|jpg[Q=80,strip,optimize_coding]|3840×2160 RGB PNG → 800 wide JPEG q80" ;;
	*)
		echo "unknown case $1 (jpeg800 jpeg300 webp800 avif800 png800)" >&2
		exit 2
		;;
	esac
}

wait_up() { # URL
	for _ in $(seq 100); do
		curl -sf -o /dev/null "$1" && return 0
		sleep 0.1
	done
	echo "server at $1 did not answer" >&2
	return 1
}

start_ours() {
	"$work/opaprules" serve --rules "$work/rules.yaml" --origin "$work/bucket" \
		--addr "127.0.0.1:$OURS_PORT" 2>>"$work/ours.log" &
	ours_pid=$!
	pids+=("$ours_pid")
}

start_imgproxy() {
	IMGPROXY_BIND="127.0.0.1:$IMGPROXY_PORT" IMGPROXY_LOCAL_FILESYSTEM_ROOT="$work/bucket" \
		IMGPROXY_MAX_SRC_RESOLUTION=50 IMGPROXY_LOG_LEVEL=error \
		"$IMGPROXY_BIN" 2>>"$work/imgproxy.log" >&2 &
	imgproxy_pid=$!
	pids+=("$imgproxy_pid")
}

stop() { # PID
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hwm_mib() { awk '/^VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }
rss_mib() { awk '/^VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }

# one_run PID URL CONNS → "rps p50_ms p99_ms cpu_ms_per_req non2xx"
one_run() {
	local pid=$1 url=$2 c=$3 t0 t1 out
	t0=$(cpu_ticks "$pid")
	out=$(wrk -t1 -c"$c" -d"${DURATION}s" --latency "$url")
	t1=$(cpu_ticks "$pid")
	python3 - "$out" "$t0" "$t1" "$(getconf CLK_TCK)" <<'PY'
import re, sys
out, t0, t1, hz = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def ms(v, unit):
    return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
lat = dict((p, ms(v, u)) for p, v, u in re.findall(r"^\s+(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s)\s*$", out, re.M))
reqs = int(re.search(r"(\d+) requests in", out).group(1))
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
cpu = (t1 - t0) * 1000.0 / hz / reqs if reqs else float("nan")
print(f"{rps:.2f} {lat.get('50', float('nan')):.2f} {lat.get('99', float('nan')):.2f} {cpu:.2f} {bad.group(1) if bad else 0}")
PY
}

echo
against="nothing (set IMGPROXY_BIN)"
if [ -n "$IMGPROXY_BIN" ]; then against="imgproxy $("$IMGPROXY_BIN" version 2>/dev/null || echo '?')"; fi
echo "opaprules serve ($(git rev-parse --short HEAD 2>/dev/null || echo '?')) vs $against over HTTP, wrk -t1, ${DURATION}s a run, median of $ROUNDS, servers alternated"
echo "$(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

results=$work/results.txt
: >"$results"
for name in $CASES; do
	IFS='|' read -r src ours_path imgp_path vsize vsuffix label <<<"$(case_spec "$name")"
	ours_url="http://127.0.0.1:$OURS_PORT$ours_path"
	imgp_url="http://127.0.0.1:$IMGPROXY_PORT$imgp_path"
	start_ours
	wait_up "$ours_url"
	ours_idle=$(rss_mib "$ours_pid")
	servers=(ours)
	if [ -n "$IMGPROXY_BIN" ]; then
		start_imgproxy
		wait_up "$imgp_url"
		imgp_idle=$(rss_mib "$imgproxy_pid")
		servers+=(imgproxy)
	fi
	for s in "${servers[@]}"; do
		if [ "$s" = ours ]; then
			wrk -t1 -c2 -d"${WARMUP}s" "$ours_url" >/dev/null
		else
			wrk -t1 -c2 -d"${WARMUP}s" "$imgp_url" >/dev/null
		fi
	done
	for c in $CONNS; do
		for r in $(seq "$ROUNDS"); do
			order=("${servers[@]}")
			if [ $((r % 2)) = 0 ] && [ ${#servers[@]} = 2 ]; then order=(imgproxy ours); fi
			for s in "${order[@]}"; do
				if [ "$s" = ours ]; then
					echo "$name $c ours $(one_run "$ours_pid" "$ours_url" "$c")" >>"$results"
				else
					echo "$name $c imgproxy $(one_run "$imgproxy_pid" "$imgp_url" "$c")" >>"$results"
				fi
			done
		done
	done
	echo "$name rss ours $ours_idle $(hwm_mib "$ours_pid")" >>"$results"
	curl -sf -o "$work/out/$name-ours" "$ours_url"
	stop "$ours_pid"
	if [ -n "$IMGPROXY_BIN" ]; then
		echo "$name rss imgproxy $imgp_idle $(hwm_mib "$imgproxy_pid")" >>"$results"
		curl -sf -o "$work/out/$name-ref" "$imgp_url"
		stop "$imgproxy_pid"
	elif command -v vips >/dev/null; then
		# shellcheck disable=SC2086
		vips thumbnail "$work/bucket/$src" "$work/out/$name-ref.$vsuffix" $vsize 2>/dev/null &&
			mv "$work/out/$name-ref.${vsuffix%%\[*}" "$work/out/$name-ref" || true
	fi
	if [ -f "$work/out/$name-ref" ]; then
		"$work/imagebench" compare "$work/bucket/$src" "$work/out/$name-ours" "$work/out/$name-ref" |
			sed "s/^/$name quality /" >>"$results" || true
	else
		"$work/imagebench" compare "$work/bucket/$src" "$work/out/$name-ours" |
			sed "s/^/$name quality /" >>"$results" || true
	fi
	echo "$label: done" >&2
done

python3 - "$results" "${IMGPROXY_BIN:+imgproxy}" "$CASES" <<'PY'
import json, statistics, sys
from collections import defaultdict
path, ref, cases = sys.argv[1], sys.argv[2] or "", sys.argv[3].split()
runs = defaultdict(list); rss = {}; qual = defaultdict(list)
for line in open(path):
    f = line.split(maxsplit=3)
    if f[1] == "rss":
        idle, peak = f[3].split()
        rss[(f[0], f[2])] = (float(idle), float(peak))
    elif f[1] == "quality":
        qual[f[0]].append(json.loads(f[2] + (" " + f[3] if len(f) > 3 else "")))
    else:
        v = list(map(float, f[3].split()))
        runs[(f[0], int(f[1]), f[2])].append(v)
def med(case, c, who, i):
    xs = [r[i] for r in runs.get((case, c, who), [])]
    return statistics.median(xs) if xs else None
def fmt(x, d=1): return "n/a" if x is None else f"{x:.{d}f}"
def ratio(a, b): return "n/a" if a is None or not b else f"{a/b:.2f}×"
conns = sorted({k[1] for k in runs})
refname = ref or "—"
print(f"| case | conns | ours req/s | {refname} req/s | req/s ours/{refname} | p50 ms ours / {refname} | p99 ms ours / {refname} | CPU ms/req ours / {refname} |")
print("|---|---:|---:|---:|---:|---|---|---|")
for case in cases:
    for c in conns:
        o = [med(case, c, "ours", i) for i in range(4)]
        r = [med(case, c, ref, i) for i in range(4)] if ref else [None] * 4
        print(f"| {case} | {c} | {fmt(o[0])} | {fmt(r[0])} | {ratio(o[0], r[0])} | {fmt(o[1])} / {fmt(r[1])} | {fmt(o[2])} / {fmt(r[2])} | {fmt(o[3])} / {fmt(r[3])} |")
bad = sum(int(v[4]) for k, vs in runs.items() for v in vs)
if bad:
    print(f"\nWARNING: {bad} responses were not 2xx/3xx: the figures above are not valid.")
refq = ref or "libvips (vips thumbnail)"
print()
print(f"| case | peak RSS MiB ours / {refname} | RSS ours/{refname} | idle RSS MiB ours / {refname} | bytes ours / {refq} | bytes ours/ref | PSNR dB ours / ref | SSIM ours / ref |")
print("|---|---|---:|---|---|---:|---|---|")
for case in cases:
    oi, op = rss.get((case, "ours"), (None, None))
    ri, rp = rss.get((case, ref), (None, None)) if ref else (None, None)
    q = qual.get(case, [])
    qo = q[0] if q else {}
    qr = q[1] if len(q) > 1 else {}
    print(f"| {case} | {fmt(op, 0)} / {fmt(rp, 0)} | {ratio(op, rp)} | {fmt(oi, 0)} / {fmt(ri, 0)} | {qo.get('bytes', 'n/a')} / {qr.get('bytes', 'n/a')} | {ratio(qo.get('bytes'), qr.get('bytes'))} "
          f"| {qo.get('psnr', 'n/a')} / {qr.get('psnr', 'n/a')} | {qo.get('ssim', 'n/a')} / {qr.get('ssim', 'n/a')} |")
PY
