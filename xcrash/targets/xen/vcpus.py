"""Xen vCPUs: ``struct vcpu`` of every domain, where its members are, and what
``vcpus`` shows.

A vCPU's state (``runstate.state``): 0 running, 1 runnable, 2 blocked,
3 offline.  crash shows RU for running and runnable, BL, OF.

Lazy context switch (xen-dumps.md §8.3): a pCPU's ``current`` (``cpu_info``'s
``current_vcpu``) may be its idle vCPU while ``per_cpu(curr_vcpu)`` still
holds a guest vCPU's state; that vCPU's registers are then in the pCPU's
``guest_cpu_user_regs``, not in ``v->arch.user_regs``.

Where struct vcpu keeps what xcrash reads is worked out in one place,
:func:`vcpu_layout`: from Xen's DWARF, else the first members that have not moved
since Xen 3 and the members found by what they hold (the runstate, the saved
guest frame).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from ...caveats import caveat
from ...errors import MemoryError_, XcrashError
from ..base import cached_per_target
from . import layout
from .domainlist import fixed_layout
from .domains import Domain, domains, find_domain, parse_hex
from .pcpus import crashing_vcpu, pcpus, running_vcpus

if TYPE_CHECKING:
    from .hypervisor import XenTarget

RUNSTATES = {0: "running", 1: "runnable", 2: "blocked", 3: "offline"}
_SHORT = {0: "RU", 1: "RU", 2: "BL", 3: "OF"}
#: the runstate without DWARF, when no offset fits: not known (crash's "??")
RUNSTATE_UNKNOWN = -1
#: how much of struct vcpu to search for a member found by its contents (4.17: the
#: runstate at +208, arch.user_regs at +648 of 3520 bytes)
VCPU_SCAN = 4096
#: a 64-bit PV guest's selectors as Xen saves them: FLAT_RING3_CS64 and FLAT_RING3_SS64
PV_CS64, PV_SS64 = 0xE033, 0xE02B


class VcpuLayout:
    """The offsets in struct vcpu of what xcrash reads: from Xen's DWARF, else the
    fixed first members (``vcpu_id``, ``processor``, ``domain``) and, found once by
    their contents, ``runstate`` and ``arch.user_regs`` (None when not found);
    ``arch.flags`` only from DWARF."""

    def __init__(self, target: XenTarget) -> None:
        self._target = target
        self.typed = target.has_types
        if self.typed:
            t = target.type("struct vcpu")
            self.vcpu_id = t.offsetof("vcpu_id")
            self.processor = t.offsetof("processor")
            self.domain = t.offsetof("domain")
        else:
            self.vcpu_id, self.processor, self.domain = \
                layout.VCPU_ID, layout.VCPU_PROCESSOR, fixed_layout(target).vcpu_domain

    @cached_property
    def runstate(self) -> int | None:
        """``runstate.state``: without DWARF the one offset at which every vCPU holds a
        plausible struct vcpu_runstate_info (int state, u64 state_entry_time,
        u64 time[4]: a state 0-3, time spent in it, the times adding up to no more
        than the entry time) that says RUNNING exactly for the vCPUs the pCPUs were
        running; None unless exactly one fits (or without xen-syms)."""
        target = self._target
        if self.typed:
            return target.offsetof("struct vcpu", "runstate.state")
        if target.symbols is None:
            return None
        running = running_vcpus(pcpus(target))
        images = _images([v for d in domains(target) for v in d.vcpus], target)
        if len(images) < 2 or not running:
            return None
        fits = [off for off in range(0, VCPU_SCAN - 48, 8)
                if all(_is_runstate(raw, off, v in running) for v, raw in images.items())]
        return fits[0] if len(fits) == 1 else None

    @cached_property
    def user_regs(self) -> int | None:
        """``arch.user_regs``: without DWARF the only offset at which PV guest vCPUs
        (two at least) hold a saved 64-bit PV frame (CS 0xe033, SS 0xe02b, a non-zero
        rip and rsp); None when no offset or several do.  A vCPU never switched out
        has no frame there: :func:`is_pv_frame` tells where one is."""
        target = self._target
        if self.typed:
            return target.offsetof("struct vcpu", "arch.user_regs")
        try:
            doms = domains(target)
        except XcrashError as err:
            caveat(f"the domains unreadable ({err}): arch.user_regs not searched, the "
                   "registers of the vCPUs not on a pCPU unknown")
            return None
        images = _images([v for d in doms if d.type in "0U" and not d.hvm for v in d.vcpus],
                         target)
        fits: dict[int, int] = {}
        for raw in images.values():
            for off in range(0, VCPU_SCAN - layout.CPU_USER_REGS_SIZE, 8):
                if is_pv_frame(raw, off):
                    fits[off] = fits.get(off, 0) + 1
        if len(fits) == 1 and next(iter(fits.values())) >= 2:
            return next(iter(fits))
        return None

    @cached_property
    def flags(self) -> int | None:
        """``arch.flags`` (TF_kernel_mode): DWARF only."""
        return self._target.offsetof("struct vcpu", "arch.flags") if self.typed else None


@cached_per_target
def vcpu_layout(target: XenTarget) -> VcpuLayout:
    return VcpuLayout(target)


def _images(vcpus: list[int], target: XenTarget) -> dict[int, bytes]:
    """The first bytes of each struct vcpu, for the searches by contents."""
    out = {}
    for v in vcpus:
        try:
            out[v] = target.space.read(v, VCPU_SCAN)
        except MemoryError_ as err:
            caveat(f"struct vcpu {v:x} unreadable ({err}): left out of the search for "
                   "struct vcpu's layout")
    return out


def _is_runstate(raw: bytes, off: int, running: bool) -> bool:
    state, pad = struct.unpack_from("<iI", raw, off)
    entry = struct.unpack_from("<Q", raw, off + 8)[0]
    times = struct.unpack_from("<4Q", raw, off + 16)
    return (0 <= state <= 3 and pad == 0 and 0 < sum(times) <= entry
            and times[state] > 0 and (state == 0) == running)


def is_pv_frame(raw: bytes, off: int) -> bool:
    """A saved 64-bit PV guest frame (struct cpu_user_regs) at ``off``: its
    selectors, a rip and an rsp."""
    regs = layout.CPU_USER_REGS
    return (struct.unpack_from("<H", raw, off + regs["cs"][0])[0] == PV_CS64
            and struct.unpack_from("<H", raw, off + regs["ss"][0])[0] == PV_SS64
            and struct.unpack_from("<Q", raw, off + regs["rip"][0])[0] != 0
            and struct.unpack_from("<Q", raw, off + regs["rsp"][0])[0] != 0)


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


def read_vcpu(target: XenTarget, addr: int, dom: Domain) -> Vcpu:
    if not target.has_types:
        space = target.space
        lay = vcpu_layout(target)
        state = space.read_u32(addr + lay.runstate) if lay.runstate is not None \
            else RUNSTATE_UNKNOWN
        return Vcpu(addr, space.read_u32(addr + lay.vcpu_id),
                    space.read_u32(addr + lay.processor), space.read_u64(addr + lay.domain),
                    dom.domain_id, dom.type, state)
    v = target.object_at("struct vcpu", addr)
    return Vcpu(addr, int(v.vcpu_id), int(v.processor), int(v.domain), dom.domain_id, dom.type,
                int(v.runstate.state), int(v.pause_flags), bool(int(v.is_running)))


def vcpus(target: XenTarget, doms: list[Domain] | None = None) -> list[Vcpu]:
    """Every vCPU, domain by domain in ``doms`` order, vCPU ids in order.  Without
    DWARF the domains' vCPU arrays are read at their fixed offsets and the runstate
    where :func:`vcpu_layout` finds it."""
    if target.symbols is None:
        target.need_types("the vCPU list")
    doms = doms if doms is not None else domains(target)
    return [read_vcpu(target, addr, dom) for dom in doms for addr in dom.vcpus]


def find_vcpu(target: XenTarget, spec: str, domain_spec: str | None = None) -> Vcpu:
    """A vCPU by address (hex), or by vCPU id within a domain (``vcpu -i DOM ID``)."""
    if domain_spec is not None:
        dom = find_domain(target, domain_spec)
        if not spec.isdigit():
            raise XcrashError(f"invalid vcpu id: {spec}")
        for addr in dom.vcpus:
            v = read_vcpu(target, addr, dom)
            if v.vcpu_id == int(spec):
                return v
        raise XcrashError(f"domain {dom.domain_id} has no vcpu {spec}")
    value = parse_hex(spec)
    if value is None:
        raise XcrashError(f"invalid vcpu: {spec}")
    for v in vcpus(target):
        if v.address == value:
            return v
    raise XcrashError(f"no vcpu {spec}")


# ---------------------------------------------------------------- the vcpus listing

@dataclass
class VcpuEntry:
    """A line of ``vcpus``."""
    vcpu_id: int
    #: the pCPU it runs or last ran on
    processor: int
    #: the struct vcpu
    vcpu: int
    #: RU running or runnable, BL blocked, OF offline, ?? unknown
    state: str
    #: its domain's type letter (see doms)
    type: str
    domain_id: int
    domain: int
    #: running, runnable, blocked, offline or unknown
    runstate: str
    #: its registers are loaded on its pCPU (it runs there, or the pCPU runs its idle
    #: vCPU since: lazy context switch)
    state_loaded: bool
    #: a pCPU was running it (crash's ``>``)
    active: bool = field(default=False, metadata={"json": False})
    #: the crashing pCPU was running it (crash's ``*``)
    crashing: bool = field(default=False, metadata={"json": False})


def vcpu_entries(target: XenTarget) -> list[VcpuEntry]:
    """``vcpus``: every vCPU with crash's marks."""
    pcs = pcpus(target)
    current = {p.cpu: p.current_vcpu for p in pcs}
    loaded = {p.curr_vcpu for p in pcs if p.lazy}
    crashing = crashing_vcpu(target, pcs)
    out = []
    guessed = False
    for v in vcpus(target):
        active = current.get(v.processor) == v.address
        if active and v.runstate == RUNSTATE_UNKNOWN:
            v.runstate = 0          # a pCPU's current vCPU is running, at least
            guessed = True
        out.append(VcpuEntry(v.vcpu_id, v.processor, v.address, v.state, v.domain_type,
                             v.domain_id, v.domain, v.state_name,
                             state_loaded=active or v.address in loaded,
                             active=active, crashing=v.address == crashing))
    if any(e.runstate == "unknown" for e in out) or guessed:
        caveat("the runstate is not where struct vcpu keeps it without DWARF: ST ?? but for "
               "the vCPUs the pCPUs were running (RU)")
    return out
