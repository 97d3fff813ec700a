"""What `sys` says about a hypervisor: CPUs, domains, uptime, machine, memory."""
from __future__ import annotations

from typing import Any

from ...errors import MemoryError_, XcrashError

GIB = 1 << 30
MIB = 1 << 20


def machine(target: Any) -> str | None:
    """The CPU model (``cpu_data[cpu].x86_model_id`` of the crashing CPU), as crash
    shows it for MACHINE."""
    cpu = target.crashing_cpu
    if cpu is None:
        cpu = target.online_cpus[0] if target.online_cpus else 0
    try:
        return target.object("cpu_data")[cpu].x86_model_id.string_(64).decode("latin-1").strip()
    except XcrashError:
        return None


def cpu_mhz(target: Any) -> int | None:
    try:
        return target.space.read_u64(target.address_of("cpu_khz")) // 1000
    except XcrashError:
        return None


def memory_bytes(target: Any) -> int | None:
    """``total_pages`` pages, rounded up to the next GiB when within 64 MiB of it (crash)."""
    try:
        total = target.space.read_u64(target.address_of("total_pages")) << 12
    except XcrashError:
        return None
    next_gig = -(-total // GIB) * GIB
    if next_gig - total <= 64 * MIB:
        total = next_gig
    return total


def uptime_seconds(target: Any) -> int | None:
    """Xen's system time at its last per-CPU calibration (``per_cpu(cpu_time).stamp
    .local_stime``, nanoseconds since boot; calibration runs every second)."""
    best = None
    for cpu in target.online_cpus:
        try:
            ns = int(target.per_cpu("cpu_time", cpu).stamp.local_stime)
        except (XcrashError, MemoryError_):
            continue
        if best is None or ns > best:
            best = ns
    return None if best is None else best // 10**9


def domain_count(target: Any) -> int | None:
    from .domains import domains
    try:
        return len(domains(target))
    except XcrashError:
        return None
