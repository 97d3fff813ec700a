#!/usr/bin/env python3
"""The Xen sample of issue 8: open + `doms` + dom0 `ps` + each domU `ps`, first open
(empty cache) and re-open, medians of several runs, peak RSS.

    python bench/xen_open.py [--repeat N] [VMCORE XEN-SYMS VMLINUX...]

Defaults to the shared Xen 4.17 dump.  crash has no equivalent single run: it
needs one session for the hypervisor, one for dom0 and one per domU started
with a hand-copied --p2m_mfn, so it is not timed here.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "dumps" / \
    "xen-4.17-hypervisor-panic"
COMMANDS = ["doms", "target dom0", "ps", "target dom1", "ps", "target dom2", "ps"]


def once(files: list[str], cache: str) -> tuple[float, float]:
    argv = [sys.executable, "-m", "xcrash", "-s", "--norc"]
    for command in COMMANDS:
        argv += ["-c", command]
    start = time.perf_counter()
    subprocess.run(argv + files, env=dict(os.environ, XDG_CACHE_HOME=cache), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    took = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return took, rss


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("files", nargs="*")
    args = ap.parse_args()
    files = args.files or [str(SHARED / f) for f in ("vmcore-d1.elf.xz", "xen-syms.xz",
                                                     "vmlinux.xz")]
    first, again = [], []
    for _ in range(args.repeat):
        cache = tempfile.mkdtemp(prefix="xcrash-bench-")
        try:
            first.append(once(files, cache)[0])
            again.append(once(files, cache)[0])
        finally:
            shutil.rmtree(cache)
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"open + doms + dom0 ps + each domU ps: first open {statistics.median(first):.2f} s, "
          f"re-open {statistics.median(again):.2f} s, peak RSS {rss:.0f} MiB "
          f"({args.repeat} runs each)")


if __name__ == "__main__":
    main()
