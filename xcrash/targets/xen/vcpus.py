"""Xen vCPUs: ``struct vcpu`` of every domain, and where their registers are.

A vCPU's state (``runstate.state``): 0 running, 1 runnable, 2 blocked,
3 offline.  crash shows RU for running and runnable, BL, OF.

Lazy context switch (xen-dumps.md §8.3): a pCPU's ``current`` (``cpu_info``'s
``current_vcpu``) may be its idle vCPU while ``per_cpu(curr_vcpu)`` still
holds a guest vCPU's state; that vCPU's registers are then in the pCPU's
``guest_cpu_user_regs``, not in ``v->arch.user_regs``.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from ...errors import XcrashError
from .domains import Domain, domains

RUNSTATES = {0: "running", 1: "runnable", 2: "blocked", 3: "offline"}
_SHORT = {0: "RU", 1: "RU", 2: "BL", 3: "OF"}


@dataclass
class Vcpu:
    address: int
    vcpu_id: int
    processor: int
    domain: int           # struct domain address
    domain_id: int
    domain_type: str      # the domain's doms T letter
    runstate: int
    pause_flags: int = 0
    is_running: bool = False

    @property
    def state(self) -> str:
        return _SHORT.get(self.runstate, "??")

    @property
    def state_name(self) -> str:
        return RUNSTATES.get(self.runstate, "unknown")


#: struct vcpu's first members, the same since Xen 3: vcpu_id, processor, domain
VCPU_ID, VCPU_PROCESSOR, VCPU_DOMAIN = 0, 4, 16
#: the runstate without DWARF: not known (crash's "??")
RUNSTATE_UNKNOWN = -1


#: how much of struct vcpu to search for the runstate (4.17: +208 of 3520 bytes)
RUNSTATE_SCAN = 4096


def runstate_offset(target: Any, vcpus: list[int], running: set[int]) -> int | None:
    """Without DWARF: the offset of ``runstate`` (struct vcpu_runstate_info: int state,
    u64 state_entry_time, u64 time[4]) in struct vcpu: the one offset at which every
    vCPU holds a plausible runstate (a state 0-3, time spent in it, the times adding
    up to no more than the entry time) that says RUNNING exactly for the vCPUs the
    pCPUs were running.  None unless exactly one fits.  Found once per target."""
    if hasattr(target, "_runstate_offset"):
        return target._runstate_offset
    found = None
    try:
        images = {v: target.space.read(v, RUNSTATE_SCAN) for v in vcpus}
    except XcrashError:
        images = {}
    if len(images) >= 2 and running:
        fits = [off for off in range(0, RUNSTATE_SCAN - 48, 8)
                if all(_is_runstate(raw, off, v in running) for v, raw in images.items())]
        found = fits[0] if len(fits) == 1 else None
    target._runstate_offset = found
    return found


def _is_runstate(raw: bytes, off: int, running: bool) -> bool:
    state, pad = struct.unpack_from("<iI", raw, off)
    entry = struct.unpack_from("<Q", raw, off + 8)[0]
    times = struct.unpack_from("<4Q", raw, off + 16)
    return (0 <= state <= 3 and pad == 0 and 0 < sum(times) <= entry
            and times[state] > 0 and (state == 0) == running)


def read_vcpu(target: Any, addr: int, dom: Domain, runstate_at: int | None = None) -> Vcpu:
    if not target.has_types:
        space = target.space
        state = space.read_u32(addr + runstate_at) if runstate_at is not None \
            else RUNSTATE_UNKNOWN
        return Vcpu(addr, space.read_u32(addr + VCPU_ID), space.read_u32(addr + VCPU_PROCESSOR),
                    space.read_u64(addr + VCPU_DOMAIN), dom.domain_id, dom.type, state)
    v = target.object_at("struct vcpu", addr)
    return Vcpu(addr, int(v.vcpu_id), int(v.processor), int(v.domain), dom.domain_id, dom.type,
                int(v.runstate.state), int(v.pause_flags), bool(int(v.is_running)))


def vcpus(target: Any, doms: list[Domain] | None = None) -> list[Vcpu]:
    """Every vCPU, domain by domain in ``doms`` order, vCPU ids in order.  Without
    DWARF the domains' vCPU arrays are read at their fixed offsets and the runstate
    stays unknown."""
    if target.symbols is None:
        target.need_types("the vCPU list")
    doms = doms if doms is not None else domains(target)
    runstate_at = None
    if not target.has_types:
        from .pcpus import pcpus, running_vcpus
        runstate_at = runstate_offset(target, [a for d in doms for a in d.vcpus],
                                      running_vcpus(pcpus(target)))
    out = []
    for dom in doms:
        for addr in dom.vcpus:
            out.append(read_vcpu(target, addr, dom, runstate_at))
    return out


def find_vcpu(target: Any, spec: str, domain_spec: str | None = None) -> Vcpu:
    """A vCPU by address (hex), or by vCPU id within a domain (``vcpu -i DOM ID``)."""
    from .domains import find_domain
    if domain_spec is not None:
        dom = find_domain(target, domain_spec)
        try:
            vid = int(spec, 10)
        except ValueError:
            raise XcrashError(f"invalid vcpu id: {spec}") from None
        for addr in dom.vcpus:
            v = read_vcpu(target, addr, dom)
            if v.vcpu_id == vid:
                return v
        raise XcrashError(f"domain {dom.domain_id} has no vcpu {vid}")
    try:
        value = int(spec, 16)
    except ValueError:
        raise XcrashError(f"invalid vcpu: {spec}") from None
    for v in vcpus(target):
        if v.address == value:
            return v
    raise XcrashError(f"no vcpu {spec}")
