#!/usr/bin/env bash
# bench/images.sh: the image pipelines, ours against libvips, on the same
# generated inputs in one run.
#
#   bench/images.sh            # RUNS=7 iterations per case
#   RUNS=11 bench/images.sh
#
# Ours runs in process (bench/imagebench): one process per case, RUNS
# iterations, the first one reported apart (it carries one-off costs such
# as compiling the AVIF codec), the median of the rest, and the process's
# peak RSS. libvips runs through its command-line tools (Debian
# libvips-tools): vipsthumbnail takes COPIES files per process, and the
# start-up cost of each tool, measured on a 16×16 input, is subtracted, so
# both sides report per-image work. Peak RSS is whole-process on both
# sides (ours includes the Go runtime, libvips its shared libraries).
# Last, whole processes with their start-up: opaprules dry-run against
# vips thumbnail, taking turns (bench/wholeproc.py; bench/corpus.sh does the
# same over real pictures).
#
# Needs go and python3; installs libvips-tools with apt-get when run as
# root without it (otherwise the libvips columns say n/a).
set -euo pipefail

RUNS=${RUNS:-7}
COPIES=${COPIES:-5}
cd "$(dirname "$0")/.."
repo=$PWD

if ! command -v vips >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "installing libvips-tools…" >&2
	(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libvips-tools) >&2 || true
fi
have_vips=false
command -v vips >/dev/null 2>&1 && command -v vipsthumbnail >/dev/null 2>&1 && have_vips=true

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/out"

CGO_ENABLED=0 go build -tags nodynamic -o "$work/imagebench" ./bench/imagebench
"$work/imagebench" gen "$work"
read -r wm_x wm_y < <("$work/imagebench" overlay "$work/wm.png")
nv="n/a n/a n/a"

# measure RUNS CMD...: median and minimum wall time (ms) and largest max
# RSS (MiB) of RUNS runs of CMD, as "median min mib". On a shared, noisy
# machine the minimum is the steadier estimate of the work itself.
cat >"$work/measure.py" <<'PY'
import os, statistics, subprocess, sys, time
runs = int(sys.argv[1]); cmd = sys.argv[2:]
times, rss = [], 0
for _ in range(runs):
    start = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(p.pid, 0)
    times.append((time.perf_counter() - start) * 1000)
    if status != 0:
        print("fail fail fail"); sys.exit(0)
    rss = max(rss, usage.ru_maxrss / 1024)
print(f"{statistics.median(times):.1f} {min(times):.1f} {rss:.1f}")
PY
measure() { python3 "$work/measure.py" "$@"; }

if $have_vips; then
	vips copy "$work/photo-4000x3000.jpg" "$work/progressive-4000x3000.jpg[Q=90,interlace]"
	vips black "$work/tiny.v" 16 16 --bands 3
	vips copy "$work/tiny.v" "$work/tiny.jpg"
	vips copy "$work/tiny.v" "$work/tiny.png"
	for i in $(seq "$COPIES"); do
		cp "$work/photo-4000x3000.jpg" "$work/big-$i.jpg"
		cp "$work/portrait-4000x3000.jpg" "$work/portrait-$i.jpg"
		cp "$work/progressive-4000x3000.jpg" "$work/prog-$i.jpg"
		cp "$work/alpha-2000x2000.png" "$work/alpha-$i.png"
	done
fi

# vips_thumb NAME SIZE SUFFIX INPUTGLOB: per-image ms and peak MiB of
# vipsthumbnail over COPIES files, start-up subtracted.
vips_thumb() {
	local size=$1 out=$2 glob=$3 base full
	base=$(measure "$RUNS" vipsthumbnail -s "$size" -o "$work/out/%s.$out" "$work/tiny.jpg")
	# shellcheck disable=SC2086
	full=$(measure "$RUNS" vipsthumbnail -s "$size" -o "$work/out/%s.$out" $glob)
	python3 -c "
bm,bn,_=map(float,'$base'.split()); fm,fn,r=map(float,'$full'.split())
print(f'{(fm-bm)/$COPIES:.1f} {(fn-bn)/$COPIES:.1f} {r:.1f}')" 2>/dev/null || echo "$nv"
}

