#!/usr/bin/env bash
# bench/corpus.sh: real pictures → 800 px JPEG, whole processes, ours
# against libvips' `vips thumbnail`, picture by picture.
#
#   bench/corpus.sh                        # the whole corpus, RUNS=5
#   RUNS=1 PICTURES="kleiber.jpg *.png" bench/corpus.sh   # a smoke test
#   bench/corpus.sh fetch                  # only assemble and check the corpus
#   bench/corpus.sh list                   # the manifest's picture names
#
# The corpus (bench/corpus.txt: wallpapers and photographs, 0.3–16 MB,
# baseline and progressive JPEG in 4:2:0, 4:2:2 and 4:4:4, PNG) comes from
# Debian packages at pinned versions, downloaded with `apt-get download` into
# CORPUS_DIR (default ${XDG_CACHE_HOME:-$HOME/.cache}/opaprules/corpus; about
# 80 MB kept, about 200 MB downloaded once) and checked against the
# manifest's SHA-256, so every machine measures the same files. A version
# that the apt sources no longer carry is an error, not a substitute.
#
# Per picture, as bench/images.sh's "Whole process" section on generated
# inputs: `opaprules dry-run --rules R --input IN --output OUT
# "IN?w=800&fmt=jpeg"` (rule: resize width ${ query.w } fit, convert jpeg
# quality 80, keep_metadata: []) against `vips thumbnail IN
# OUT[Q=80,strip,optimize_coding] 800 --height 10000000` (width 800 whatever
# the height, as ours), start-up included. bench/wholeproc.py runs each once
# to warm up, then RUNS rounds taking turns; reported: median and minimum
# wall time, median CPU time (user + system) and median peak RSS, and the
# ratios ours/vips. Then bytes, PSNR (RGB) and SSIM (luma) of both outputs
# against a full-resolution reference (the source decoded at full size and
# resized with Lanczos; bench/imagebench compare). A summary row gives the
# geometric means over the corpus and the largest time ratio, a second table
# the same by kind of picture. Exit status 3 when a picture failed, came out
# at the wrong size or more than 1 dB PSNR below libvips' (marked **!**).
#
# Environment: RUNS (5), PICTURES (shell patterns over the manifest's
# names; all by default), WIDTH (800), QUALITY=0 skips the quality
# columns, CORPUS_DIR. Needs go, python3, apt-get and dpkg-deb; installs
# libvips-tools with apt-get when run as root without it. Not part of
# .ci/run: it downloads the corpus and takes minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-5}
WIDTH=${WIDTH:-800}
QUALITY=${QUALITY:-1}
PICTURES=${PICTURES:-}
CORPUS_DIR=${CORPUS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/opaprules/corpus}
manifest=bench/corpus.txt
mode=${1:-run}

die() {
	echo "bench/corpus.sh: $*" >&2
	exit 1
}

# The manifest's rows whose NAME matches PICTURES, as
# "NAME PACKAGE VERSION PATH SHA256 BYTES".
selected() {
	local name pkg ver path sha size _ pat
	set -f # the patterns are for the names, not for files here
	while read -r name pkg ver path sha size _; do
		case $name in '' | '#'*) continue ;; esac
		if [ -n "$PICTURES" ]; then
			local hit=false
			for pat in ${PICTURES//,/ }; do
				# shellcheck disable=SC2254
				case $name in $pat) hit=true ;; esac
			done
			$hit || continue
		fi
		echo "$name $pkg $ver $path $sha $size"
	done <"$manifest"
	set +f
}

# ok FILE SHA256 BYTES: the file is there with that content.
ok() {
	[ -f "$1" ] && [ "$(stat -c %s "$1")" = "$3" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]
}

updated=false
# download PACKAGE VERSION DIR: the .deb of exactly that version, into DIR.
download() {
	local pkg=$1 ver=$2 dir=$3
	if (cd "$dir" && apt-get download -q "$pkg=$ver") </dev/null >"$dir/apt.log" 2>&1; then
		return 0
	fi
	# The package lists may be missing or stale on a fresh machine.
	if ! $updated && [ "$(id -u)" = 0 ]; then
		updated=true
		echo "apt-get update…" >&2
		apt-get update -qq </dev/null >&2 || true
		if (cd "$dir" && apt-get download -q "$pkg=$ver") </dev/null >"$dir/apt.log" 2>&1; then
			return 0
		fi
	fi
	cat "$dir/apt.log" >&2
	die "cannot download $pkg=$ver: the corpus needs exactly this version (bench/corpus.txt) and this machine's apt sources do not have it (Debian 12 bookworm carries it; run apt-get update as root if the package lists are missing)"
}

