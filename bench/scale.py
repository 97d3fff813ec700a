#!/usr/bin/env python3
"""Issue 17's benchmark: each command on the 1k/3k/10k-task dumps, xcrash against crash
8.0.6 and drgn 0.3.0, in one run on one machine (not a test, not in CI).

    python3 bench/scale.py                         # every dump of bench/make-scale-dumps.py
    python3 bench/scale.py --reps 5 --crash-reps 3 --only ps,search
    python3 bench/scale.py --plot-only             # redraw bench/scale.png from the JSON
    python3 bench/scale.py --tools crash,drgn --results W/peers.json   # the peers apart
    python3 bench/scale.py --tools xcrash --merge W/peers.json         # table of both

The dumps, the drgn venv (drgn 0.3.0 and matplotlib) and the results live in the work
dir of bench/make-scale-dumps.py ($XCRASH_SCALE_DIR).  Every measurement is a fresh
process: whole-process wall time (median of --reps runs, the tools alternating within
a repetition), peak RSS (wait4's ru_maxrss, as /usr/bin/time -v), output size.  xcrash
runs with a warm cache of its own (XDG_CACHE_HOME in the work dir; the first open is
timed apart, with an empty one); crash 8.0.6 runs in the stock factory's trixie chroot
(sample-dumps/work/stock/roots/trixie) with the work dir and the kernels bind-mounted;
drgn runs its own crash commands (drgn.commands._crash) or, where those have no
equivalent or stop at the first unreadable task, bench/scale_drgn.py.  The run holds
/work/lab/qemu.lock, so that no QEMU run shares the CPUs.  Results: scale-results.json
in the work dir; the plot: bench/scale.png (time against tasks, per command and tool).
"""
from __future__ import annotations

import argparse
import fcntl
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MAIN_WORK = Path("/work/main/sample-dumps/work")
FACTORY = Path(os.environ.get("XCRASH_FACTORY_WORK", REPO / "sample-dumps" / "work"))
if not (FACTORY / "stock").exists():
    FACTORY = MAIN_WORK
W = Path(os.environ.get("XCRASH_SCALE_DIR", FACTORY / "scale"))
STOCK = FACTORY / "stock"
CRASH_ROOT = STOCK / "roots" / "trixie"
XCRASH_PY = os.environ.get("XCRASH_PYTHON", "/work/main/.venv/bin/python")
DRGN = W / "drgn-venv" / "bin" / "drgn"
LOCK = "/work/lab/qemu.lock"
PLOT = REPO / "bench" / "scale.png"
RESULTS = W / "scale-results.json"
NEEDLE = "xc-nowhere-to-be-found"

#: name: (xcrash and crash command, drgn: "%crash ..." or a scale_drgn.py mode, or None)
#: {placeholders} come from bench/scale_facts.py
COMMANDS: dict[str, tuple[str, str | None]] = {
    "ps": ("ps", "%crash ps"),
    "foreach bt": ("foreach bt", "foreach_bt"),
    "bt -a": ("bt -a", "%crash bt -a"),
    "log": ("log", "%crash log"),
    "kmem -i": ("kmem -i", "%crash kmem -i"),
    "kmem -s": ("kmem -s", "%crash kmem -s"),
    "kmem -f": ("kmem -f", "%crash kmem -f"),
    "foreach files": ("foreach files", "foreach_files"),
    "net -s": ("net -s {socket_holder}", "net_s {socket_holder}"),
    "mount": ("mount", "%crash mount"),
    "search": (f"search -c {NEEDLE}", None),     # drgn's search stops at the first excluded page
    "list": ("list -H {sb_inodes:x}", "%crash list -H {sb_inodes:x}"),
    "list tasks": ("list -o task_struct.tasks -H {task_list:x}",
                   "%crash list -o task_struct.tasks -H {task_list:x}"),
    "tree": ("tree -t rbtree -o {hrtimer_node} {hrtimers:x}",
             "%crash tree -t rbtree -o {hrtimer_node} {hrtimers:x}"),
    "tree xarray": ("tree -t xarray {pid_xarray:x}", "%crash tree -t xarray {pid_xarray:x}"),
}