# vips_watermark: composite the same overlay on the 1920×1080 JPEG, flatten
# to JPEG q80 (two tool runs), start-up of both subtracted.
vips_watermark() {
	local b1 b2 f1 f2
	vips crop "$work/wm.png" "$work/tinyov.png" 0 0 4 4
	b1=$(measure "$RUNS" vips composite2 "$work/tiny.jpg" "$work/tinyov.png" "$work/t.v" over --x 1 --y 1)
	f1=$(measure "$RUNS" vips composite2 "$work/photo-1920x1080.jpg" "$work/wm.png" "$work/w.v" over --x "$wm_x" --y "$wm_y")
	b2=$(measure "$RUNS" vips extract_band "$work/t.v" "$work/out/t.jpg[Q=80,strip]" 0 --n 3)
	f2=$(measure "$RUNS" vips extract_band "$work/w.v" "$work/out/w.jpg[Q=80,strip]" 0 --n 3)
	python3 -c "
b1=list(map(float,'$b1'.split())); f1=list(map(float,'$f1'.split())); b2=list(map(float,'$b2'.split())); f2=list(map(float,'$f2'.split()))
print(f'{(f1[0]-b1[0])+(f2[0]-b2[0]):.1f} {(f1[1]-b1[1])+(f2[1]-b2[1]):.1f} {max(f1[2],f2[2]):.1f}')" 2>/dev/null || echo "$nv"
}

ours() { # CASE INPUT → the JSON line
	"$work/imagebench" run "$1" "$work/$2" "$RUNS"
}

field() { python3 -c "import json,sys; print(json.loads(sys.argv[1]).get('$2', ''))" "$1"; }

row() { # LABEL OURS_JSON VIPS("median min mib")
	python3 - "$1" "$2" "$3" <<'PY'
import json, sys
label, j, v = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3].split()
def num(x):
    try: return float(x)
    except ValueError: return None
vm, vn, vr = (num(x) for x in v)
def ratio(a, b): return f"{a/b:.2f}×" if a is not None and b else "n/a"
def show(x): return "n/a" if x is None else f"{x:.0f}"
print(f"| {label} | {show(j['median_ms'])} / {show(j['min_ms'])} | {show(vm)} / {show(vn)} | {ratio(j['median_ms'], vm)} / {ratio(j['min_ms'], vn)} "
      f"| {j['peak_rss_mib']:.0f} | {show(vr)} | {ratio(j['peak_rss_mib'], vr)} | {j['out_bytes']} |")
PY
}

echo
echo "opaprules image pipelines vs libvips ($(vips --version 2>/dev/null || echo 'no libvips')), $(nproc) cores, RUNS=$RUNS, $(date -u +%Y-%m-%dT%H:%MZ)"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| case | ours ms median / min | libvips ms median / min | time ours/libvips median / min | ours peak RSS MiB | libvips peak RSS MiB | RSS ours/libvips | ours bytes |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
j=$(ours jpeg800 photo-4000x3000.jpg)
row "4000×3000 JPEG → 800 px JPEG q80 (Lanczos)" "$j" "$($have_vips && vips_thumb 800x 'jpg[Q=80,strip]' "$work/big-*.jpg" || echo "$nv")"
j=$(ours jpeg800-linear photo-4000x3000.jpg)
row "same, our Linear filter" "$j" "$nv"
j=$(ours jpeg800-box photo-4000x3000.jpg)
row "same, our Box filter" "$j" "$nv"
j=$(ours jpeg200 photo-4000x3000.jpg)
row "same → 200 px JPEG q80" "$j" "$($have_vips && vips_thumb 200x 'jpg[Q=80,strip]' "$work/big-*.jpg" || echo "$nv")"
j=$(ours portrait600 portrait-4000x3000.jpg)
row "same stored sideways (EXIF orientation 6) → 600×800 JPEG q80" "$j" "$($have_vips && vips_thumb 600x 'jpg[Q=80,strip]' "$work/portrait-*.jpg" || echo "$nv")"
j=$(ours webp800 photo-4000x3000.jpg)
row "4000×3000 JPEG → 800 px WebP q80" "$j" "$($have_vips && vips_thumb 800x 'webp[Q=80,strip]' "$work/big-*.jpg" || echo "$nv")"
j=$(ours png400 alpha-2000x2000.png)
row "2000×2000 PNG with alpha → 400 px PNG" "$j" "$($have_vips && vips_thumb 400x 'png[strip]' "$work/alpha-*.png" || echo "$nv")"
j=$(ours watermark photo-1920x1080.jpg)
row "1920×1080 JPEG + text watermark → JPEG q80" "$j" "$($have_vips && vips_watermark || echo "$nv")"
if $have_vips; then
	j=$(ours progressive800 progressive-4000x3000.jpg)
	row "progressive 4000×3000 JPEG → 800 px JPEG q80" "$j" "$(vips_thumb 800x 'jpg[Q=80,strip]' "$work/prog-*.jpg")"
