#!/usr/bin/env python3
"""Time and peak memory to open each real dump (first open with an empty cache, then re-open).

Each measurement runs in a fresh process: `xcrash.open(vmcore, vmlinux)` and one
read of `jiffies`.  Usage: python bench/open_dumps.py [--repeat N]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "dumps"
DUMPS = {
    "linux zlib": ("linux-6.1-sysrq/vmcore-d31.kdump", "linux-6.1-sysrq/vmlinux.xz"),
    "linux lzo": ("linux-6.1-sysrq/vmcore-d31.lzo.kdump", "linux-6.1-sysrq/vmlinux.xz"),
    "linux d23": ("linux-6.1-sysrq/vmcore-d23.kdump", "linux-6.1-sysrq/vmlinux.xz"),
    "linux elf.xz": ("linux-6.1-sysrq/vmcore-d31.elf.xz", "linux-6.1-sysrq/vmlinux.xz"),
}

CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
import xcrash
s = xcrash.open(sys.argv[1], sys.argv[2])
t1 = time.perf_counter()
s.current.object("jiffies").value_()
t2 = time.perf_counter()
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"open": t1 - t0, "first_read": t2 - t1, "rss_mib": rss}))
"""


def measure(vmcore: Path, vmlinux: Path, cache: str) -> dict:
    env = dict(os.environ, XDG_CACHE_HOME=cache)
    out = subprocess.run([sys.executable, "-c", CHILD, str(vmcore), str(vmlinux)],
                         capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"{'dump':<14} {'first open':>11} {'re-open':>9} {'first RSS':>10} {'re-open RSS':>12}")
    for name, (core, sym) in DUMPS.items():
        firsts, reopens = [], []
        for _ in range(args.repeat):
            cache = tempfile.mkdtemp(prefix="xcrash-bench-")
            try:
                firsts.append(measure(SHARED / core, SHARED / sym, cache))
                reopens.append(measure(SHARED / core, SHARED / sym, cache))
            finally:
                shutil.rmtree(cache)
        f = statistics.median(r["open"] for r in firsts)
        r = statistics.median(x["open"] for x in reopens)
        frss = statistics.median(x["rss_mib"] for x in firsts)
        rrss = statistics.median(x["rss_mib"] for x in reopens)
        print(f"{name:<14} {f:>10.2f}s {r:>8.2f}s {frss:>8.0f}MiB {rrss:>10.0f}MiB")


if __name__ == "__main__":
    main()
