#!/usr/bin/env python3
"""bench/corpus.py: bench/corpus.sh's helpers, the parts easier in Python.

    corpus.py describe FILE...             "WxH kind" of each picture, from its header
    corpus.py check MANIFEST DIR NAME...   the pictures' header against the manifest
    corpus.py report MANIFEST DIR WIDTH NAME...   the markdown table of a run

A kind is the format and what decides a decoder's path: for JPEG the
process (base = baseline or extended sequential, prog = progressive), the
chroma subsampling (444, 422, 420, 440, 411; gray; cmyk/ycck), an embedded
ICC profile and an EXIF orientation other than 1; for PNG the colour type,
bit depth and interlacing.
"""
import json
import math
import os
import statistics
import struct
import sys


def describe(path):
    with open(path, "rb") as f:
        d = f.read()
    if d[:8] == b"\x89PNG\r\n\x1a\n":
        w, h, depth, ct = struct.unpack(">IIBB", d[16:26])
        kind = "png-" + {0: "gray", 2: "rgb", 3: "palette", 4: "graya", 6: "rgba"}.get(ct, f"ct{ct}")
        if depth != 8:
            kind += f"-{depth}bit"
        if d[28]:
            kind += "-interlaced"
        return w, h, kind
    if d[:2] != b"\xff\xd8":
        raise ValueError(f"{path}: neither JPEG nor PNG")
    i, w, h = 2, 0, 0
    process, chroma, icc, orient, adobe = "", "", False, 1, None
    while i + 4 <= len(d):
        if d[i] != 0xFF:
            raise ValueError(f"{path}: bad marker at {i}")
        m = d[i + 1]
        if m == 0xFF:
            i += 1
            continue
        i += 2
        if m == 0xD8 or 0xD0 <= m <= 0xD7:
            continue
        n = struct.unpack(">H", d[i:i + 2])[0]
        seg = d[i + 2:i + n]
        if m in (0xC0, 0xC1, 0xC2):
            process = "prog" if m == 0xC2 else "base"
            h, w = struct.unpack(">HH", seg[1:5])
            comps = [(seg[6 + 3 * k + 1] >> 4, seg[6 + 3 * k + 1] & 15) for k in range(seg[5])]
            if len(comps) == 1:
                chroma = "gray"
            elif len(comps) == 4:
                chroma = "cmyk"
            else:
                chroma = {(1, 1): "444", (2, 1): "422", (2, 2): "420", (1, 2): "440", (4, 1): "411"}.get(
                    comps[0] if all(c == (1, 1) for c in comps[1:]) else None, "x".join(f"{a}{b}" for a, b in comps))
        elif m == 0xE1 and seg[:6] == b"Exif\0\0":
            t = seg[6:]
            e = "<" if t[:2] == b"II" else ">"
            off = struct.unpack(e + "I", t[4:8])[0]
            for k in range(struct.unpack(e + "H", t[off:off + 2])[0]):
                p = off + 2 + 12 * k
                if struct.unpack(e + "H", t[p:p + 2])[0] == 0x112:
                    orient = struct.unpack(e + "H", t[p + 8:p + 10])[0]
        elif m == 0xE2 and seg[:12] == b"ICC_PROFILE\0":
            icc = True
        elif m == 0xEE and seg[:5] == b"Adobe" and len(seg) >= 12:
            adobe = seg[11]
        elif m == 0xDA:
            break
        i += n
    if chroma == "cmyk" and adobe == 2:
        chroma = "ycck"
    kind = f"jpeg-{process}-{chroma}"
    if icc:
        kind += "-icc"
    if orient != 1:
        kind += f"-orient{orient}"
    return w, h, kind


def read_manifest(path):
    rows = {}
    for line in open(path):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, pkg, ver, inner, sha, size, dims, kind = line.split()
        rows[name] = dict(name=name, pkg=pkg, ver=ver, path=inner, sha=sha, size=int(size), dims=dims, kind=kind)
    return rows


def check(manifest, folder, names):
    rows, bad = read_manifest(manifest), 0
    for n in names:
        w, h, kind = describe(os.path.join(folder, n))
        r = rows[n]
        if f"{w}x{h}" != r["dims"] or kind != r["kind"]:
            print(f"{n}: the manifest says {r['dims']} {r['kind']}, the file is {w}x{h} {kind}", file=sys.stderr)
            bad += 1
    sys.exit(1 if bad else 0)


def load_json_lines(path):
    try:
        with open(path) as f:
            return [json.loads(l) for l in f if l.strip()]
    except (OSError, ValueError):
        return []


