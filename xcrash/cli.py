"""The ``xcrash`` command line: open a dump, then run a batch or the shell.

    xcrash [-c CMD]... [-i FILE]... [-s] [--json] [--target NAME] VMCORE [SYMBOL-FILE...]
    xcrash report [--json | --html FILE] [--redact] VMCORE [SYMBOL-FILE...]
    xcrash triage [--sym FILE]... [--workers N | --dask ADDRESS] [--html DIR] [--json] PATH...

With ``-c``/``-i`` the commands run in the order given and xcrash exits;
with a terminal it starts the interactive shell; otherwise it reads commands
from standard input, as crash does with piped input.

Exit status: 0 when every command succeeded, 1 when one failed, 2 when a file
could not be opened or the arguments are wrong.  Errors are one line on
stderr, never a traceback.
"""
from __future__ import annotations

import argparse
import functools
import importlib
import os
import sys
import traceback
from typing import Any
from collections.abc import Sequence

from . import __version__
from .commands.base import Quit
from .commands.registry import Registry
from .commands.settings import default_settings
from . import crashopts
from .errors import BadDump, FileError, XcrashError

#: tests only: "module:function" opening a fake session instead of xcrash.open
TEST_SESSION_ENV = "XCRASH_TEST_SESSION"

OK, FAILED, CANNOT_OPEN = 0, 1, 2


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="xcrash",
        description="Crash-dump analysis shell for Linux and Xen kdump vmcores.",
        epilog="Without -c/-i: the interactive shell on a terminal, else commands are read "
               "from standard input.  Exit status: 0 all commands succeeded, 1 a command failed, "
               "2 a file could not be opened or bad arguments.  -h CMD: a command's help page "
               "(as crash -h CMD).  Live systems (/proc/kcore) are not supported.")
    p.add_argument("-c", dest="batch", action="append", default=[], metavar="CMD",
                   type=lambda s: ("command", s), help="run CMD (repeatable), then exit")
    p.add_argument("-i", dest="batch", action="append", metavar="FILE",
                   type=lambda s: ("file", s), help="run the commands in FILE, then exit")
    p.add_argument("-s", dest="silent", action="store_true", help="silent: no banner")
    p.add_argument("--json", action="store_true", help="write results as JSON records")
    p.add_argument("--minimal", action="store_true",
                   help="for badly damaged dumps: no symbol-file checks, and only log, dis, "
                        "rd, sym, eval, set (and help, alias, vtop, ptov, search), as crash's")
    p.add_argument("--norc", action="store_true",
                   help="do not read ~/.xcrashrc and ./.xcrashrc")
    p.add_argument("--dump-only", action="store_true",
                   help="with no symbol file: read the kernel's own symbols from the dump, "
                        "without looking for its vmlinux (debug directories, debuginfod)")
    p.add_argument("--target", metavar="NAME", help="start with this target (kernel, xen, dom0…)")
    p.add_argument("--sym", dest="sym", action="append", default=[], metavar="domN=FILE",
                   help="serve Xen guest domN with this vmlinux (repeatable)")
    p.add_argument("--version", "-v", "--buildinfo", action="version", version=f"xcrash {__version__}")
    p.add_argument("--tutorial", action="store_true",
                   help="the course on the sample dumps (no VMCORE), or exercises from "
                        "VMCORE's own facts; `xcrash --tutorial -h` for its options")
    p.add_argument("vmcore", metavar="VMCORE", help="the dump file (the parts of a "
                   "makedumpfile --split set: all of them, in any order)")
    p.add_argument("symbol_files", metavar="SYMBOL-FILE", nargs="*",
                   help="vmlinux / xen-syms (.xz accepted); a System.map is checked against "
                        "the vmlinux (crash's relocation of another build by it is not "
                        "offered)")
    crashopts.add_crash_options(p)
    return p


