#!/usr/bin/env bash
# bench/decoders.sh: source decoders against the reference implementations,
# on generated inputs, in one run, reported as ratios.
#
#   bench/decoders.sh                 # ROUNDS=5 alternations, N=5 decodes each
#   ROUNDS=9 N=7 bench/decoders.sh
#   CALLGRIND=1 bench/decoders.sh     # also instruction counts (load-independent; slow)
#
# WebP: a 4096×4096 lossy WebP (cwebp -q 80 of a photo-like picture),
# decoded by github.com/deepteams/webp at the version go.mod pins and at
# OLD_WEBP (default v1.2.5, the version before the colour-range fix), each
# built from bench/webpdecode, and by libwebp's dwebp (its own "Time to
# decode picture"). The two Go builds run in turn, ROUNDS times; each run
# decodes N times in one process and reports its median; the table gives
# the median of those medians, and the ratio of the two.
#
# HEIC: a 4032×3024 (12 MP) HEIC that heif-enc -q 50 makes of a
# photo-like picture (heif-enc writes one coded image, not the 512×512
# grid phones write; the decode work is the same HEVC), decoded in process
# by imagebench (gen2brain/heic, WebAssembly, after the warm-up the FC
# initializer does: N decodes, median; the first in a process and the
# warm-up reported apart) and by libheif's heif-convert to y4m (decode
# only, no RGB conversion or PNG encode), whole process, ROUNDS times.
#
# Needs go, python3 and Debian's webp and libheif-examples packages
# (installed with apt-get when run as root without them).
set -euo pipefail

ROUNDS=${ROUNDS:-5}
N=${N:-5}
OLD_WEBP=${OLD_WEBP:-v1.2.5}
cd "$(dirname "$0")/.."
root=$PWD

need=()
command -v cwebp >/dev/null 2>&1 || need+=(webp)
command -v heif-enc >/dev/null 2>&1 || need+=(libheif-examples)
if [ ${#need[@]} -gt 0 ]; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "installing ${need[*]}…" >&2
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}") >&2
	else
		echo "bench/decoders.sh: needs Debian packages ${need[*]}" >&2
		exit 1
	fi
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

CGO_ENABLED=0 go build -tags nodynamic -o "$work/imagebench" ./bench/imagebench
go build -o "$work/webp-new" ./bench/webpdecode
# The old version in a scratch module: this repository's go.mod is left alone.
mkdir "$work/old"
cp bench/webpdecode/main.go "$work/old/"
(cd "$work/old" && printf 'module webpdecode\n\ngo 1.26\n' >go.mod &&
	go get "github.com/deepteams/webp@$OLD_WEBP" 2>/dev/null && go build -o "$work/webp-old" .)

"$work/imagebench" photo 4096 4096 "$work/p4096.png"
cwebp -quiet -q 80 "$work/p4096.png" -o "$work/p4096.webp"

median() { python3 -c 'import statistics,sys; v=[float(x) for x in sys.argv[1:]]; print(f"{statistics.median(v):.1f}")' "$@"; }
field() { python3 -c 'import json,sys; print(json.loads(sys.stdin.read())[sys.argv[1]])' "$1"; }

old=() new=() ref=()
for _ in $(seq "$ROUNDS"); do
	old+=("$("$work/webp-old" "$work/p4096.webp" "$N" | field median_ms)")
	new+=("$("$work/webp-new" "$work/p4096.webp" "$N" | field median_ms)")
	ref+=("$(dwebp -v "$work/p4096.webp" -pam -o /dev/null 2>&1 | sed -n 's/^Time to decode picture: \([0-9.]*\)s/\1/p' | python3 -c 'print(float(input())*1000)')")
done
m_old=$(median "${old[@]}") m_new=$(median "${new[@]}") m_ref=$(median "${ref[@]}")
v_new=$("$work/webp-new" "$work/p4096.webp" 1 | field version)
echo
echo "## WebP 4096×4096 lossy ($(stat -c %s "$work/p4096.webp") bytes), decode only; $ROUNDS rounds × $N decodes"
echo "| decoder | median ms | vs deepteams/webp $OLD_WEBP | vs dwebp |"
echo "|---|---:|---:|---:|"
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
echo "| deepteams/webp $OLD_WEBP | $m_old | 1.00 | $(ratio "$m_old" "$m_ref") |"
echo "| deepteams/webp $v_new | $m_new | $(ratio "$m_new" "$m_old") | $(ratio "$m_new" "$m_ref") |"
echo "| libwebp dwebp (Debian $(dpkg-query -W -f '${Version}' libwebp7 2>/dev/null || echo '?')) | $m_ref | $(ratio "$m_ref" "$m_old") | 1.00 |"

if [ "${CALLGRIND:-}" = 1 ] && command -v valgrind >/dev/null 2>&1; then
	# Instructions for one decode, whatever the load; the process's
	# start-up and file read are counted too, the same in both builds.
	# valgrind 3.19 knows neither RDTSCP, which Go's runtime uses for
	# cputicks when the CPU has it, nor the signals of asynchronous
	# preemption: both are turned off.
	instr() {
		GODEBUG=asyncpreemptoff=1,cpu.rdtscp=off valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
			sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
	}
	i_old=$(instr "$work/webp-old" "$work/p4096.webp" 1)
	i_new=$(instr "$work/webp-new" "$work/p4096.webp" 1)
	echo
	echo "Instructions, one decode (callgrind): $OLD_WEBP $i_old, $v_new $i_new, ratio $(ratio "$i_new" "$i_old")"
fi

# HEIC 12 MP.
"$work/imagebench" photo 4032 3024 "$work/p12.png"
heif-enc -q 50 -o "$work/p12.heic" "$work/p12.png" >/dev/null 2>&1
ours=() ref=() first=() warm=() rss=()
for _ in $(seq "$ROUNDS"); do
	line=$("$work/imagebench" decode "$work/p12.heic" "$N")
	ours+=("$(echo "$line" | field median_ms)")
	first+=("$(echo "$line" | field first_ms)")
	warm+=("$(echo "$line" | field warm_ms)")
	rss+=("$(echo "$line" | field peak_rss_mib)")
	start=$(date +%s%N)
	heif-convert --quiet "$work/p12.heic" "$work/p12.y4m" >/dev/null 2>&1 || heif-convert "$work/p12.heic" "$work/p12.y4m" >/dev/null
	ref+=("$(( ($(date +%s%N) - start) / 1000000 ))")
done
m_ours=$(median "${ours[@]}") m_ref=$(median "${ref[@]}")
echo
echo "## HEIC 4032×3024 ($(stat -c %s "$work/p12.heic") bytes), decode; $ROUNDS rounds × $N decodes"
echo "| decoder | median ms | vs heif-convert |"
echo "|---|---:|---:|"
echo "| gen2brain/heic (wasm), warm | $m_ours | $(ratio "$m_ours" "$m_ref") |"
echo "| gen2brain/heic, first decode in a process (after warm-up) | $(median "${first[@]}") | $(ratio "$(median "${first[@]}")" "$m_ref") |"
echo "| heif-convert → y4m, whole process (libheif $(dpkg-query -W -f '${Version}' libheif1 2>/dev/null || echo '?')) | $m_ref | 1.00 |"
echo
echo "Warm-up (codec compile + a 64×64 decode): median $(median "${warm[@]}") ms; peak RSS of the decoding process: $(median "${rss[@]}") MiB."
