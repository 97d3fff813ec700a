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
from .layout import CPU_TIME_LOCAL_STIME, MODEL_ID_SIZE, VENDOR_ID_SIZE, VENDOR_IDS

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
        if not target.has_types:
            return _model_by_vendor(target, cpu)
        return target.object("cpu_data")[cpu].x86_model_id.string_(64).decode("latin-1").strip()
    except ABSENT:
        return None         # no cpu_data (or its type) in xen-syms
    except MemoryError_ as err:
        caveat(f"cpu_data[{cpu}] unreadable ({err}): MACHINE unknown")
        return None


def _model_by_vendor(target: XenTarget, cpu: int) -> str | None:
    """Without DWARF: ``cpu_data[cpu].x86_model_id``, the 64 bytes after the vendor string
    (``x86_vendor_id``); the array's stride is the distance from pCPU 0's vendor string to
    pCPU 1's.  None when no known vendor string is where it should be."""
    assert target.symbols is not None
    sym = target.symbols.get("cpu_data")
    if sym is None:
        return None
    window = 4096
    raw = target.space.read(sym.address, window)
    found = [(raw.find(v.ljust(VENDOR_ID_SIZE, b"\0")), v) for v in VENDOR_IDS]
    found = [(at, v) for at, v in found if at >= 0]
    if not found:
        return None
    at, vendor = min(found)
    if cpu:
        stride = raw.find(vendor.ljust(VENDOR_ID_SIZE, b"\0"), at + VENDOR_ID_SIZE) - at
        if stride <= 0:
            return None     # pCPU 1's entry not within the window: the stride is unknown
        raw = target.space.read(sym.address + at + cpu * stride, VENDOR_ID_SIZE + MODEL_ID_SIZE)
        if not raw.startswith(vendor):
            return None     # that pCPU's entry holds no (or another) vendor: not guessed
        at = 0
    model = raw[at + VENDOR_ID_SIZE:at + VENDOR_ID_SIZE + MODEL_ID_SIZE].split(b"\0")[0]
    text = model.decode("latin-1").strip()
    return text if text and text.isprintable() else None


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
            ns = _local_stime(target, cpu)
        except ABSENT:
            return None     # no per-CPU cpu_time (or its type) in xen-syms
        except MemoryError_ as err:
            caveat(f"per_cpu(cpu_time) of pCPU {cpu} unreadable ({err}): UPTIME from the "
                   "other pCPUs")
            continue
        if best is None or ns > best:
            best = ns
    return None if best is None else best // 10**9


def _local_stime(target: XenTarget, cpu: int) -> int:
    if target.has_types:
        return int(target.per_cpu("cpu_time", cpu).stamp.local_stime)
    assert target.symbols is not None
    sym = target.symbols.get("per_cpu__cpu_time")
    if sym is None:
        raise NoSuchSymbol("per_cpu__cpu_time")
    return target.space.read_u64(target.per_cpu_address(sym.address, cpu) + CPU_TIME_LOCAL_STIME)


def domain_count(target: XenTarget) -> int | None:
    try:
        return len(domains(target))
    except XcrashError as err:
        caveat(f"the domains unreadable ({err}): DOMAINS left out")
        return None