def main(argv: Sequence[str] | None = None, *, fast_exit: bool | None = None) -> int:
    """Run xcrash; return the exit status.

    The console script (``argv`` None) leaves through ``os._exit`` once done:
    tearing down a session's object graph costs seconds and buys nothing.
    """
    if fast_exit is None:
        fast_exit = argv is None
    status = run(sys.argv[1:] if argv is None else list(argv))
    if fast_exit:
        _flush()
        os._exit(status)
    return status


def run(argv: list[str]) -> int:
    if argv and argv[0] in SUBCOMMANDS:
        return SUBCOMMANDS[argv[0]](argv[1:])
    if "--tutorial" in argv:
        from .course import main as tutorial
        return tutorial(argv)
    early_status = crashopts.early(argv)
    if early_status is not None:
        return early_status
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:   # -h, --version, or bad arguments (usage already printed)
        return OK if exc.code in (0, None) else CANNOT_OPEN
    refused = crashopts.prepare(args)
    if refused is not None:
        _say(refused)
        return CANNOT_OPEN
    for kind, path in args.batch:
        if kind == "file" and not os.access(path, os.R_OK):
            _say(f"{path}: {'cannot read' if os.path.exists(path) else 'no such file'}")
            return CANNOT_OPEN
    session = _open(args)
    if session is None:
        return CANNOT_OPEN

    settings = default_settings()
    settings["silent"] = bool(args.silent)       # crash's -s sets its silent variable
    if args.json:
        settings["output"] = "json"
    try:
        for note in crashopts.apply(session, args, settings):
            _say(note)
    except XcrashError as exc:
        _say(str(exc))
        return CANNOT_OPEN
    if args.minimal:
        from .commands.registry import MinimalRegistry
        registry: Registry = MinimalRegistry()
    else:
        registry = Registry()
    interactive = not args.batch and sys.stdin.isatty() and sys.stdout.isatty()
    from .engine.runner import Runner
    runner = Runner(session, registry, settings, interactive=interactive)
    for note in getattr(session, "messages", ()):
        _say(note)
    if not args.norc:
        from .shell.rcfile import run_rcfiles
        run_rcfiles(runner.source, _say)
    if not args.silent:
        _banner(runner, args)
    if interactive:
        from .shell.repl import run_repl
        return run_repl(runner)
    if args.batch:
        return _batch(runner, args.batch)
    return _batch(runner, [("command", line) for line in sys.stdin])


def _batch(runner: Any, steps: list[tuple[str, str]]) -> int:
    """Run -c commands and -i files in order; stop at `q`."""
    status = OK
    try:
        for kind, text in steps:
            try:
                ok = runner.execute(text) if kind == "command" else runner.source(text)
            except FileError as exc:
                _say(str(exc))
                status = CANNOT_OPEN
                continue
            if not ok:
                status = max(status, FAILED)
    except Quit:
        pass                # q: the batch ends there, with the status so far
    except KeyboardInterrupt:
        _say("interrupted")
        return max(status, FAILED)
    except BrokenPipeError:
        # our reader went away (``xcrash -c ps vmcore | head``): stop quietly
        _silence_stdout()
    return status


def _open(args: argparse.Namespace) -> Any:
    """The session, or None after saying why it could not be opened.  On a
    terminal, slow first opens (unpacking, indexing) show a progress bar."""
    if sys.stderr.isatty():
        from .progress import TerminalBar, set_reporter
        set_reporter(TerminalBar())
    try:
        opener = _opener()
        if args.minimal:
            opener = functools.partial(opener, check_symbols=False, minimal=True)
        if getattr(args, "sym", None):
            forced = {}
            for spec in args.sym:
                name, sep, path = spec.partition("=")
                if not sep or not path:
                    raise XcrashError(f"--sym {spec}: expected domN=FILE")
                forced[name if not name.isdigit() else f"dom{name}"] = path
            opener = functools.partial(opener, symbols_for=forced)
        if args.dump_only:
            opener = functools.partial(opener, find_symbols=False)
        opener = crashopts.with_kaslr(opener, getattr(args, "kaslr", None))
        return _open_any_order(opener, [args.vmcore, *args.symbol_files], args.target)
    except XcrashError as exc:
        _say(str(exc))
    except OSError as exc:
        _say(f"{exc.filename or args.vmcore}: {exc.strerror or exc}")
    except Exception as exc:
        if os.environ.get("XCRASH_DEBUG"):
            traceback.print_exc()
        _say(f"{args.vmcore}: internal error: {type(exc).__name__}: {exc} "
             "(run with XCRASH_DEBUG=1 for the traceback)")
    return None


