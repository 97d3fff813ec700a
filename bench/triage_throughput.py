#!/usr/bin/env python3
"""Dumps per minute of `xcrash triage`, with 1 and 2 local worker processes and a 2-worker
Dask LocalCluster, over COPIES symbolic links to each shipped sample dump file (different
names, the same files: the throughput of steady work, not of distinct crashes), each
dump's HTML report written too; the peak RSS of each worker; the cost per dump broken
down (open, signature, report).

    .venv/bin/python bench/triage_throughput.py [--copies 6] [--skip-dask]

A benchmark, not a test: run it alone (the numbers are this machine's; a second run is
warmer: .xz dumps are unpacked into xcrash's cache once, symbol files indexed once).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from xcrash.triage import ResultCache, index_symbols, triage  # noqa: E402

SAMPLES = ROOT / "sample-dumps"


def dump_links(directory: Path, copies: int) -> list[str]:
    manifest = json.loads((SAMPLES / "MANIFEST.json").read_text())
    out = []
    for name, entry in manifest["dumps"].items():
        for f in entry["files"]:
            for i in range(copies):
                link = directory / f"{name}-{i}-{Path(f['path']).name}"
                link.symlink_to(SAMPLES / f["path"])
                out.append(str(link))
    return out


def run(label: str, paths: list[str], symbols, *, workers: int, dask: str | None,
        html: Path) -> dict:
    start = time.perf_counter()
    records = list(triage(paths, symbols, workers=workers, dask=dask, report_dir=str(html),
                          cache=ResultCache(None)))
    wall = time.perf_counter() - start
    ok = [r for r in records if not r["error"]]
    rss: dict[int, int] = {}
    for r in records:
        pid = r["worker"]["pid"]
        rss[pid] = max(rss.get(pid, 0), r["worker"]["peak_rss_kib"])

    def mean(key: str) -> float:
        return statistics.mean(r["timing"].get(key, 0.0) for r in ok)
    return {"label": label, "dumps": len(records), "errors": len(records) - len(ok),
            "wall_s": round(wall, 1), "per_minute": round(len(records) * 60 / wall, 1),
            "workers": len(rss), "peak_rss_mib": sorted(round(v / 1024) for v in rss.values()),
            "open_s": round(mean("open"), 3), "signature_s": round(mean("signature"), 3),
            "report_s": round(mean("report"), 3), "total_s": round(mean("total"), 3),
            "signatures": len({r["signature"] for r in ok})}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--copies", type=int, default=6, help="links per sample dump file (6: 36)")
    p.add_argument("--skip-dask", action="store_true")
    args = p.parse_args()
    symbols = index_symbols([str(s) for s in sorted((SAMPLES / "symbols").glob("*.xz"))])
    with tempfile.TemporaryDirectory(prefix="xcrash-bench-") as tmp:
        paths = dump_links(Path(tmp), args.copies)
        print(f"{len(paths)} dump files (links to the {len(paths) // args.copies} sample "
              f"files), {os.cpu_count()} cores", flush=True)
        runs = [("1 local worker", 1, None), ("2 local workers", 2, None)]
        if not args.skip_dask:
            runs.append(("Dask LocalCluster, 2 workers", 2, "local"))
        results = []
        for label, workers, dask in runs:
            html = Path(tmp) / label.replace(" ", "-").replace(",", "")
            results.append(run(label, paths, symbols, workers=workers, dask=dask, html=html))
            print(json.dumps(results[-1]), flush=True)
    print()
    print("| run | dumps | wall s | dumps/min | peak RSS per worker (MiB) | open s | "
          "signature s | report s | per dump s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['label']} | {r['dumps']} | {r['wall_s']} | {r['per_minute']} | "
              f"{', '.join(map(str, r['peak_rss_mib']))} | {r['open_s']} | {r['signature_s']} | "
              f"{r['report_s']} | {r['total_s']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