def say(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def measure(cmd: list[str], env: dict[str, str] | None = None, cwd: str = "/tmp",
            timeout: float = 3600, keep: Path | None = None) -> dict[str, float]:
    """Wall seconds, peak RSS (MiB), exit status, output bytes and lines of one process
    (its output kept in ``keep``, if given)."""
    with tempfile.TemporaryFile() as out:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, cwd=cwd)
        deadline = t0 + timeout
        timed_out = False
        while True:
            pid, status, usage = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline and not timed_out:
                p.kill()
                timed_out = True
            time.sleep(0.005)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        data = out.read()
    if keep is not None:
        keep.parent.mkdir(parents=True, exist_ok=True)
        keep.write_bytes(data)
    return {"seconds": wall, "rss_mib": usage.ru_maxrss / 1024, "status": p.returncode,
            "bytes": len(data), "lines": data.count(b"\n"),
            "cpu": usage.ru_utime + usage.ru_stime, "timed_out": timed_out}


class Dump:
    def __init__(self, name: str) -> None:
        self.name = name
        self.dir = W / "runs" / name
        self.vmcore = self.dir / "vmcore.kdump"
        self.vmlinux = self.dir / "vmlinux"
        self.kernel = name.split("-")[1]
        self.facts: dict[str, object] = {}


class Tools:
    def __init__(self, cache: Path) -> None:
        self.cache = cache
        self.env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        self.env.update(PYTHONPATH=str(REPO), XDG_CACHE_HOME=str(cache))
        self.mounted: list[Path] = []
        self.cmdfiles = W / "bench-cmds"
        self.cmdfiles.mkdir(exist_ok=True)

    # -- xcrash ---------------------------------------------------------------------------
    def xcrash(self, dump: Dump, command: str, env: dict[str, str] | None = None
               ) -> list[str]:
        return [XCRASH_PY, "-m", "xcrash", "-s", str(dump.vmcore), str(dump.vmlinux),
                "-c", command]

    # -- crash in its chroot --------------------------------------------------------------
    def mount(self) -> None:
        for src, dst in ((W, CRASH_ROOT / "xscale"), (STOCK / "kernels", CRASH_ROOT / "xkernels")):
            dst.mkdir(exist_ok=True)
            if not os.path.ismount(dst):
                subprocess.run(["mount", "--bind", str(src), str(dst)], check=True)
                self.mounted.append(dst)

    def unmount(self) -> None:
        for dst in reversed(self.mounted):
            subprocess.run(["umount", "-l", str(dst)], check=False)

    def crash(self, dump: Dump, command: str) -> list[str]:
        name = f"{abs(hash(command)):x}.txt"
        (self.cmdfiles / name).write_text(f"{command}\nq\n")
        return ["chroot", str(CRASH_ROOT), "/usr/bin/env", "TERM=dumb", "PAGER=cat", "crash",
                "-s", f"/xkernels/{dump.kernel}/vmlinux",
                f"/xscale/runs/{dump.name}/vmcore.kdump", "-i", f"/xscale/bench-cmds/{name}"]

    # -- drgn -----------------------------------------------------------------------------
    def drgn(self, dump: Dump, spec: str) -> list[str]:
        return [str(DRGN), "-q", "--main-symbols", "-c", str(dump.vmcore), "-s",
                str(dump.vmlinux), str(REPO / "bench" / "scale_drgn.py"), *spec.split(" ", 1)]


def facts(dump: Dump, tools: Tools) -> dict[str, object]:
    out = subprocess.run([XCRASH_PY, str(REPO / "bench" / "scale_facts.py"), str(dump.vmcore),
                          str(dump.vmlinux)], env=tools.env, cwd="/tmp", check=True,
                         stdout=subprocess.PIPE).stdout
    return dict(json.loads(out))