def _open_any_order(opener: Any, paths: list[str], target: str | None) -> Any:
    """Open with the dump first; if that file is no dump, try the others in
    its place, since crash users type ``crash vmlinux vmcore``."""
    try:
        return opener(*paths, target=target)
    except BadDump as exc:
        if exc.path != paths[0]:
            raise
        first = exc
    for i in range(1, len(paths)):
        try:
            return opener(paths[i], *paths[:i], *paths[i + 1:], target=target)
        except BadDump as exc:
            if exc.path != paths[i]:
                raise
    raise first


# -- xcrash report, xcrash triage ------------------------------------------------------
def report_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="xcrash report",
        description="Everything an engineer reads first about a dump, for every target in "
                    "it (the kernel; on a Xen host the hypervisor, its domains, vCPUs, every "
                    "pCPU's back trace and each guest): the crash's title and signature, sys, "
                    "the panic and its back trace, every CPU's, tasks in D state, the log's "
                    "last lines and its WARNING/BUG/Oops blocks, taint and suspect modules, "
                    "memory and the largest slab caches.",
        epilog="Exit status: 0 written, 2 the dump could not be opened or bad arguments.")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="JSON (tests/schemas/report.json)")
    out.add_argument("--html", metavar="FILE",
                     help="write one self-contained HTML page (contents, collapsible sections)")
    p.add_argument("--redact", action="store_true",
                   help="leave out command lines, environments, host names and log lines that "
                        "may carry secrets (for reports that leave the team)")
    p.add_argument("--sym", dest="sym", action="append", default=[], metavar="domN=FILE",
                   help="serve Xen guest domN with this vmlinux (repeatable)")
    p.add_argument("--dump-only", action="store_true",
                   help="with no symbol file: the kernel's own symbols from the dump")
    p.add_argument("vmcore", metavar="VMCORE")
    p.add_argument("symbol_files", metavar="SYMBOL-FILE", nargs="*")
    return p


def _report(argv: list[str]) -> int:
    try:
        args = report_parser().parse_args(argv)
    except SystemExit as exc:
        return OK if exc.code in (0, None) else CANNOT_OPEN
    args.minimal, args.target = False, None
    session = _open(args)
    if session is None:
        return CANNOT_OPEN
    for note in getattr(session, "messages", ()):
        _say(note)
    from .report import build_report, to_html, to_json, to_text
    try:
        report = build_report(session, redact=args.redact)
        if args.html:
            with open(args.html, "w", encoding="utf-8") as f:
                f.write(to_html(report))
        else:
            sys.stdout.write(to_json(report) if args.json else to_text(report))
    except OSError as exc:
        _say(f"{exc.filename or args.html}: {exc.strerror or exc}")
        return CANNOT_OPEN
    except BrokenPipeError:
        _silence_stdout()
    return OK


