"""Xen vCPUs: ``struct vcpu`` of every domain, and where their registers are.

A vCPU's state (``runstate.state``): 0 running, 1 runnable, 2 blocked,
3 offline.  crash shows RU for running and runnable, BL, OF.

Lazy context switch (xen-dumps.md §8.3): a pCPU's ``current`` (``cpu_info``'s
``current_vcpu``) may be its idle vCPU while ``per_cpu(curr_vcpu)`` still
holds a guest vCPU's state; that vCPU's registers are then in the pCPU's
``guest_cpu_user_regs``, not in ``v->arch.user_regs``.
"""
from __future__ import annotations

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


def read_vcpu(target: Any, addr: int, dom: Domain) -> Vcpu:
    if not target.has_types:
        space = target.space
        return Vcpu(addr, space.read_u32(addr + VCPU_ID), space.read_u32(addr + VCPU_PROCESSOR),
                    space.read_u64(addr + VCPU_DOMAIN), dom.domain_id, dom.type,
                    RUNSTATE_UNKNOWN)
    v = target.object_at("struct vcpu", addr)
    return Vcpu(addr, int(v.vcpu_id), int(v.processor), int(v.domain), dom.domain_id, dom.type,
                int(v.runstate.state), int(v.pause_flags), bool(int(v.is_running)))


def vcpus(target: Any, doms: list[Domain] | None = None) -> list[Vcpu]:
    """Every vCPU, domain by domain in ``doms`` order, vCPU ids in order.  Without
    DWARF the domains' vCPU arrays are read at their fixed offsets and the runstate
    stays unknown."""
    if target.symbols is None:
        target.need_types("the vCPU list")
    out = []
    for dom in doms if doms is not None else domains(target):
        for addr in dom.vcpus:
            out.append(read_vcpu(target, addr, dom))
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
