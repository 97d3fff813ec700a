"""What ``sys`` says of a dump: one record per target kind, each field a string
spelled as crash's ``sys`` prints it (the JSON of ``sys`` keeps crash's spelling).

The Linux record is :class:`~xcrash.targets.linux.sysinfo.LinuxSystem`; here are
the pieces every kind shares (the dump file line, crash's spellings of dates,
sizes and uptimes), the record of a hypervisor (:class:`XenSystem`, from the
helpers of ``targets/xen/sysinfo.py``) and the record of a target that knows no
kernel (:class:`DumpSystem`: what the dump itself says).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..caveats import Unreadable, caveat

if TYPE_CHECKING:
    from .xen.hypervisor import XenTarget


# -- crash's spellings --------------------------------------------------------------------
def crash_date(seconds: int) -> str:
    """``Thu Nov 26 08:12:21 UTC 2026`` in the local time zone, as crash's ctime_tz."""
    return time.strftime("%a %b %e %H:%M:%S %Z %Y", time.localtime(seconds))


def format_uptime(seconds: int) -> str:
    """``00:00:12``, ``3 days, 01:02:03``."""
    days, rest = divmod(seconds, 86400)
    hms = f"{rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}"
    return f"{days} days, {hms}" if days else hms


def format_size(size: int) -> str:
    """crash's memory size: ``255.5 MB``, ``2 GB``."""
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= scale:
            value = size / scale
            text = f"{value:.1f}"
            return f"{text.removesuffix('.0')} {unit}"
    return f"{size} bytes"


def dumpfile(dump: Any) -> tuple[str, bool]:
    """crash's DUMPFILE value (``[PARTIAL DUMP]`` when makedumpfile filtered pages),
    and whether the dump is split: then each part on its own line (DUMPFILES)."""
    # only a split dump (dump/split.py) has parts
    parts = getattr(dump, "parts", None)
    if parts:
        return "\n".join(p.path + (" [PARTIAL DUMP]" if p.header.dump_level else "")
                         for p in parts), True
    return dump.path + ("  [PARTIAL DUMP]" if dump.header.dump_level else ""), False


# -- a target without kernel knowledge --------------------------------------------------
@dataclass
class DumpSystem:
    """``sys`` of a target that knows no kernel (physical memory only, or a Xen
    hypervisor without xen-syms): what the dump's own headers and notes say.  None:
    the dump does not say (no Xen notes, no VMCOREINFO)."""
    dumpfile: str
    format: str
    cpus: str
    xen: str | None
    release: str | None
    date: str | None
    memory: str
    #: a split dump: ``dumpfile`` holds one part per line
    split: bool = field(default=False, metadata={"json": False})


def dump_system(dump: Any) -> DumpSystem:
    path, split = dumpfile(dump)
    vi = dump.vmcoreinfo
    return DumpSystem(
        dumpfile=path, format=dump.format_name, cpus=str(len(dump.prstatus)),
        xen=dump.xen.version if dump.xen is not None else None,
        release=vi.osrelease if vi is not None and vi.osrelease else None,
        date=crash_date(vi.crashtime) if vi is not None and vi.crashtime is not None else None,
        memory=format_size(sum(end - start for start, end in dump.ranges())), split=split)


# -- the hypervisor ------------------------------------------------------------------------
@dataclass
class XenSystem:
    """``sys`` of the Xen hypervisor, crash's hypervisor layout plus RELEASE."""
    kernel: str
    dumpfile: str
    cpus: str
    domains: str | Unreadable
    #: ``--:--:--`` (crash's unknown uptime) when no pCPU's time could be read
    uptime: str
    machine: str
    memory: str | Unreadable
    release: str | None
    split: bool = field(default=False, metadata={"json": False})


def xen_system(target: XenTarget) -> XenSystem:
    from .xen import sysinfo
    path, split = dumpfile(target.dump)
    count = sysinfo.domain_count(target)
    domains: str | Unreadable = str(count) if count is not None else Unreadable("domain_list")
    if count is None:
        caveat("sys: the domain list is unreadable: DOMAINS shown as ?")
    up = sysinfo.uptime_seconds(target)
    if up is None:
        caveat("sys: no pCPU's cpu_time.stamp could be read: UPTIME shown as --:--:-- "
               "(crash's unknown)")
    mhz = sysinfo.cpu_mhz(target)
    model = sysinfo.machine(target)
    if model is None:
        caveat("sys: the crashing CPU's cpu_data.x86_model_id is unreadable: MACHINE shown "
               "as unknown")
    mem = sysinfo.memory_bytes(target)
    if mem is None:
        caveat("sys: total_pages is unreadable: MEMORY shown as ?")
    return XenSystem(
        kernel=target.symfile.path, dumpfile=path, cpus=str(len(target.online_cpus)),
        domains=domains, uptime=format_uptime(up) if up is not None else "--:--:--",
        machine=(model or "unknown") + (f"  ({mhz} Mhz)" if mhz else "  (unknown Mhz)"),
        memory=format_size(mem) if mem is not None else Unreadable("total_pages"),
        release=target.version or None, split=split)