def triage_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="xcrash triage",
        description="Which dumps are the same crash: each dump's record (path, size, format, "
                    "kernel release and build-id, hypervisor, crash time, uptime, title, "
                    "signature, taint, crashing task), the dumps grouped by signature.",
        epilog="Exit status: 0 every dump was read, 1 some could not be opened (their "
               "records say why), 2 bad arguments or no dump found.")
    p.add_argument("paths", metavar="PATH", nargs="+",
                   help="dump files, or directories to search (a /var/crash tree)")
    p.add_argument("--sym", dest="sym", action="append", default=[], metavar="FILE",
                   help="a vmlinux or xen-syms (repeatable): each dump takes those of its "
                        "build-ids; without one, what xcrash finds itself")
    p.add_argument("--json", action="store_true",
                   help="one JSON record per dump (JSON lines) instead of the table")
    p.add_argument("--html", metavar="DIR",
                   help="write DIR/index.html (groups, a chart of crashes per signature over "
                        "time) and each dump's report in DIR/reports/")
    p.add_argument("--redact", action="store_true", help="redact the reports (see report)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, metavar="N",
                       help="local worker processes (default: the number of cores; 0: none, "
                            "in this process)")
    where.add_argument("--dask", metavar="ADDRESS",
                       help="run on a Dask cluster (scheduler address; 'local': a LocalCluster "
                            "of --workers processes); needs pip install 'xcrash[cluster]'")
    p.add_argument("--dask-workers", type=int, metavar="N",
                   help="with --dask local: how many worker processes (default: cores)")
    cache = p.add_mutually_exclusive_group()
    cache.add_argument("--cache", metavar="FILE",
                       help="the results cache (default: triage.json in xcrash's cache)")
    cache.add_argument("--no-cache", action="store_true", help="open every dump again")
    return p


def _triage(argv: list[str]) -> int:
    import json
    try:
        args = triage_parser().parse_args(argv)
    except SystemExit as exc:
        return OK if exc.code in (0, None) else CANNOT_OPEN
    from . import triage
    from .cache import cache_dir
    if args.dask is not None:
        try:
            import dask.distributed  # noqa: F401
        except ImportError:
            _say(f"triage: {triage.NoDask()}")
            return CANNOT_OPEN
    paths = list(triage.dump_files(args.paths))
    if not paths:
        _say("triage: no dump found in " + " ".join(args.paths))
        return CANNOT_OPEN
    symbols = triage.index_symbols(args.sym)
    for problem in symbols.problems:
        _say(f"triage: --sym {problem}")
    cache = triage.ResultCache(None if args.no_cache else
                               args.cache or str(cache_dir() / "triage.json"))
    report_dir = os.path.join(args.html, "reports") if args.html else None
    workers = args.dask_workers if args.dask is not None else args.workers
    records = []
    try:
        for record in triage.triage(paths, symbols, workers=workers, dask=args.dask,
                                    report_dir=report_dir, redact=args.redact, cache=cache):
            records.append(record)
            if args.json:
                print(json.dumps(record), flush=True)
    except XcrashError as exc:
        _say(f"triage: {exc}")
        return CANNOT_OPEN
    except BrokenPipeError:
        _silence_stdout()
        return OK
    if not args.json:
        print("\n".join(triage.table_lines(records)))
    if args.html:
        with open(os.path.join(args.html, "index.html"), "w", encoding="utf-8") as f:
            f.write(triage.summary_html(records))
    return FAILED if any(r.get("error") for r in records) else OK


#: the subcommands that come before the VMCORE positional
SUBCOMMANDS = {"report": _report, "triage": _triage}


def _opener() -> Any:
    spec = os.environ.get(TEST_SESSION_ENV)
    if spec:
        module, _, function = spec.partition(":")
        return getattr(importlib.import_module(module), function)
    import xcrash
    return xcrash.open


def _banner(runner: Any, args: argparse.Namespace) -> None:
    """crash starts with its version and the `sys` summary; so do we."""
    print(f"xcrash {__version__}", file=runner.out)
    if runner.registry.get("sys") is not None and not args.json:
        print(file=runner.out)
        runner.execute("sys")
    print(file=runner.out, flush=True)


def _say(message: str) -> None:
    print(f"xcrash: {message}", file=sys.stderr, flush=True)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass            # a closed or broken stream at exit: nothing more to say on it


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the final flush cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