def run(args: argparse.Namespace) -> dict[str, object]:
    dumps = [Dump(n) for n in (args.dumps or sorted(p.name for p in (W / "runs").glob("scale-*")
                                                      if (p / "vmcore.kdump").exists()))]
    cache = W / "bench-cache"
    tools = Tools(cache)
    wanted = set(args.tools.split(","))
    commands = {k: v for k, v in COMMANDS.items() if not args.only or k in args.only.split(",")}
    results: dict[str, object] = {"machine": os.uname().nodename, "cpus": os.cpu_count(),
                                  "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
                                  "reps": args.reps, "crash_reps": args.crash_reps, "dumps": {}}
    if "crash" in wanted:
        tools.mount()
    try:
        for dump in dumps:
            say(f"{dump.name}: facts")
            dump.facts = facts(dump, tools)          # (this also warms xcrash's cache)
            entry: dict[str, object] = {"facts": dump.facts, "commands": {}}
            results["dumps"][dump.name] = entry      # type: ignore[index]
            # the first open, with an empty cache
            with tempfile.TemporaryDirectory(dir=W) as empty:
                env = dict(tools.env, XDG_CACHE_HOME=empty)
                entry["first_open"] = measure(tools.xcrash(dump, "sys"), env)
            for name, (command, drgn_spec) in commands.items():
                line = command.format(**dump.facts)
                runs: dict[str, list[dict[str, float]]] = {t: [] for t in wanted}
                reps = max(args.reps, args.crash_reps)
                def keep(tool: str, rep: int, dump: Dump = dump, name: str = name) -> Path | None:
                    if args.outputs is None or rep:
                        return None
                    return args.outputs / dump.name / tool / (name.replace(" ", "_") + ".txt")
                def more(tool: str, rep: int, limit: int, runs: dict = runs) -> bool:
                    """Another run of the tool (none after one that timed out)."""
                    return (tool in wanted and rep < limit
                            and not any(r["timed_out"] for r in runs[tool]))
                for rep in range(reps):
                    if more("xcrash", rep, args.reps):
                        runs["xcrash"].append(measure(tools.xcrash(dump, line), tools.env,
                                                      keep=keep("xcrash", rep),
                                                      timeout=args.timeout))
                    if more("crash", rep, args.crash_reps):
                        runs["crash"].append(measure(tools.crash(dump, line),
                                                     keep=keep("crash", rep),
                                                     timeout=args.timeout))
                    if drgn_spec and more("drgn", rep, args.crash_reps):
                        runs["drgn"].append(measure(tools.drgn(dump, drgn_spec.format(**dump.facts)),
                                                    keep=keep("drgn", rep), timeout=args.timeout))
                if name == "search" and "xcrash" in wanted:
                    env = dict(tools.env, XCRASH_WORKERS="1")
                    runs["xcrash 1 CPU"] = [measure(tools.xcrash(dump, line), env)
                                            for _ in range(args.reps)]
                summary = {tool: summarize(r) for tool, r in runs.items() if r}
                entry["commands"][name] = {"command": line, "drgn_command": drgn_spec,  # type: ignore[index]
                                           **summary}
                say(f"{dump.name} {name}: " + ", ".join(
                    f"{t} {s['seconds']:.2f} s {s['rss_mib']:.0f} MiB" for t, s in summary.items()))
                args.results.write_text(json.dumps(results, indent=1) + "\n")
    finally:
        tools.unmount()
    return results


def summarize(runs: list[dict[str, float]]) -> dict[str, float]:
    return {"seconds": statistics.median(r["seconds"] for r in runs),
            "min": min(r["seconds"] for r in runs),
            "cpu": statistics.median(r["cpu"] for r in runs),
            "rss_mib": max(r["rss_mib"] for r in runs),
            "status": max((r["status"] for r in runs), key=abs),
            "timed_out": any(r.get("timed_out") for r in runs),
            "bytes": runs[-1]["bytes"], "lines": runs[-1]["lines"], "runs": len(runs)}


def table(results: dict[str, object]) -> str:
    """Markdown: per dump and command, each tool's median time and peak RSS."""
    out = []
    for name, entry in results["dumps"].items():         # type: ignore[union-attr]
        f = entry["facts"]
        out.append(f"\n### {name}: {f['tasks']} tasks, {f['release']}, "
                   f"{f['dumped_bytes'] / 2**30:.2f} GiB dumped; first open "
                   f"{entry['first_open']['seconds']:.2f} s\n")
        out.append("| command | xcrash s | MiB | crash s | MiB | drgn s | MiB | crash/xcrash |")
        out.append("|---|---|---|---|---|---|---|---|")
        for cmd, r in entry["commands"].items():
            def cell(tool: str, r: dict = r) -> str:
                s = r.get(tool)
                if not s:
                    return "– | –"
                if s.get("timed_out"):
                    return f"> {s['seconds']:.0f} (stopped) | {s['rss_mib']:.0f}"
                bad = "" if s["status"] == 0 else f" (exit {s['status']})"
                return f"{s['seconds']:.2f}{bad} | {s['rss_mib']:.0f}"
            ratio = (f"{r['crash']['seconds'] / r['xcrash']['seconds']:.1f}x"
                     if r.get("crash") and r.get("xcrash") else "–")
            out.append(f"| {cmd} | {cell('xcrash')} | {cell('crash')} | {cell('drgn')} | {ratio} |")
            if cmd == "search" and r.get("xcrash"):
                rate = f["dumped_bytes"] / r["xcrash"]["seconds"] / 1e6
                one = r.get("xcrash 1 CPU")
                out.append(f"|  (search rate) | {rate:.0f} MB/s of dumped pages, 2 CPUs"
                           + (f"; {f['dumped_bytes'] / one['seconds'] / 1e6:.0f} MB/s on 1"
                              if one else "") + " | | | | | | |")
    return "\n".join(out)


