"""The work of one dump, the same in a local process pool and on a Dask worker: open
it with the symbol files of its build-ids, find its crash's title and signature, and
(``report_dir``) write its HTML report.  Small in memory: the session is closed
before the next dump, and what travels back is one JSON-able record.

A dump that cannot be opened gives an error record with the one-line reason.
"""
from __future__ import annotations

import hashlib
import os
import resource
import time
from dataclasses import dataclass
from typing import Any

from ..errors import XcrashError
from .symbols import SymbolIndex, chosen, dump_ids


@dataclass
class Job:
    """One dump to triage, with everything a worker needs (plain data: it is pickled)."""
    path: str
    symbols: SymbolIndex
    #: where to write the dump's HTML report (None: no report)
    report_dir: str | None = None
    redact: bool = False


def report_name(path: str) -> str:
    """The file name of a dump's report: its name and a hash of its full path (two
    ``vmcore`` files in two directories do not collide)."""
    digest = hashlib.sha256(os.path.abspath(path).encode()).hexdigest()[:10]
    return f"{os.path.basename(path)}-{digest}.html"


def stat_of(path: str) -> tuple[int, int]:
    """(size, mtime in ns) of a file; (0, 0) when it cannot be read."""
    try:
        st = os.stat(path)
    except OSError:
        return 0, 0
    return st.st_size, st.st_mtime_ns


def _peak_rss_kib() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def base_record(path: str) -> dict[str, Any]:
    size, mtime = stat_of(path)
    return {"path": path, "size": size, "mtime_ns": mtime, "format": None, "release": None,
            "build_id": None, "hypervisor": None, "hypervisor_build_id": None,
            "crash_time": None, "uptime": None, "title": None, "signature": None,
            "kind": None, "frames": [], "taint": None, "task": None, "symbols": [],
            "notes": [], "report": None, "error": None, "timing": {}, "worker": {}}


def triage_one(job: Job) -> dict[str, Any]:
    """The record of one dump (never raises: a failure is the record's ``error``)."""
    record = base_record(job.path)
    timing: dict[str, float] = {}
    session = None
    t0 = time.perf_counter()
    try:
        session = _open(job, record)
        t1 = time.perf_counter()
        timing["open"] = round(t1 - t0, 3)
        _crash(session, record)
        t2 = time.perf_counter()
        timing["signature"] = round(t2 - t1, 3)
        if job.report_dir is not None:
            record["report"] = _write_report(session, job)
            timing["report"] = round(time.perf_counter() - t2, 3)
    except (XcrashError, OSError) as err:
        record["error"] = _one_line(err)
    except Exception as err:        # a face's last resort: the other dumps go on
        record["error"] = f"internal error: {type(err).__name__}: {_one_line(err)}"
    finally:
        if session is not None:
            session.close()
    timing["total"] = round(time.perf_counter() - t0, 3)
    record["timing"] = timing
    record["worker"] = {"pid": os.getpid(), "peak_rss_kib": _peak_rss_kib()}
    return record


def _one_line(err: BaseException) -> str:
    if isinstance(err, OSError) and err.strerror:
        return f"{err.filename or ''}: {err.strerror}".lstrip(": ")
    return " ".join(str(err).split()) or type(err).__name__


def _open(job: Job, record: dict[str, Any]) -> Any:
    import xcrash
    from ..caveats import collecting
    from ..dump import open_dump
    dump = open_dump(job.path)
    try:
        ids = dump_ids(dump)
    finally:
        dump.close()
    record.update(format=ids.format, build_id=ids.build_id, release=ids.release,
                  hypervisor=ids.hypervisor, hypervisor_build_id=ids.hypervisor_build_id)
    symbols = chosen(job.symbols, ids)
    record["symbols"] = symbols
    with collecting():
        return xcrash.open(job.path, *symbols)


def _crash(session: Any, record: dict[str, Any]) -> None:
    """Title, signature, crashing task, taint, crash time and uptime of the dump."""
    from ..caveats import collecting
    from ..report import crash_sites, dump_crash
    record["notes"] = list(session.messages)   # where the symbols came from, what is missing
    sites = crash_sites(session)
    site = dump_crash(sites)
    if site is not None:
        record.update(title=site.title, signature=site.signature, kind=site.kind,
                      frames=site.frames)
        if site.pid is not None or site.cpu is not None:
            record["task"] = {"pid": site.pid, "comm": site.comm, "cpu": site.cpu,
                              "target": site.target}
    with collecting():
        _times_and_taint(session, record)


def _times_and_taint(session: Any, record: dict[str, Any]) -> None:
    from ..targets.linux import sysinfo, taints
    from ..targets.xen import sysinfo as xen_sysinfo
    kernel = next((t for name, t in session.targets.items()
                   if t.kind == "linux" and t.symfile is not None
                   and name in ("kernel", "dom0")), None)
    xen = session.targets.get("xen")
    try:
        if kernel is not None:
            record["crash_time"] = sysinfo.crash_time(kernel)
            if xen is None:
                record["uptime"] = sysinfo.uptime_seconds(kernel)
                taint = taints.kernel_taint(kernel)
                record["taint"] = {"mask": taint.tainted_mask, "flags": taint.flags}
            if record["release"] is None:
                record["release"] = kernel.utsname["release"]
        if xen is not None and xen.symbols is not None:
            record["uptime"] = xen_sysinfo.uptime_seconds(xen)
        if xen is not None:
            tainted = session.dump.xen.tainted
            record["taint"] = {"mask": tainted, "flags": ""} if tainted is not None else None
    except XcrashError:
        pass                    # what could be read is in the record already
    if record["crash_time"] is None:
        vi = session.dump.vmcoreinfo
        stamp = session.dump.header.timestamp
        record["crash_time"] = (int(vi.crashtime) if vi is not None and vi.crashtime
                                else int(stamp) if stamp else None)


def _write_report(session: Any, job: Job) -> str:
    from ..report import build_report, to_html
    assert job.report_dir is not None
    name = report_name(job.path)
    os.makedirs(job.report_dir, exist_ok=True)
    html = to_html(build_report(session, redact=job.redact))
    tmp = os.path.join(job.report_dir, f".{name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(html)
    os.replace(tmp, os.path.join(job.report_dir, name))
    return name
