"""What `sys` says about a hypervisor: CPUs, domains, uptime, machine, memory.

Each helper answers None when the hypervisor does not keep the fact (a symbol this
build lacks, or no xen-syms): `sys` then leaves the line out or says unknown.  A
fact that is there but cannot be read is said in a caveat as well.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...caveats import caveat
from ...errors import MemoryError_, NoSuchMember, NoSuchSymbol, NoSuchType, XcrashError
from ..base import NoSymbols
from .domains import domains

if TYPE_CHECKING:
    from .hypervisor import XenTarget

GIB = 1 << 30
MIB = 1 << 20
#: what a symbol this build or this symbol file lacks (or no xen-syms at all) raises
ABSENT = (NoSymbols, NoSuchSymbol, NoSuchType, NoSuchMember)


def machine(target: XenTarget) -> str | None:
    """The CPU model (``cpu_data[cpu].x86_model_id`` of the crashing CPU), as crash
    shows it for MACHINE."""
    cpu = target.crashing_cpu
    if cpu is None:
        cpu = target.online_cpus[0] if target.online_cpus else 0
    try:
        return target.object("cpu_data")[cpu].x86_model_id.string_(64).decode("latin-1").strip()
    except ABSENT:
        return None         # no cpu_data (or its type) in xen-syms
    except MemoryError_ as err:
        caveat(f"cpu_data[{cpu}] unreadable ({err}): MACHINE unknown")
        return None


def cpu_mhz(target: XenTarget) -> int | None:
    try:
        return target.space.read_u64(target.address_of("cpu_khz")) // 1000
    except ABSENT:
        return None         # no cpu_khz in xen-syms
    except MemoryError_ as err:
        caveat(f"cpu_khz unreadable ({err}): the clock rate unknown")
        return None


def memory_bytes(target: XenTarget) -> int | None:
    """``total_pages`` pages, rounded up to the next GiB when within 64 MiB of it (crash)."""
    try:
        total = target.space.read_u64(target.address_of("total_pages")) << 12
    except ABSENT:
        return None         # no total_pages in xen-syms
    except MemoryError_ as err:
        caveat(f"total_pages unreadable ({err}): MEMORY left out")
        return None
    next_gig = -(-total // GIB) * GIB
    if next_gig - total <= 64 * MIB:
        total = next_gig
    return total


def uptime_seconds(target: XenTarget) -> int | None:
    """Xen's system time at its last per-CPU calibration (``per_cpu(cpu_time).stamp
    .local_stime``, nanoseconds since boot; calibration runs every second): the
    latest of the pCPUs'."""
    best = None
    for cpu in target.online_cpus:
        try:
            ns = int(target.per_cpu("cpu_time", cpu).stamp.local_stime)
        except ABSENT:
            return None     # no per-CPU cpu_time (or its type) in xen-syms
        except MemoryError_ as err:
            caveat(f"per_cpu(cpu_time) of pCPU {cpu} unreadable ({err}): UPTIME from the "
                   "other pCPUs")
            continue
        if best is None or ns > best:
            best = ns
    return None if best is None else best // 10**9


def domain_count(target: XenTarget) -> int | None:
    try:
        return len(domains(target))
    except XcrashError as err:
        caveat(f"the domains unreadable ({err}): DOMAINS left out")
        return None