def matrix(results: dict[str, object]) -> str:
    """Markdown, per kernel: command × tasks → each tool's median wall seconds, its
    CPU seconds (user + system, the workers' included) in parentheses, peak RSS."""
    dumps = results["dumps"]                                    # type: ignore[index]
    out = []
    for kernel in sorted({n.split("-")[1] for n in dumps}):
        ds = sorted(((n, d) for n, d in dumps.items() if n.split("-")[1] == kernel),
                    key=lambda nd: nd[1]["facts"]["tasks"])
        tools = ("xcrash", "crash", "drgn")
        out.append(f"\n#### Linux {kernel}: wall s (CPU s) peak MiB\n")
        out.append("| command | " + " | ".join(
            f"{d['facts']['tasks']} tasks: {t}" for _, d in ds for t in tools) + " |")
        out.append("|---" * (1 + len(ds) * len(tools)) + "|")
        commands = list(ds[0][1]["commands"])
        for cmd in commands:
            cells = []
            for _, d in ds:
                for tool in tools:
                    r = d["commands"].get(cmd, {}).get(tool)
                    if not r:
                        cells.append("–")
                    elif r.get("timed_out"):
                        cells.append(f"> {r['seconds']:.0f} (stopped)")
                    else:
                        bad = "" if r["status"] == 0 else f" exit {r['status']}"
                        cells.append(f"{r['seconds']:.2f} ({r['cpu']:.2f}) "
                                     f"{r['rss_mib']:.0f}M{bad}")
            out.append(f"| {cmd} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def growth(results: dict[str, object]) -> str:
    """Markdown: per kernel, command and tool, the exponent k of time ~ tasks**k (the
    least-squares slope of log time against log tasks over the dumps of one kernel):
    of the whole-process time, whose start-up pulls it below 1, and (after the slash)
    of the time beyond the start-up, taken as the tool's fastest command on that dump;
    "·" where that part is under 0.2 s at the largest dump (nothing to fit)."""
    import math
    dumps = results["dumps"]                                    # type: ignore[index]
    kernels = sorted({n.split("-")[1] for n in dumps})
    tools = ("xcrash", "crash", "drgn")

    def ok(d: dict, cmd: str, tool: str) -> bool:
        return tool in d["commands"].get(cmd, {}) and d["commands"][cmd][tool]["status"] == 0

    def start(d: dict, tool: str) -> float:
        return min((r[tool]["seconds"] for c, r in d["commands"].items() if ok(d, c, tool)),
                   default=0.0)

    def slope(pts: list[tuple[float, float]]) -> float:
        xs = [math.log(x) for x, _ in pts]
        ys = [math.log(y) for _, y in pts]
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / \
            sum((x - mx) ** 2 for x in xs)

    out = ["| command | " + " | ".join(f"{t} {k}" for k in kernels for t in tools) + " |",
           "|---" * (1 + len(kernels) * len(tools)) + "|"]
    commands = list(next(iter(dumps.values()))["commands"])
    for cmd in commands:
        cells = []
        for kernel in kernels:
            for tool in tools:
                ds = sorted((d for n, d in dumps.items() if n.split("-")[1] == kernel
                             and ok(d, cmd, tool)), key=lambda d: d["facts"]["tasks"])
                if len(ds) < 2:
                    cells.append("–")
                    continue
                whole = slope([(d["facts"]["tasks"], d["commands"][cmd][tool]["seconds"])
                               for d in ds])
                beyond = [(d["facts"]["tasks"],
                           d["commands"][cmd][tool]["seconds"] - start(d, tool)) for d in ds]
                if beyond[-1][1] < 0.2 or any(y <= 0.01 for _, y in beyond):
                    cells.append(f"{whole:.2f} / ·")
                else:
                    cells.append(f"{whole:.2f} / {slope(beyond):.2f}")
        out.append(f"| {cmd} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def plot(results: dict[str, object]) -> None:
    try:
        import matplotlib
    except ImportError:
        # the benchmark's own venv has matplotlib (make-scale-dumps.py drgn installs it)
        py = W / "drgn-venv" / "bin" / "python"
        if Path(sys.prefix).resolve() == py.parent.parent.resolve() or not py.exists():
            raise SystemExit(f"scale.py: no matplotlib here nor in {py.parent.parent}: "
                             "python3 bench/make-scale-dumps.py drgn --force") from None
        with tempfile.NamedTemporaryFile("w", suffix=".json", dir=W) as f:
            json.dump(results, f)
            f.flush()
            drawn = subprocess.run([str(py), __file__, "--plot-only", "--results", f.name],
                                   stdout=subprocess.DEVNULL)
        if drawn.returncode:
            raise SystemExit("scale.py: the plot was not drawn (said above)")
        return
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    dumps = results["dumps"]                                    # type: ignore[index]
    commands = list(next(iter(dumps.values()))["commands"])
    cols = 4
    rows = (len(commands) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    colors = {"xcrash": "tab:blue", "crash": "tab:red", "drgn": "tab:green"}
    for ax, cmd in zip(axes.flat, commands):
        for tool, color in colors.items():
            for kernel, style in (("6.12", "-o"), ("5.10", "--s")):
                pts = sorted((d["facts"]["tasks"], d["commands"][cmd][tool]["seconds"])
                             for n, d in dumps.items() if f"-{kernel}-" in n
                             and cmd in d["commands"] and tool in d["commands"][cmd]
                             and d["commands"][cmd][tool]["status"] == 0)
                if pts:
                    ax.plot(*zip(*pts), style, color=color, markersize=4,
                            label=f"{tool} ({kernel})")
        ax.set_title(cmd, fontsize=10)
        ax.set_xlabel("tasks", fontsize=8)
        ax.set_ylabel("seconds", fontsize=8)
        ax.set_yscale("log")
        ax.grid(True, which="both", alpha=0.3)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(commands):]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower right", fontsize=8)
    fig.suptitle("Whole-process time (median) against tasks: xcrash, crash 8.0.6, drgn 0.3.0 "
                 "(issue 17)", fontsize=11)
    fig.tight_layout()
    fig.savefig(PLOT, dpi=90)
    say(f"plot: {PLOT}")


def merge(paths: list[Path]) -> dict[str, object]:
    """Runs of different tools, commands or dumps in one results dict: per dump and
    command, each tool's summary (and the dump's first open) from the last file that
    has it."""
    out: dict[str, object] = {}
    for path in paths:
        r = json.loads(path.read_text())
        if not out:
            out = r
            continue
        for name, entry in r["dumps"].items():
            mine = out["dumps"].setdefault(name, entry)            # type: ignore[union-attr]
            if "first_open" in entry:
                mine["first_open"] = entry["first_open"]
            for cmd, tools in entry["commands"].items():
                mine["commands"].setdefault(cmd, {}).update(tools)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=5, help="runs of xcrash per measurement")
    ap.add_argument("--crash-reps", type=int, default=3, help="runs of crash and drgn")
    ap.add_argument("--dumps", nargs="*", help="dump names (default: every scale-* dump)")
    ap.add_argument("--tools", default="xcrash,crash,drgn")
    ap.add_argument("--only", help="commands, comma-separated (names of COMMANDS)")
    ap.add_argument("--plot-only", action="store_true",
                    help="table and plot from --results (and --merge) without running")
    ap.add_argument("--timeout", type=float, default=600,
                    help="seconds a run may take (then it is stopped, shown as > T)")
    ap.add_argument("--outputs", type=Path,
                    help="keep each tool's output of the first run in DIR/dump/tool/command.txt")
    ap.add_argument("--results", type=Path, default=RESULTS, help="JSON this run writes")
    ap.add_argument("--merge", type=Path, nargs="*", default=[],
                    help="other runs' JSON (e.g. crash and drgn measured apart) for the table "
                         "and the plot")
    ap.add_argument("--no-lock", action="store_true", help="do not take the QEMU lock")
    args = ap.parse_args()
    if args.plot_only:
        results = merge([args.results, *args.merge])
        print(matrix(results))
        print(table(results))
        print("\n### Growth: k in time ~ tasks**k\n")
        print(growth(results))
        plot(results)
        return 0
    lock = None
    if not args.no_lock:
        lock = open(LOCK, "a")
        say(f"waiting for {LOCK}")
        fcntl.flock(lock, fcntl.LOCK_EX)
        say("lock taken")
    try:
        results = run(args)
    finally:
        if lock is not None:
            lock.close()
    results = merge([args.results, *args.merge]) if args.merge else results
    print(matrix(results))
    print(table(results))
    print("\n### Growth: k in time ~ tasks**k\n")
    print(growth(results))
    plot(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
