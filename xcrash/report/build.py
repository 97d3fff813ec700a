"""Build a dump's report: every target's sections, from the commands' records (run as
the shell runs them, on each target in turn) and from the targets' helpers for what
no command shows (the crash's title, tasks in D state, the log's reports, suspect
modules, the largest slab caches).

A section that fails is kept with its one-line error: a report of a damaged dump is
still a report.
"""
from __future__ import annotations

import os
import shlex
from collections.abc import Callable, Iterable
from typing import Any

from .. import __version__, caveats
from ..commands.base import Context
from ..commands.registry import Registry
from ..commands.settings import default_settings
from ..errors import XcrashError
from ..layouts.tasks import task_header
from ..layouts.times import duration
from ..results import parts, record_json
from ..targets.signature import CrashSite
from .model import FORMAT, DumpFacts, Report, Section, TargetReport
from .redact import Redactor

#: the log lines a report shows from the end of the log
LOG_TAIL = 50
#: the slab caches a report lists, the largest first
SLAB_TOP = 10

Produced = tuple[list[Any], list[str]]


class _Builder:
    """Runs commands and helpers on one session for the sections of a report."""

    def __init__(self, session: Any, redactor: Redactor) -> None:
        self.session = session
        self.redactor = redactor
        self.registry = Registry(plugins=False)
        self.settings = default_settings()

    def command(self, target: Any, key: str, title: str, line: str,
                shown: str | None = None) -> Section:
        """The section of a command line, run on ``target`` as the shell runs it
        (``shown``: the line the section names, when it is not the one run)."""
        words = shlex.split(line)
        cmd = self.registry.get(words[0])
        assert cmd is not None, words[0]

        def produce() -> Produced:
            self.session.select(target.name)
            ctx = Context(self.session, self.settings, registry=self.registry,
                          line=line[len(words[0]):].strip())
            records: list[Any] = []
            lines: list[str] = []
            for part in parts(cmd.run(ctx, words[1:])):
                records += part.records()
                lines += part.lines()
            return records, lines
        return self.helper(target, key, title, shown or line, produce)

    def helper(self, target: Any, key: str, title: str, command: str | None,
               produce: Callable[[], Produced]) -> Section:
        """A section made by ``produce`` (records, text lines), its caveats kept as its
        warnings, its error (a typed one, or any other: the report goes on) as its error."""
        section = Section(f"{target.name}-{key}", title, command)
        with caveats.collecting() as found:
            try:
                records, lines = produce()
                section.records = [record_json(r) for r in records]
                section.lines = list(lines)
            except XcrashError as err:
                section.error = str(err)
            except Exception as err:        # a face's last resort: the report goes on
                section.error = f"internal error: {type(err).__name__}: {err}"
        section.warnings = list(found)
        return section


# -- the sections of a Linux kernel --------------------------------------------------------
def _panic_line(system: Section) -> str | None:
    return next((line for line in system.lines if line.lstrip().startswith("PANIC: ")), None)