fi
javif=$(ours avif800 photo-4000x3000.jpg)
row "4000×3000 JPEG → 800 px AVIF q60 (steady state)" "$javif" "$($have_vips && vips_thumb 800x 'avif[Q=60,effort=0,strip]' "$work/big-*.jpg" || echo "$nv")"

echo
echo "Resize step alone, 4000×3000 JPEG → 800×600, on the full decode (imaging.Resize) and on the shrink-on-load decode (imageio.ResampleOpaque) (ms median / min, PSNR against the full decode resized with Lanczos):"
echo
echo "| decode | filter | ms median | ms min | PSNR vs full + lanczos |"
echo "|---|---|---:|---:|---:|"
"$work/imagebench" filters "$work/photo-4000x3000.jpg" "$RUNS"

echo
echo "AVIF first request in a fresh process (ours: libavif in WebAssembly, compiled on first use):"
echo "- without warming: first request $(field "$javif" first_ms) ms, then $(field "$javif" median_ms) ms; peak RSS $(field "$javif" peak_rss_mib) MiB"
jw=$("$work/imagebench" run avif-warm-first "$work/photo-4000x3000.jpg" 2)
echo "- with the FC initializer warming (Warm): initializer $(field "$jw" warm_ms) ms, then first request $(field "$jw" first_ms) ms; peak RSS $(field "$jw" peak_rss_mib) MiB"
if $have_vips; then
	echo "- libvips (native, nothing to compile): one vipsthumbnail process for one image, start-up included: $(measure "$RUNS" vipsthumbnail -s 800x -o "$work/out/%s.avif[Q=60,effort=0,strip]" "$work/photo-4000x3000.jpg" | awk '{print $1 " ms (min " $2 "), peak RSS " $3 " MiB"}')"
fi

# Whole process, start-up included, as an operator runs it: opaprules
# dry-run (rules loaded, the plan run through engine.Run, the result
# written) against vips thumbnail, RUNS rounds taking turns after a warm-up
# (bench/wholeproc.py, shared with bench/corpus.sh). Medians of wall time
# and peak RSS (rusage, as /usr/bin/time reports it), and the minimum time.
if $have_vips; then
	CGO_ENABLED=0 go build -tags nodynamic -o "$work/opaprules" .
	cat >"$work/rules.yaml" <<'YAML'
version: 1
rules:
  - name: thumbnails
    when: ext in ["jpg", "jpeg"] && "w" in query
    actions:
      - resize: {width: "${ query.w }", mode: fit}
      - convert: {format: "${ query.fmt }", quality: 80}
YAML
	cp "$work/photo-4000x3000.jpg" "$work/big.jpg"
	cp "$work/progressive-4000x3000.jpg" "$work/prog.jpg"
	whole() { # LABEL INPUT
		(cd "$work" && python3 "$repo/bench/wholeproc.py" "$RUNS" \
			./opaprules dry-run --rules rules.yaml --input "$2" --output out/whole.jpg "$2?w=800&fmt=jpeg" -- \
			vips thumbnail "$2" "out/whole-vips.jpg[Q=80,strip]" 800) | python3 -c '
import json, sys
label = sys.argv[1]
o, v = (json.loads(l) for l in sys.stdin)
if "error" in o or "error" in v:
    oe, ve = o.get("error", ""), v.get("error", "")
    print(f"| {label} | {oe} | {ve} | n/a | n/a | n/a | n/a |")
    sys.exit()
om, on, orss = o["median_s"], o["min_s"], o["rss_median_mib"]
vm, vn, vrss = v["median_s"], v["min_s"], v["rss_median_mib"]
print(f"| {label} | {om:.2f} / {on:.2f} | {vm:.2f} / {vn:.2f} | {om/vm:.2f}× / {on/vn:.2f}× | {orss:.0f} | {vrss:.0f} | {orss/vrss:.2f}× |")' "$1"
	}
	echo
	# shellcheck disable=SC2016 # the backquotes and ${ } are markdown, not expansions
	echo 'Whole process: `opaprules dry-run --input big.jpg --output out.jpg "big.jpg?w=800&fmt=jpeg"` (rule: resize width ${ query.w }, convert format ${ query.fmt } quality 80) against `vips thumbnail big.jpg out.jpg[Q=80,strip] 800`, taking turns (bench/wholeproc.py), RUNS='"$RUNS"':'
	echo
	echo "| input | ours s median / min | vips s median / min | time ours/vips median / min | ours RSS MiB (median) | vips RSS MiB (median) | RSS ours/vips |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	whole "4000×3000 baseline → 800 px JPEG q80" big.jpg
	whole "4000×3000 progressive → 800 px JPEG q80" prog.jpg
fi
