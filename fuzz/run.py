#!/usr/bin/env python3
"""Coverage-guided fuzzing of xcrash's parsers with atheris (``pip install -e '.[fuzz]'``).

    python fuzz/run.py TARGET [SECONDS]     # one target, e.g. notes, kdump, btf, orc
    python fuzz/run.py all [SECONDS]        # every target in turn, SECONDS each

Each target runs in its own process; the summary line per target gives the
executions, their rate, and whether anything but a typed error escaped (a
crash of the target, which atheris reports with the input that caused it).
"""
from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def child(name: str, seconds: int) -> None:
    import atheris
    sys.path.insert(0, str(HERE))
    with atheris.instrument_imports():
        import targets
    fn = targets.TARGETS[name]
    atheris.Setup([sys.argv[0], f"-max_total_time={seconds}", "-rss_limit_mb=4096",
                   f"-artifact_prefix={HERE / 'findings'}/{name}-"], fn)
    atheris.Fuzz()


def main() -> int:
    if len(sys.argv) >= 3 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]))
        return 0
    name = sys.argv[1] if len(sys.argv) > 1 else "all"
    seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 60
    sys.path.insert(0, str(HERE))
    import targets
    names = list(targets.TARGETS) if name == "all" else [name]
    (HERE / "findings").mkdir(exist_ok=True)
    failed = 0
    for n in names:
        start = time.time()
        proc = subprocess.run([sys.executable, __file__, "--child", n, str(seconds)],
                              capture_output=True, text=True)
        runs = re.findall(r"#(\d+)\s+DONE", proc.stderr) or re.findall(r"#(\d+)\s", proc.stderr)
        execs = int(runs[-1]) if runs else 0
        status = "ok" if proc.returncode == 0 else f"FINDING (exit {proc.returncode})"
        took = time.time() - start
        print(f"{n:<11} {took:7.0f} s {execs:>10} execs {execs / max(took, 1):8.0f}/s  {status}")
        if proc.returncode != 0:
            failed += 1
            print("\n".join(proc.stderr.splitlines()[-25:]))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