def _linux_sections(b: _Builder, target: Any, crash: CrashSite | None) -> list[Section]:
    from ..commands.log import record_lines
    from ..layouts.kmem import cache_lines
    from ..targets.linux import crashinfo, printk, slab
    from ..targets.linux.traces import trace_records
    from ..commands.bt import trace_lines

    out = [b.command(target, "system", "System", "sys")]
    b.redactor.add_name(next((r.get("nodename") for r in out[0].records), None))
    if crash is not None:
        panic = b.command(target, "panic", "Panic", "bt -p")
        line = _panic_line(out[0])
        if line is not None:
            panic.lines.insert(0, line)
        out.append(panic)
    out.append(b.command(target, "cpus", "Every CPU's back trace", "bt -a"))

    def blocked() -> Produced:
        records: list[Any] = []
        lines: list[str] = []
        for task in crashinfo.blocked_tasks(target):
            waited = duration(task.waited_ns) if isinstance(task.waited_ns, int) else "?"
            trace = trace_records(target, task.task)
            records += [task, *trace]
            if lines:
                lines.append("")
            lines.append(f"[{waited}] [{task.state}]  {task_header(task)}")
            lines += list(trace_lines(trace))[1:]
        return records, lines or ["no task in D state"]
    out.append(b.helper(target, "blocked", "Tasks in D state (time since they last ran)",
                        None, blocked))

    def log_tail() -> Produced:
        recs = list(printk.records(target))
        keep = b.redactor.keep_mask([r.text for r in recs])
        recs = [r for r, k in zip(recs, keep) if k][-LOG_TAIL:]
        return recs, list(record_lines(recs))
    out.append(b.helper(target, "log", f"The last {LOG_TAIL} log lines", f"log | tail -{LOG_TAIL}",
                        log_tail))

    def reports() -> Produced:
        found = crashinfo.log_reports(target)
        lines: list[str] = []
        for r in found:
            keep = b.redactor.keep_mask(r.lines)
            r.lines = [line for line, k in zip(r.lines, keep) if k]
            if lines:
                lines.append("")
            lines.append(f"-- {r.kind} at [{r.ts_nsec // 10**9:5d}.{r.ts_nsec % 10**9 // 1000:06d}]")
            lines += r.lines
        return found, lines or ["no WARNING, BUG, Oops, panic or Call Trace in the log"]
    out.append(b.helper(target, "reports", "WARNING, BUG, Oops and Call Trace blocks of the log",
                        None, reports))

    taint = b.command(target, "taint", "Taint and suspect modules", "sys -t")
    if taint.error is None:
        extra = b.helper(target, "modules", "", "mod -t", lambda: _module_notes(target))
        taint.records += extra.records
        taint.lines += extra.lines
        taint.warnings += extra.warnings
        taint.error = extra.error
        taint.command = "sys -t; mod -t"
    out.append(taint)
    out.append(b.command(target, "memory", "Memory", "kmem -i"))

    def slabs() -> Produced:
        caches = sorted(slab.slab_caches(target), key=lambda c: -c.slabs * c.slab_size)[:SLAB_TOP]
        return caches, list(cache_lines(caches))
    out.append(b.helper(target, "slab", f"The {SLAB_TOP} largest slab caches", "kmem -s", slabs))
    return out


def _module_notes(target: Any) -> Produced:
    from ..targets.linux.crashinfo import module_notes
    notes = module_notes(target)
    lines = [f"  {n.name:<24} {n.taints!s:<6} {', '.join(n.flags)}" for n in notes]
    return notes, lines or ["no tainted modules"]


# -- the sections of the hypervisor -------------------------------------------------------
def _xen_sections(b: _Builder, target: Any, crash: CrashSite | None) -> list[Section]:
    out = [b.command(target, "system", "System", "sys")]
    panic = b.command(target, "panic", "Crash (the crashing pCPU)", "bt")
    if crash is not None:
        panic.lines.insert(0, f"CRASH: {crash.message}")
    out.append(panic)
    out.append(b.command(target, "domains", "Domains", "doms"))
    out.append(b.command(target, "vcpus", "Virtual CPUs", "vcpus"))
    out.append(b.command(target, "pcpus", "Physical CPUs", "pcpus"))
    out.append(b.command(target, "cpus", "Every pCPU's back trace", "bt -a"))
    log = b.command(target, "log", f"The last {LOG_TAIL} console lines", "log",
                    shown=f"log | tail -{LOG_TAIL}")
    keep = b.redactor.keep_mask(log.lines)
    log.lines = [line for line, k in zip(log.lines, keep) if k][-LOG_TAIL:]
    log.records = [r for r, k in zip(log.records, keep) if k][-LOG_TAIL:]
    out.append(log)
    return out


# -- the report ------------------------------------------------------------------------------
def _targets(session: Any) -> list[Any]:
    """The hypervisor first, then the kernels and guests in the session's order; the
    machine target only when there is nothing else."""
    ts = list(session.targets.values())
    others = [t for t in ts if t.kind != "machine"]
    if not others:
        return ts
    return sorted(others, key=lambda t: t.kind != "xen")


def _site(target: Any, dom0: CrashSite | None = None) -> tuple[CrashSite | None, list[str]]:
    """A target's crash site and what could not be read on the way."""
    from ..targets.linux.kernel import LinuxTarget
    from ..targets.xen.hypervisor import XenTarget
    site: CrashSite | None = None
    with caveats.collecting() as found:
        try:
            if isinstance(target, XenTarget):
                from ..targets.xen.crashinfo import crash_site as xen_site
                site = xen_site(target, dom0)
            elif isinstance(target, LinuxTarget) and target.symfile is not None:
                from ..targets.linux.crashinfo import crash_site as linux_site
                site = linux_site(target)
        except XcrashError as err:
            found.append(f"the crash site is unreadable: {err}")
    return site, list(found)


