"""crash's CPU specifications (``:1``, ``:1,3``, ``:0-2``, ``:a``, ``:``) and the CPUs
they range over: crash's ``kt->cpus``, the CPUs whose per-CPU areas were set up (on
x86_64 the highest present CPU plus one: an offline CPU is still counted, and shown
unless ``set offline hide``)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import CommandError, MemoryError_
from .base import cached_per_target

if TYPE_CHECKING:
    from .base import Target


@cached_per_target
def cpu_count(target: Target) -> int:
    """crash's ``kt->cpus``: the highest present CPU plus one (a Linux kernel), the
    pCPUs (a hypervisor), else the online CPUs."""
    from .linux.kernel import LinuxTarget
    from .xen.hypervisor import XenTarget
    if isinstance(target, LinuxTarget):
        present: list[int] = []
        try:
            present = target.cpu_mask("__cpu_present_mask")
        except MemoryError_:
            present = []        # unreadable mask: the online CPUs give the count below
        if present:
            return max(present) + 1
        online = target.online_cpus
        return max(online) + 1 if online else 1
    if isinstance(target, XenTarget):
        online = list(target.online_cpus)
        return max(online) + 1 if online else 1
    return 1


def offline_cpus(target: Target) -> set[int]:
    """The CPUs crash counts that are not online."""
    online = set(getattr(target, "online_cpus", ()) or ())
    return {c for c in range(cpu_count(target)) if c not in online}


def parse_cpuspec(target: Target, spec: str, current: int | None) -> list[int]:
    """The CPUs of a cpuspec (crash's make_cpumask): ``a``/``all`` every CPU crash
    counts, empty the context task's (``current``), else numbers and ranges; a CPU
    past the count is "invalid cpu specification"."""
    count = cpu_count(target)
    if spec == "":
        if current is None:
            raise CommandError("no context task: name the CPU")
        return [current]
    cpus: set[int] = set()
    for part in spec.split(","):
        if part in ("a", "all"):
            start, end = 0, count - 1
        else:
            first, _, last = part.partition("-")
            try:
                start = int(first)
                end = int(last) if last else start
            except ValueError:
                raise CommandError(f"invalid cpu specification: {spec}") from None
        if not (0 <= start < count and 0 <= end < count):
            raise CommandError(f"invalid cpu specification: {spec}")
        cpus.update(range(start, end + 1))
    return sorted(cpus)