fetch() {
	local rows name pkg ver path sha size tmp deb
	rows=$(selected)
	[ -n "$rows" ] || die "no picture in $manifest matches PICTURES='$PICTURES' (bench/corpus.sh list)"
	mkdir -p "$CORPUS_DIR/pictures"
	if ! command -v apt-get >/dev/null || ! command -v dpkg-deb >/dev/null; then
		die "needs apt-get and dpkg-deb (Debian)"
	fi
	# Each package whose pictures are missing or differ: download, extract,
	# keep the pictures, drop the rest.
	while read -r pkg ver; do
		tmp=$(mktemp -d "$CORPUS_DIR/.fetch.XXXXXX")
		chmod 755 "$tmp" # apt's sandbox user writes the download
		echo "downloading $pkg=$ver…" >&2
		download "$pkg" "$ver" "$tmp"
		deb=$(find "$tmp" -maxdepth 1 -name "${pkg}_*.deb" | head -1)
		[ -n "$deb" ] || die "apt-get download $pkg=$ver left no .deb"
		dpkg-deb -x "$deb" "$tmp/x"
		while read -r name _ _ path sha size; do
			[ -f "$tmp/x/$path" ] || die "$pkg=$ver has no $path"
			ok "$tmp/x/$path" "$sha" "$size" ||
				die "$pkg=$ver: $path is not the file of the manifest (SHA-256 or size differ)"
			mv "$tmp/x/$path" "$CORPUS_DIR/pictures/$name"
		done < <(awk -v p="$pkg" -v v="$ver" '$2 == p && $3 == v' <<<"$rows")
		rm -rf "$tmp"
	done < <(while read -r name pkg ver path sha size; do
		ok "$CORPUS_DIR/pictures/$name" "$sha" "$size" || echo "$pkg $ver"
	done <<<"$rows" | sort -u)
	while read -r name _ _ _ sha size; do
		ok "$CORPUS_DIR/pictures/$name" "$sha" "$size" || die "$CORPUS_DIR/pictures/$name does not match the manifest"
	done <<<"$rows"
	# shellcheck disable=SC2046
	python3 bench/corpus.py check "$manifest" "$CORPUS_DIR/pictures" $(cut -d' ' -f1 <<<"$rows")
	echo "corpus: $(wc -l <<<"$rows") pictures in $CORPUS_DIR/pictures, checked against $manifest" >&2
}

case $mode in
list)
	selected | cut -d' ' -f1
	exit 0
	;;
fetch)
	fetch
	exit 0
	;;
run) ;;
*) die "unknown command $mode (run, fetch, list)" ;;
esac

fetch
if ! command -v vips >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "installing libvips-tools…" >&2
	(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libvips-tools) >&2
fi
command -v vips >/dev/null 2>&1 || die "needs libvips' vips command (Debian libvips-tools)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/out" "$work/res"
CGO_ENABLED=0 go build -tags nodynamic -o "$work/opaprules" .
go build -o "$work/imagebench" ./bench/imagebench
cat >"$work/rules.yaml" <<'YAML'
version: 1
rules:
  - name: thumbnail
    when: '"w" in query'
    actions:
      - resize: {width: "${ query.w }", mode: fit}
      - convert: {format: jpeg, quality: 80, keep_metadata: []}
YAML

load=$(cut -d' ' -f1-3 /proc/loadavg)
start=$(date -u +%Y-%m-%dT%H:%MZ)
names=()
while read -r name _; do
	names+=("$name")
	in=$CORPUS_DIR/pictures/$name
	echo "$name…" >&2
	python3 bench/wholeproc.py "$RUNS" \
		"$work/opaprules" dry-run --rules "$work/rules.yaml" --input "$in" \
		--output "$work/out/$name.ours.jpg" "$name?w=$WIDTH&fmt=jpeg" -- \
		vips thumbnail "$in" "$work/out/$name.vips.jpg[Q=80,strip,optimize_coding]" "$WIDTH" --height 10000000 \
		>"$work/res/$name.time" </dev/null || true
	if [ "$QUALITY" != 0 ] && [ -f "$work/out/$name.ours.jpg" ] && [ -f "$work/out/$name.vips.jpg" ]; then
		"$work/imagebench" compare "$in" "$work/out/$name.ours.jpg" "$work/out/$name.vips.jpg" \
			>"$work/res/$name.quality" </dev/null || true
	fi
done < <(selected)

echo
echo "Real pictures → ${WIDTH} px JPEG q80, whole processes: opaprules dry-run ($(git rev-parse --short HEAD 2>/dev/null || echo '?')) against vips thumbnail ($(vips --version)), RUNS=$RUNS, taking turns"
echo "$(nproc) cores, started $start, load average at start: $load, at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
python3 bench/corpus.py report "$manifest" "$work/res" "$WIDTH" "${names[@]}"