def crash_sites(session: Any) -> dict[str, tuple[CrashSite | None, list[str]]]:
    """Each target's crash site (None: it did not crash, or cannot say) and the
    caveats met finding it; the hypervisor's after its guests' (a dom0 crash is
    titled by dom0's)."""
    sites: dict[str, tuple[CrashSite | None, list[str]]] = {}
    ts = _targets(session)
    for t in ts:
        if t.kind != "xen":
            sites[t.name] = _site(t)
    for t in ts:
        if t.kind == "xen":
            sites[t.name] = _site(t, sites.get("dom0", (None, []))[0])
    return sites


def dump_crash(sites: dict[str, tuple[CrashSite | None, list[str]]]) -> CrashSite | None:
    """The dump's crash: the hypervisor's on a Xen host, else the kernel's."""
    if "xen" in sites:
        return sites["xen"][0]
    return next((s for s, _w in sites.values() if s is not None), None)


def crash_section(target: Any, site: CrashSite, warnings: list[str]) -> Section:
    """The crash's title, signature and the frames that made it."""
    lines = [f"TITLE: {site.title}", f"SIGNATURE: {site.signature}",
             f"MESSAGE: {site.message}", "FRAMES: " + (" < ".join(site.frames) or "(none)")]
    if site.pid is not None:
        lines.append(f"TASK: {site.pid} ({site.comm})")
    if site.cpu is not None:
        lines.append(f"CPU: {site.cpu}")
    return Section(f"{target.name}-crash", "Crash title and signature", None,
                   records=[record_json(site)], warnings=warnings, lines=lines)


def dump_facts(session: Any) -> DumpFacts:
    dump = session.dump
    vi = dump.vmcoreinfo
    try:
        size = os.path.getsize(dump.path)
    except OSError:
        size = 0
    return DumpFacts(path=dump.path, format=dump.format_name, size=size,
                     build_id=vi.build_id if vi is not None else None,
                     hypervisor=dump.xen.version if dump.xen is not None else None)


def _release(target: Any) -> str:
    try:
        if target.kind == "xen":
            return str(target.version or "")
        if target.kind == "linux" and target.symfile is not None:
            return str(target.utsname["release"])
    except XcrashError:
        pass
    return ""


def build_report(session: Any, *, redact: bool = False,
                 targets: Iterable[str] | None = None) -> Report:
    """The report of every target of the session (or of those named); the session's
    current target is the same after it."""
    redactor = Redactor(redact)
    b = _Builder(session, redactor)
    current = session.current.name
    wanted = set(targets) if targets is not None else None
    sites = crash_sites(session)
    parts_: list[TargetReport] = []
    try:
        for t in _targets(session):
            if wanted is not None and t.name not in wanted:
                continue
            site, warnings = sites.get(t.name, (None, []))
            part = TargetReport(t.name, _kind(t), _release(t), site)
            if t.kind == "xen":
                part.sections = _xen_sections(b, t, part.crash)
            elif t.kind == "linux" and t.symfile is not None:
                part.sections = _linux_sections(b, t, part.crash)
            elif t.kind == "linux":
                part.sections = [Section(f"{t.name}-system", "System", None,
                                         error=f"{t.name}: no vmlinux serves this guest: "
                                               "memory commands only")]
            else:
                part.sections = [b.command(t, "system", "System", "sys")]
            if site is not None:
                part.sections.insert(0, crash_section(t, site, warnings))
            parts_.append(part)
    finally:
        session.select(current)
    facts = dump_facts(session)
    report = Report(FORMAT, __version__, facts, dump_crash(sites), parts_,
                    redacted=redact, messages=list(getattr(session, "messages", [])))
    if redact:
        _redact(report, session, redactor)
    return report


def _kind(target: Any) -> str:
    from ..targets.xen.pvguest import PvLinuxTarget
    if isinstance(target, PvLinuxTarget):
        return f"{target.xen_kind} linux"
    return str(target.kind)


def _redact(report: Report, session: Any, r: Redactor) -> None:
    r.add_path(report.dump.path)
    for s in getattr(session, "symbol_files", []):
        r.add_path(getattr(s, "path", None))
    for t in session.targets.values():
        r.add_path(getattr(t.symfile, "path", None) if t.symfile is not None else None)
    report.dump.path = r.text(report.dump.path)
    report.messages = [r.text(m) for m in report.messages]
    for part in report.targets:
        for section in part.sections:
            section.lines = [r.text(line) for line in section.lines]
            section.records = r.data(section.records)
            section.warnings = [r.text(w) for w in section.warnings]
            if section.error:
                section.error = r.text(section.error)
    if r.dropped:
        report.messages.append(f"--redact: {r.dropped} log lines that may carry secrets "
                               "were left out")