def geomean(xs):
    xs = [x for x in xs if x]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def report(manifest, folder, width, names):
    rows = read_manifest(manifest)
    width = int(width)
    out, problems, ratios = [], [], []
    for n in names:
        r = rows[n]
        w, h = map(int, r["dims"].split("x"))
        t = {j["side"]: j for j in load_json_lines(os.path.join(folder, n + ".time"))}
        q = load_json_lines(os.path.join(folder, n + ".quality"))
        o, v = t.get("a", {}), t.get("b", {})
        qo = q[0] if q else {}
        qv = q[1] if len(q) > 1 else {}
        flag = ""
        for side, j in (("ours", o), ("vips", v)):
            if "error" in j or not j:
                problems.append(f"{n}: {side} failed: {j.get('error', 'no result')}")
                flag = " **!**"
        want = (width, round(h * width / w))
        if qo:
            ow, oh = map(int, qo["size"].split("x"))
            if ow != want[0] or abs(oh - want[1]) > 1:
                problems.append(f"{n}: ours is {qo['size']}, expected {want[0]}x{want[1]}")
                flag = " **!**"
            if qv and qo["psnr"] < qv["psnr"] - 1:
                problems.append(f"{n}: ours {qo['psnr']} dB PSNR against libvips' {qv['psnr']} dB")
                flag = " **!**"
        elif os.path.exists(os.path.join(folder, n + ".quality")):
            problems.append(f"{n}: no quality figures (imagebench compare failed)")
        tr = o["median_s"] / v["median_s"] if "median_s" in o and "median_s" in v else None
        tn = o["min_s"] / v["min_s"] if "min_s" in o and "min_s" in v else None
        cr = o["cpu_median_s"] / v["cpu_median_s"] if "cpu_median_s" in o and v.get("cpu_median_s") else None
        rr = o["rss_median_mib"] / v["rss_median_mib"] if "rss_median_mib" in o and v.get("rss_median_mib") else None
        br = qo["bytes"] / qv["bytes"] if qo and qv else None
        ratios.append(dict(name=n, kind=r["kind"], t=tr, tn=tn, c=cr, r=rr, b=br,
                           po=qo.get("psnr"), pv=qv.get("psnr"), so=qo.get("ssim"), sv=qv.get("ssim")))

        def s(j, k, d=2):
            return f"{j[k]:.{d}f}" if k in j else "n/a"

        def x(a, d=2):
            return f"{a:.{d}f}×" if a is not None else "n/a"

        out.append(
            f"| {n}{flag} | {r['kind']} | {r['size'] / 1e6:.1f} | {w}×{h} "
            f"| {s(o, 'median_s')} / {s(o, 'min_s')} | {s(v, 'median_s')} / {s(v, 'min_s')} "
            f"| {x(tr)} / {x(tn)} | {x(cr)} | {s(o, 'rss_median_mib', 0)} / {s(v, 'rss_median_mib', 0)} "
            f"| {qo.get('bytes', 'n/a')} / {qv.get('bytes', 'n/a')} ({x(br)}) "
            f"| {qo.get('psnr', 'n/a')} / {qv.get('psnr', 'n/a')} | {qo.get('ssim', 'n/a')} / {qv.get('ssim', 'n/a')} |")

    print("| picture | kind | MB | pixels | ours s median / min | vips s median / min | time ours/vips median / min "
          "| CPU ours/vips | RSS MiB ours / vips | bytes ours / vips | PSNR dB ours / vips | SSIM ours / vips |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(out))

    def summary(label, rs):
        def g(k):
            v = geomean([r[k] for r in rs])
            return f"{v:.2f}×" if v else "n/a"

        def mean(k):
            xs = [r[k] for r in rs if r[k] is not None]
            return statistics.mean(xs) if xs else None

        po, pv, so, sv = mean("po"), mean("pv"), mean("so"), mean("sv")
        worst = max((r for r in rs if r["t"]), key=lambda r: r["t"], default=None)
        return (label, g("t"), g("tn"), g("c"), g("r"), g("b"),
                f"{po:.2f} / {pv:.2f}" if po and pv else "n/a",
                f"{so:.4f} / {sv:.4f}" if so and sv else "n/a",
                f"{worst['t']:.2f}× ({worst['name']})" if worst else "n/a")

    tot = summary(f"**geometric mean, {len(ratios)} pictures**", ratios)
    print(f"| {tot[0]} | | | | | | **{tot[1]}** / {tot[2]} | {tot[3]} | {tot[4]} | {tot[5]} | {tot[6]} (mean) | {tot[7]} (mean) |")
    print()
    print(f"Largest time ratio (median): {tot[8]}.")
    print()
    print("By kind (geometric means of the ratios ours/vips):")
    print()
    print("| kind | pictures | time median / min | CPU | RSS | bytes | PSNR dB ours / vips | largest time ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")

    def group(k):
        if k.startswith("png"):
            return "PNG"
        f = k.split("-")
        return f"JPEG {'progressive' if f[1] == 'prog' else 'baseline'} {f[2]}"

    groups = {}
    for r in ratios:
        groups.setdefault(group(r["kind"]), []).append(r)
    for gname in sorted(groups):
        s_ = summary(gname, groups[gname])
        print(f"| {gname} | {len(groups[gname])} | {s_[1]} / {s_[2]} | {s_[3]} | {s_[4]} | {s_[5]} | {s_[6]} | {s_[8]} |")
    if problems:
        print()
        print("Problems (rows marked **!**):")
        print()
        for p in problems:
            print(f"- {p}")
        sys.exit(3)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    cmd = sys.argv[1]
    if cmd == "describe":
        for p in sys.argv[2:]:
            w, h, kind = describe(p)
            print(f"{w}x{h} {kind}")
    elif cmd == "check":
        check(sys.argv[2], sys.argv[3], sys.argv[4:])
    elif cmd == "report":
        report(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
