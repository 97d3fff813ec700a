#!/usr/bin/env python3
"""Issue 17's Xen host (bench/make-scale-xen.py: Xen 4.20, dom0 and PV domUs, one dump):
each command as a fresh xcrash process with a warm cache, the first open apart (empty
cache), medians of --reps runs, peak RSS.  Not a test, not in CI.

    python3 bench/scale_xen.py [--reps 5] [--dump VMCORE] [--results FILE.json]

No peer reads this dump: crash cannot open Xen 4.20 (nor any hypervisor dump without
xen-syms), drgn has no Xen hypervisor support.  The dump is read alone (Xen's own symbol
table, the guests' kallsyms, BTF and ORC), as a user without any symbol file would.
The run holds /work/lab/qemu.lock, so that no QEMU run shares the CPUs.
"""
from __future__ import annotations

import argparse
import fcntl
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
W = Path(os.environ.get("XCRASH_SCALE_DIR", REPO / "sample-dumps" / "work" / "scale"))
DUMP = W / "runs" / "scale-xen-6g" / "vmcore.kdump"
LOCK = "/work/lab/qemu.lock"


def once(dump: Path, commands: list[str], cache: str) -> tuple[float, float, int]:
    """(wall seconds, peak RSS MiB, output bytes) of one xcrash process."""
    argv = [sys.executable, "-m", "xcrash", "-s", "--norc"]
    for command in commands:
        argv += ["-c", command]
    start = time.perf_counter()
    proc = subprocess.Popen(argv + [str(dump)], env=dict(os.environ, XDG_CACHE_HOME=cache),
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = proc.stdout.read() if proc.stdout else b""
    _, status, usage = os.wait4(proc.pid, 0)
    took = time.perf_counter() - start
    if status:
        raise SystemExit(f"xcrash {' '.join(commands)}: exit status {status >> 8}")
    return took, usage.ru_maxrss / 1024, len(out)


def domains(dump: Path, cache: str) -> list[int]:
    """The guests' domain ids, from doms."""
    out = subprocess.run([sys.executable, "-m", "xcrash", "-s", "--norc", "--hyper", "-c", "doms",
                          str(dump)], env=dict(os.environ, XDG_CACHE_HOME=cache),
                         capture_output=True, text=True, check=True).stdout
    ids = [int(m) for m in re.findall(r"^[> ][* ] *(\d+) [0-9a-f]{16} ", out, re.M)]
    return [i for i in ids if i < 0x7FF0]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--dump", type=Path, default=DUMP)
    ap.add_argument("--results", type=Path)
    ap.add_argument("--no-lock", action="store_true")
    a = ap.parse_args()
    if not a.no_lock:
        os.makedirs(os.path.dirname(LOCK), exist_ok=True)
        lock = open(LOCK, "w")
        fcntl.flock(lock, fcntl.LOCK_EX)
    warm = tempfile.mkdtemp(prefix="xcrash-scale-xen-")
    doms = domains(a.dump, warm)
    cases: dict[str, list[str]] = {"open (sys)": ["sys"], "doms": ["target xen", "doms"],
                                   "vcpus": ["target xen", "vcpus"], "pcpus": ["target xen", "pcpus"],
                                   "xen bt -a": ["target xen", "bt -a"]}
    for d in doms:
        cases[f"dom{d} ps"] = [f"target dom{d}", "ps"]
        cases[f"dom{d} bt -a"] = [f"target dom{d}", "bt -a"]
    cases["every guest: ps"] = [c for d in doms for c in (f"target dom{d}", "ps")]
    first = [once(a.dump, ["target xen", "doms"], tempfile.mkdtemp(prefix="xcrash-cold-"))
             for _ in range(max(1, a.reps // 2))]
    results = {"dump": str(a.dump), "size_bytes": a.dump.stat().st_size, "domains": doms,
               "first open (doms)": {"median_s": statistics.median(t for t, _, _ in first),
                                     "peak_rss_mib": max(r for _, r, _ in first)}}
    for name, commands in cases.items():
        runs = [once(a.dump, commands, warm) for _ in range(a.reps)]
        results[name] = {"median_s": round(statistics.median(t for t, _, _ in runs), 3),
                         "min_s": round(min(t for t, _, _ in runs), 3),
                         "peak_rss_mib": round(max(r for _, r, _ in runs)),
                         "output_bytes": runs[0][2]}
    print(f"{a.dump} ({a.dump.stat().st_size / 2**20:.0f} MiB), domains {doms}, {a.reps} runs each:")
    for name, r in results.items():
        if isinstance(r, dict):
            print(f"  {name:22} {r['median_s']:6.2f} s  peak {r['peak_rss_mib']:4.0f} MiB")
    if a.results:
        a.results.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
