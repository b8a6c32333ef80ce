#!/usr/bin/env python3
"""bench/wholeproc.py: whole processes, start-up included, two commands taking
turns.

    wholeproc.py RUNS CMD_A... -- CMD_B...

Runs each command once untimed (a warm-up: the binary and the input in the
page cache; a failure here is reported with the command's stderr), then RUNS
rounds, A then B in odd rounds and B then A in even ones, so a change of load
during the run falls on both sides alike. Per side, one JSON line:

    {"side": "a", "median_s": .., "min_s": .., "cpu_median_s": ..,
     "rss_median_mib": .., "rss_max_mib": .., "runs": [[wall_s, cpu_s, rss_mib], ...]}

Wall time is perf_counter around fork/exec/wait; CPU time (user + system) and
peak RSS come from the child's rusage (wait4), the figures /usr/bin/time
prints as %U+%S and %M, with finer timing than its %e. On a shared machine
the minimum wall time and the CPU time are the steadier estimates of the
work; the median is what a user waits.
"""
import json
import os
import statistics
import subprocess
import sys
import time


def once(cmd, capture=False):
    start = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE if capture else subprocess.DEVNULL)
    err = p.stderr.read() if capture else b""
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - start
    if capture:
        p.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, code, err


def main():
    if len(sys.argv) < 5 or "--" not in sys.argv[2:]:
        sys.exit("usage: wholeproc.py RUNS CMD_A... -- CMD_B...")
    runs = int(sys.argv[1])
    sep = sys.argv.index("--", 2)
    cmds = {"a": sys.argv[2:sep], "b": sys.argv[sep + 1:]}
    for side, cmd in cmds.items():
        _, _, _, code, err = once(cmd, capture=True)
        if code != 0:
            msg = err.decode(errors="replace").strip().splitlines()
            print(json.dumps({"side": side, "error": f"exit {code}: " + (msg[-1] if msg else "")}))
            for s in cmds:
                if s != side:
                    print(json.dumps({"side": s, "error": f"side {side} failed"}))
            return
    res = {"a": [], "b": []}
    for r in range(runs):
        for side in ("a", "b") if r % 2 == 0 else ("b", "a"):
            wall, cpu, rss, code, _ = once(cmds[side])
            if code != 0:
                sys.exit(f"wholeproc: {' '.join(cmds[side])}: exit {code} after a successful warm-up")
            res[side].append([round(wall, 4), round(cpu, 4), round(rss, 1)])
    for side, rows in res.items():
        print(json.dumps({
            "side": side,
            "median_s": round(statistics.median(r[0] for r in rows), 4),
            "min_s": round(min(r[0] for r in rows), 4),
            "cpu_median_s": round(statistics.median(r[1] for r in rows), 4),
            "rss_median_mib": round(statistics.median(r[2] for r in rows), 1),
            "rss_max_mib": max(r[2] for r in rows),
            "runs": rows,
        }))


if __name__ == "__main__":
    main()
