#!/usr/bin/env python3
"""Time and peak memory of symbol files: first open (empty cache), then re-open.

Each run is a fresh process that opens the file, finds a struct type, a
variable's type (DWARF) and one address's source line.  ``.xz`` files are
decompressed before the runs, so that only symbol work is timed.

Usage: python bench/symbols_open.py [--repeat N] [FILE ...]
(default: the vmlinux and xen-syms of the shared dumps)
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

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "dumps"
DEFAULT = [SHARED / "linux-6.1-sysrq/vmlinux.xz", SHARED / "xen-4.17-hypervisor-panic/xen-syms.xz"]
PROBES = {"vmlinux": ("struct task_struct", "jiffies", "panic"),
          "xen-syms": ("struct domain", "xen_phys_start", "__start_xen"),
          "elf": ("int", "", "")}

CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from xcrash.symbols import open_symbol_file
t1 = time.perf_counter()
sf = open_symbol_file(sys.argv[1])
t2 = time.perf_counter()
type_name, variable, function = json.loads(sys.argv[2])[sf.kind]
sf.types.find(type_name).members
t3 = time.perf_counter()
if variable:
    sf.variable_type(variable)
t4 = time.perf_counter()
if function:
    sf.line_for_address(sf.symbols.lookup(function).address + 4)
t5 = time.perf_counter()
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
anon = int(status["RssAnon"].split()[0]) / 1024
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"import": t1 - t0, "open": t2 - t1, "type": t3 - t2, "variable": t4 - t3,
                  "line": t5 - t4, "peak_rss": peak, "anon_rss": anon}))
"""
UNXZ = ("import sys; from xcrash.cache import decompressed_path; "
        "print(decompressed_path(sys.argv[1]))")


def child(code: str, cache: str, *args: str) -> str:
    """Run ``code`` in a new process (the parent stays small: peak RSS is inherited)."""
    env = dict(os.environ, XDG_CACHE_HOME=cache, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-c", code, *args], env=env, check=True,
                          capture_output=True, text=True).stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", default=[str(p) for p in DEFAULT])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    keys = ("open", "type", "variable", "line", "peak_rss", "anon_rss")
    print(f"{'file':<14} {'run':<8} " + " ".join(f"{k:>9}" for k in keys))
    for shown in args.files:
        cache = tempfile.mkdtemp(prefix="xcrash-bench-")
        try:
            path = child(UNXZ, cache, shown).strip() if shown.endswith(".xz") else shown
            results: dict[str, list[dict]] = {"first": [], "re-open": []}
            for _ in range(args.repeat):
                shutil.rmtree(Path(cache, "xcrash", "symbols"), ignore_errors=True)
                for label in results:
                    results[label].append(json.loads(child(CHILD, cache, path, json.dumps(PROBES))))
            for label, rows in results.items():
                medians = [statistics.median(r[k] for r in rows) for k in keys]
                print(f"{Path(shown).name[:14]:<14} {label:<8} "
                      + " ".join(f"{v:9.3f}" if not k.endswith("rss") else f"{v:8.0f}M"
                                 for k, v in zip(keys, medians)))
        finally:
            shutil.rmtree(cache, ignore_errors=True)
    print(f"seconds, medians of {args.repeat} runs; peak_rss: the process's peak resident set "
          "(mapped file pages included); anon_rss: its private memory at the end")


if __name__ == "__main__":
    main()
