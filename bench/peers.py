#!/usr/bin/env python3
"""xcrash against crash 8.0.6 and drgn 0.3.0 on the distro dump, in one run.

Not a test: a script that prints a table.  The dump, vmlinux, crash root and
drgn venv are those of bench/make-distro-dump.sh (work dir $XCRASH_DISTRO_DIR,
default /work/dev/distro).  Every measurement is a fresh process; the tools
alternate within each repetition and the table shows medians.

  (a) start + exit
  (b) sys; ps; bt -a; log            (drgn: a script listing the tasks ps-like,
  (c) sys; ps; foreach bt; log        unwinding every task's stack, printing the log:
                                      the same for b and c)
  (d) kmem -s, kmem -S, kmem -v, foreach files, foreach vm, mount, net, dev, irq, timer
      (xcrash and crash only)
  peak RSS of each run (wait4's ru_maxrss)

xcrash runs twice per case: "first open" with an empty XDG_CACHE_HOME and
"re-open" with the cache the earlier runs filled.

  python bench/peers.py [--reps 5] [--only xcrash,crash,drgn] [--json FILE]
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
import time
from pathlib import Path

WORK = Path(os.environ.get("XCRASH_DISTRO_DIR", "/work/dev/distro"))
REPO = Path(__file__).resolve().parents[1]
SHARED_CRASH_ROOT = REPO / "sample-dumps" / "work" / "roots" / "trixie-crash"

CASES = {
    "start+exit": [],
    "sys;ps;bt -a;log": ["sys", "ps", "bt -a", "log"],
    "sys;ps;foreach bt;log": ["sys", "ps", "foreach bt", "log"],
    "system listings": ["kmem -s", "kmem -S", "kmem -v", "foreach files", "foreach vm", "mount",
                        "net", "dev", "irq", "timer"],
}
#: cases the drgn script does not cover (it does ps, bt and log only)
NOT_DRGN = {"system listings"}

DRGN_SCRIPT = (Path(__file__).resolve().parent / "drgn_ps_bt_log.py").read_text()


def crash_root() -> Path:
    for r in (SHARED_CRASH_ROOT, WORK / "trixie-crash"):
        if (r / "usr/bin/crash").exists():
            return r
    sys.exit("no crash 8.0.6 root: run bench/make-distro-dump.sh")


def run(cmd: list[str], env: dict[str, str] | None = None, stdin: str | None = None
        ) -> tuple[float, float, int, int]:
    """(seconds, peak RSS MiB, exit status, output bytes) of one process."""
    with tempfile.TemporaryFile() as out:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT,
                             stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                             cwd=WORK)
        if stdin is not None:
            p.stdin.write(stdin.encode())
            p.stdin.close()
        _, status, usage = os.wait4(p.pid, 0)
        elapsed = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        size = out.tell()
    return elapsed, usage.ru_maxrss / 1024, p.returncode, size


class Tools:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.vmcore, self.vmlinux = "vmcore.kdump", "vmlinux"
        root = crash_root()
        lib = root / "usr/lib/x86_64-linux-gnu"
        self.crash = [str(lib / "ld-linux-x86-64.so.2"), "--library-path", str(lib),
                      str(root / "usr/bin/crash"), "-s", self.vmlinux, self.vmcore]
        self.drgn = str(WORK / "drgn-venv/bin/drgn")
        (tmp / "drgn-empty.py").write_text("")
        (tmp / "drgn-work.py").write_text(DRGN_SCRIPT)
        self.reopen_cache = tmp / "cache-reopen"
        self.reopen_cache.mkdir()
        self.fresh = 0

    def xcrash(self, commands: list[str], first: bool) -> tuple[float, float, int, int]:
        env = dict(os.environ)
        if first:
            self.fresh += 1
            cache = self.tmp / f"cache-first-{self.fresh}"
            cache.mkdir()
        else:
            cache = self.reopen_cache
        env["XDG_CACHE_HOME"] = str(cache)
        argv = [sys.executable, "-m", "xcrash", "-s", "--norc"]
        for c in commands or ["q"]:
            argv += ["-c", c]
        result = run(argv + [self.vmcore, self.vmlinux], env)
        if first:
            shutil.rmtree(cache, ignore_errors=True)
        return result

    def crash_run(self, commands: list[str]) -> tuple[float, float, int, int]:
        script = self.tmp / "crash-cmds.txt"
        script.write_text("\n".join(commands + ["quit"]) + "\n")
        return run(self.crash + ["-i", str(script)])

    def drgn_run(self, commands: list[str]) -> tuple[float, float, int, int]:
        script = self.tmp / ("drgn-work.py" if commands else "drgn-empty.py")
        return run([self.drgn, "-q", "--main-symbols", "-c", self.vmcore, "-s", self.vmlinux,
                    str(script)])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--only", default="xcrash,crash,drgn")
    ap.add_argument("--json", help="also write the raw runs here")
    args = ap.parse_args()
    wanted = set(args.only.split(","))
    for f in ("vmcore.kdump", "vmlinux"):
        if not (WORK / f).exists():
            sys.exit(f"{WORK / f} missing: run bench/make-distro-dump.sh")
    os.environ["PYTHONPATH"] = str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")
    results: dict[tuple[str, str], list[tuple[float, float, int, int]]] = {}
    with tempfile.TemporaryDirectory(prefix="xcrash-peers-") as tmpdir:
        tools = Tools(Path(tmpdir))
        if "xcrash" in wanted:                      # fill the re-open cache once
            tools.xcrash([], first=False)
        runners = []
        if "xcrash" in wanted:
            runners += [("xcrash first open", lambda c: tools.xcrash(c, True)),
                        ("xcrash re-open", lambda c: tools.xcrash(c, False))]
        if "crash" in wanted:
            runners.append(("crash 8.0.6", tools.crash_run))
        if "drgn" in wanted:
            runners.append(("drgn 0.3.0", tools.drgn_run))
        for rep in range(args.reps):
            for case, commands in CASES.items():
                order = runners[rep % len(runners):] + runners[:rep % len(runners)]
                for name, fn in order:
                    if name.startswith("drgn") and case in NOT_DRGN:
                        continue
                    r = fn(commands)
                    results.setdefault((name, case), []).append(r)
                    print(f"rep {rep + 1} {case:24s} {name:18s} {r[0]:6.2f} s {r[1]:6.0f} MiB"
                          f" rc={r[2]} out={r[3]}", file=sys.stderr, flush=True)
    report(results, [n for n, _ in runners])
    if args.json:
        Path(args.json).write_text(json.dumps(
            {f"{n}|{c}": v for (n, c), v in results.items()}, indent=1))
    return 0


def report(results: dict, names: list[str]) -> None:
    med = {k: (statistics.median(r[0] for r in v), max(r[1] for r in v)) for k, v in results.items()}
    print(f"\nmedians of {len(next(iter(results.values())))} runs, {WORK / 'vmcore.kdump'}")
    print(f"{'case':24s} {'tool':18s} {'seconds':>8s} {'peak RSS':>9s}"
          f" {'/crash':>7s} {'/drgn':>6s}")
    for case in CASES:
        base_c = med.get(("crash 8.0.6", case))
        base_d = med.get(("drgn 0.3.0", case))
        for name in names:
            m = med.get((name, case))
            if m is None:
                continue
            rc = f"{m[0] / base_c[0]:.2f}" if base_c and name.startswith("xcrash") else ""
            rd = f"{m[0] / base_d[0]:.2f}" if base_d and name.startswith("xcrash") else ""
            print(f"{case:24s} {name:18s} {m[0]:8.2f} {m[1]:6.0f} MiB {rc:>7s} {rd:>6s}")


if __name__ == "__main__":
    sys.exit(main())
