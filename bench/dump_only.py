#!/usr/bin/env python3
"""No vmlinux vs the vmlinux (issue 15): time and peak RSS of opening a sample dump with
its symbol files and with the dump alone, first open and re-open.

    python bench/dump_only.py [--repeat N]

Each run is a fresh `xcrash -s --norc --dump-only -c ...` under `/usr/bin/time -v`
(wall clock, "Maximum resident set size").  "first open": a cache that holds the
decompressed dump (an .xz dump is unpacked once, whatever the symbols) but nothing of
the symbol files; "re-open": the cache the first open left.  Two command sets:
"open" (start-up and `sys` or `target`) and "triage" (`ps`, `bt -a`, `log`; on Xen in
every domain).  Medians of --repeat runs.  Not a test: figures for the notes.
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample-dumps"
TRIAGE_LINUX = ["ps", "bt -a", "log"]
TRIAGE_XEN = [c for dom in ("dom0", "dom1", "dom2") for c in (f"target {dom}", *TRIAGE_LINUX)]


def scenarios() -> list[tuple[str, str, list[str], dict[str, list[str]]]]:
    """(name, vmcore, open commands, {mode: symbol files})."""
    man = json.loads((SAMPLES / "MANIFEST.json").read_text())
    sysrq = man["dumps"]["linux-sysrq"]
    xen = man["dumps"]["xen-own"]
    vmlinuxes = [str(SAMPLES / e["path"]) for n, e in sorted(man["symbols"].items())
                 if n.startswith("vmlinux-6.1")]
    return [
        ("linux-sysrq", str(SAMPLES / sysrq["files"][0]["path"]), ["sys"],
         {"vmlinux": [str(SAMPLES / sysrq["kernel"]["vmlinux"])], "dump alone": []}),
        ("xen-own", str(SAMPLES / xen["files"][0]["path"]), ["target"],
         {"xen-syms + vmlinux": [str(SAMPLES / xen["xen"]["xen_syms"]), *vmlinuxes],
          "xen-syms alone": [str(SAMPLES / xen["xen"]["xen_syms"])], "dump alone": []}),
    ]


def run(vmcore: str, files: list[str], commands: list[str], cache: str) -> tuple[float, float]:
    """(wall seconds, peak RSS in MiB) of one xcrash run."""
    argv = ["/usr/bin/time", "-v", sys.executable, "-m", "xcrash", "-s", "--norc", "--dump-only"]
    for command in commands:
        argv += ["-c", command]
    proc = subprocess.run(argv + [vmcore, *files], capture_output=True, text=True, cwd=ROOT,
                          env={"PATH": "/usr/bin:/bin", "XDG_CACHE_HOME": cache,
                               "PYTHONPATH": str(ROOT)})
    if proc.returncode:
        sys.exit(f"xcrash failed ({proc.returncode}): {proc.stderr[-2000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", proc.stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    assert wall and rss, proc.stderr[-2000:]
    hours, minutes, seconds = int(wall.group(1) or 0), int(wall.group(2)), float(wall.group(3))
    return hours * 3600 + minutes * 60 + seconds, int(rss.group(1)) / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"{'dump':<12} {'symbols':<19} {'commands':<8} {'first open':>11} {'re-open':>9} "
          f"{'first RSS':>10} {'re-open RSS':>12}")
    for name, vmcore, opening, modes in scenarios():
        unpacked = tempfile.mkdtemp(prefix="xcrash-bench-dump-")
        try:
            run(vmcore, [], ["q"], unpacked)           # the dump unpacked ...
            shutil.rmtree(Path(unpacked, "xcrash", "symbols"), ignore_errors=True)  # ... alone
            for mode, files in modes.items():
                triage = TRIAGE_XEN if name.startswith("xen") else TRIAGE_LINUX
                for label, commands in (("open", opening), ("triage", opening + triage)):
                    firsts, reopens = [], []
                    for _ in range(args.repeat):
                        cache = tempfile.mkdtemp(prefix="xcrash-bench-")
                        try:
                            shutil.copytree(unpacked, cache, dirs_exist_ok=True)
                            firsts.append(run(vmcore, files, commands, cache))
                            reopens.append(run(vmcore, files, commands, cache))
                        finally:
                            shutil.rmtree(cache)
                    f, r = (statistics.median(x[0] for x in runs) for runs in (firsts, reopens))
                    fm, rm = (statistics.median(x[1] for x in runs) for runs in (firsts, reopens))
                    print(f"{name:<12} {mode:<19} {label:<8} {f:>10.2f}s {r:>8.2f}s "
                          f"{fm:>7.0f} MiB {rm:>8.0f} MiB", flush=True)
        finally:
            shutil.rmtree(unpacked)


if __name__ == "__main__":
    main()
