"""The PV guests of a Xen dump when the hypervisor's types are unknown: a
symbols-only xen-syms (Debian's -dbg package) or none at all.

The same targets as with DWARF, from what needs none: the domains from
VMCOREINFO_XEN (and their vCPU arrays at struct domain's fixed first members),
dom0's p2m from Xen's crash note, a domU's from a ``shared_info`` candidate its
vmlinux proves (or, with none, the kernel's own VMCOREINFO and kallsyms:
:mod:`.guestsyms`), the page tables from each kernel's ``init_top_pgt``; the
registers of a vCPU loaded on a pCPU from that pCPU's guest frame, the others'
from ``arch.user_regs`` (its offset found by the saved PV frames it holds:
:func:`.vcpus.vcpu_layout`), a lazily loaded vCPU settled by the guest's task
stacks.
"""
from __future__ import annotations

import struct
from typing import TYPE_CHECKING
from collections.abc import Iterator

from ...caveats import caveat
from ...errors import MemoryError_, XcrashError
from ...memory.xen_pv import P2m, PvKernelSpace
from ..linux.tasks import active_tasks
from ..linux.unwind import Stacks
from . import layout
from .domainlist import fixed_layout
from .domains import Domain, domains
from .guestsyms import EVERYWHERE, SymbolSearch
from .hypervisor import STACK_SIZE
from .pvguest import (
    MEMORY_ONLY,
    GuestCpu,
    PvLinuxTarget,
    choose_symbol_file,
    guest_cpu,
    guest_symbol_file,
    pv_target,
)
from .vcpus import is_pv_frame, vcpu_layout

if TYPE_CHECKING:
    from ...symbols.memfile import MemorySymbolFile
    from ...symbols.symbolfile import SymbolFile
    from .hypervisor import XenTarget

#: a guest kernel's addresses (the upper half); PV kernel and user modes share CS
GUEST_KERNEL_START = 0xFFFF800000000000
#: domain ids from here up are Xen's own (DOMID_FIRST_RESERVED)
DOMID_FIRST_RESERVED = 0x7FF0
REGISTERS_IN_STRUCT_VCPU = "Xen keeps them in struct vcpu, which only a xen-syms with DWARF " \
    "describes"
#: how far into struct domain to look for the shared_info pointer (4.17: offset 16)
SHARED_INFO_SCAN_BYTES = 256


def _cpu_info_near_note(xen: XenTarget, cpu: int) -> int | None:
    """A pCPU's ``cpu_info`` with no xen-syms: at the top of the 8-page stack that
    holds the rsp of the pCPU's crash note, less the size (unknown without DWARF)
    at which it reads as this pCPU's (``processor_id``, and a ``current_vcpu``
    whose ``processor`` is this pCPU).  None when no size does."""
    notes = xen.dump.prstatus
    if cpu >= len(notes) or not notes[cpu].regs.get("rsp"):
        return None             # this pCPU saved no registers: no stack to look at
    top = (notes[cpu].regs["rsp"] | (STACK_SIZE - 1)) + 1
    space = xen.space
    biggest = layout.CPU_INFO_MAX_SIZE
    try:
        tail = space.read(top - biggest, biggest)
    except MemoryError_ as err:
        caveat(f"the stack top of pCPU {cpu} unreadable ({err}): its guest frame not read")
        return None
    for size in range(layout.CPU_INFO_MIN_SIZE, biggest + 1, 8):
        at = biggest - size
        processor_id = int.from_bytes(
            tail[at + layout.CPU_INFO_PROCESSOR_ID:at + layout.CPU_INFO_PROCESSOR_ID + 4], "little")
        vcpu = int.from_bytes(
            tail[at + layout.CPU_INFO_CURRENT_VCPU:at + layout.CPU_INFO_CURRENT_VCPU + 8], "little")
        if processor_id != cpu or not space.directmap_start <= vcpu < space.directmap_end:
            continue
        try:
            if space.read_u32(vcpu + layout.VCPU_PROCESSOR) == cpu:
                return top - size
        except MemoryError_:
            continue            # not a struct vcpu there: not this size
    return None


def _cpu_info(xen: XenTarget, cpu: int) -> int | None:
    """A pCPU's cpu_info: from stack_base[] with xen-syms, else near its crash note."""
    return xen.cpu_info_address(cpu) if xen.symbols is not None else _cpu_info_near_note(xen, cpu)


def loaded_vcpu_registers(xen: XenTarget, dom: Domain) -> list[GuestCpu]:
    """Without Xen's types: the registers of the domain's vCPUs whose state was
    loaded on a pCPU, from that pCPU's guest frame (``cpu_info`` at its stack top,
    sized from the TSS), and of the others from ``arch.user_regs`` where a saved
    frame is.  The loaded vCPU is ``per_cpu(curr_vcpu)`` when xen-syms has the
    symbol, else ``cpu_info->current_vcpu``; the mode is the frame's: a PV kernel
    runs in ring 3 like user code, so its rip tells."""
    curr_sym = xen.symbols.get("per_cpu__curr_vcpu") if xen.symbols is not None else None
    lay = vcpu_layout(xen)
    out = []
    for cpu in xen.online_cpus:
        try:
            info = _cpu_info(xen, cpu)
            if info is None:
                continue        # said by _cpu_info_near_note when it is a read error
            if curr_sym is not None:
                vcpu = xen.space.read_u64(xen.per_cpu_address(curr_sym.address, cpu))
            else:
                vcpu = xen.space.read_u64(info + layout.CPU_INFO_CURRENT_VCPU)
            if not vcpu or xen.space.read_u64(vcpu + lay.domain) != dom.address:
                continue        # another domain's vCPU, or none, is loaded there
            vid = xen.space.read_u32(vcpu + lay.vcpu_id)
            regs = layout.regs_from_bytes(xen.space.read(info, layout.CPU_USER_REGS_SIZE))
        except XcrashError as err:
            caveat(f"dom{dom.domain_id}: pCPU {cpu}'s guest frame unreadable ({err}): not "
                   "taken")
            continue
        out.append(guest_cpu(vid, regs, f"Xen pCPU {cpu} guest frame (cpu_info)", vcpu, cpu,
                             regs["rip"] >= GUEST_KERNEL_START))
    offset = lay.user_regs
    if offset is not None:
        loaded = {c.vcpu for c in out}
        for vcpu in dom.vcpus:
            if vcpu in loaded:
                continue
            try:
                raw = xen.space.read(vcpu + offset, layout.CPU_USER_REGS_SIZE)
                vid = xen.space.read_u32(vcpu + lay.vcpu_id)
            except MemoryError_ as err:
                caveat(f"dom{dom.domain_id}: struct vcpu {vcpu:x} unreadable ({err}): its "
                       "registers unknown")
                continue
            if not is_pv_frame(raw, 0):
                continue        # never switched out: no frame saved there
            regs = layout.regs_from_bytes(raw, layout.CPU_USER_REGS_SAVED)
            out.append(guest_cpu(vid, regs, f"vcpu context (arch.user_regs, found at +{offset})",
                                 vcpu, None, regs["rip"] >= GUEST_KERNEL_START))
    return sorted(out, key=lambda c: c.index)


def _shared_info_p2ms(xen: XenTarget, dom: Domain) -> Iterator[P2m]:
    """Without struct domain's layout: the p2m of each word near the start of the
    domain that could be its ``shared_info`` pointer (a page-aligned Xen direct-map
    address whose page holds a plausible frame-list-list and max_pfn)."""
    space = xen.space
    try:
        raw = space.read(dom.address, SHARED_INFO_SCAN_BYTES)
    except MemoryError_ as err:
        caveat(f"struct domain of dom{dom.domain_id} unreadable ({err}): no shared_info found")
        return
    for (word,) in struct.iter_unpack("<Q", raw):
        if word & 0xFFF or not space.directmap_start <= word < space.directmap_end:
            continue
        try:
            fll = space.read_u64(word + layout.SHARED_INFO_P2M_FLL)
            max_pfn = space.read_u64(word + layout.SHARED_INFO_MAX_PFN)
        except MemoryError_:
            continue            # not a shared_info page: the next candidate
        if 0 < fll < 1 << 40 and 0 < max_pfn < 1 << 32:
            yield P2m(xen.dump, fll, max_pfn=max_pfn, name=f"dom{dom.domain_id} p2m")


def settle_lazy_frames(xen: XenTarget, target: PvLinuxTarget) -> None:
    """With no ``curr_vcpu`` symbol a pCPU running its idle vCPU may still hold a
    guest vCPU's state (lazy switch) while that vCPU's arch.user_regs is stale.  The
    guest decides: a kernel-mode frame must have its rsp on a stack of the task the
    guest ran on that vCPU; one that does not is replaced by an idle pCPU's frame
    that does, or dropped (bt then says the registers are unknown)."""
    if xen.symbols is not None and xen.symbols.get("per_cpu__curr_vcpu") is not None:
        return
    try:
        active = active_tasks(target)
    except XcrashError as err:
        caveat(f"{target.name}: the tasks on its vCPUs unreadable ({err}): the vCPUs' "
               "registers taken as found, stale ones included")
        return

    def fits(cpu: int, regs: dict[str, int]) -> bool:
        if regs.get("rip", 0) < GUEST_KERNEL_START:
            return True                 # user mode: nothing in the guest to check it by
        task = active.get(cpu)
        if task is None:
            return False
        stacks = Stacks(target, target.object_at("struct task_struct", task), cpu)
        return stacks.kind(regs["rsp"]) is not None

    spare = _idle_pcpu_frames(xen)
    settled = [c for c in target.guest_cpus if c.pcpu is not None or fits(c.index, c.regs)]
    have = {c.vcpu for c in settled}
    lay = vcpu_layout(xen)
    for vcpu in target.domain.vcpus:
        if vcpu in have:
            continue
        try:
            vid = xen.space.read_u32(vcpu + lay.vcpu_id)
        except MemoryError_ as err:
            caveat(f"{target.name}: struct vcpu {vcpu:x} unreadable ({err}): its registers "
                   "unknown")
            continue
        for pcpu, regs in spare:
            if regs["rip"] >= GUEST_KERNEL_START and fits(vid, regs):
                spare.remove((pcpu, regs))
                settled.append(guest_cpu(vid, dict(regs),
                                         f"Xen pCPU {pcpu} guest frame (lazy switch: its rsp "
                                         f"is on vCPU {vid}'s task stack)", vcpu, pcpu, True))
                break
    target.settle_registers(settled)


def _idle_pcpu_frames(xen: XenTarget) -> list[tuple[int, dict[str, int]]]:
    """(pCPU, its guest frame) of the pCPUs whose current vCPU is not a guest's."""
    out = []
    for cpu in xen.online_cpus:
        try:
            info = _cpu_info(xen, cpu)
            if info is None:
                continue        # said by _cpu_info_near_note when it is a read error
            current = xen.space.read_u64(info + layout.CPU_INFO_CURRENT_VCPU)
            domain = xen.space.read_u64(current + fixed_layout(xen).vcpu_domain) \
                if current else 0
            if domain and xen.space.read_u16(domain + layout.DOMAIN_ID) < DOMID_FIRST_RESERVED:
                continue                # a guest vCPU runs there: its frame is taken
            raw = xen.space.read(info, layout.CPU_USER_REGS_SIZE)
        except XcrashError as err:
            caveat(f"pCPU {cpu}'s guest frame unreadable ({err}): not offered to a lazily "
                   "switched vCPU")
            continue
        if is_pv_frame(raw, 0):
            out.append((cpu, layout.regs_from_bytes(raw)))
    return out


def _registers_note(target: PvLinuxTarget, p2m_source: str) -> str:
    """The start-up note of a guest found without Xen's types: where its p2m came
    from and which vCPUs' registers are known (the loaded ones); marks the others
    unknown for bt."""
    known = [c.index for c in target.cpus]
    try:
        missing = [cpu for cpu in target.online_cpus if cpu not in known]
    except XcrashError as err:
        caveat(f"{target.name}: its online CPUs unreadable ({err}): the vCPUs without "
               "registers not named")
        missing = []
    if missing:
        target.registers_unknown = REGISTERS_IN_STRUCT_VCPU
    parts = [p2m_source]
    on_pcpus = [str(c.index) for c in target.guest_cpus if c.pcpu is not None]
    saved = [str(c.index) for c in target.guest_cpus if c.pcpu is None]
    if on_pcpus:
        parts.append(f"vCPU {','.join(on_pcpus)} registers from the pCPUs' guest frames")
    if saved:
        parts.append(f"vCPU {','.join(saved)} registers from struct vcpu (arch.user_regs found "
                     "by its saved PV frame)")
    if missing:
        parts.append(f"vCPU {','.join(map(str, missing))} registers unknown (kept in struct "
                     "vcpu: needs Xen's DWARF)")
    return f" ({'; '.join(parts)})"


def domu_without_xen_types(xen: XenTarget, dom: Domain, symfiles: list[SymbolFile],
                           forced: SymbolFile | None = None, search: SymbolSearch = EVERYWHERE
                           ) -> tuple[PvLinuxTarget | None, str]:
    """A domU when struct domain's layout is unknown: each candidate shared_info's
    p2m is tried until a vmlinux's banner (and build-id) reads right through it, or
    with no vmlinux that fits, the kernel's own VMCOREINFO and kallsyms do
    (:mod:`.guestsyms`), which proves the p2m; the page tables then start at the
    kernel's ``init_top_pgt``."""
    name = f"dom{dom.domain_id}"
    for p2m in _shared_info_p2ms(xen, dom):
        space = PvKernelSpace(xen.dump, 0, p2m, name=name)
        chosen: tuple[SymbolFile | MemorySymbolFile | None, str]
        if forced is not None:
            chosen = choose_symbol_file(space, [forced])
        else:
            chosen = guest_symbol_file(xen.dump, space, p2m, symfiles, None, search)
        if chosen[0] is None:
            continue            # nothing reads right through it: not this guest's p2m
        target, line = pv_target(xen, dom, p2m, 0, loaded_vcpu_registers(xen, dom), symfiles,
                                 None, chosen_symbols=chosen)
        if target.space.root:
            settle_lazy_frames(xen, target)
            return target, line + _registers_note(target, "p2m found through its shared_info")
    what = "its vmlinux" if forced is not None else \
        "no vmlinux given, nor the kernel's own VMCOREINFO and kallsyms,"
    return None, (f"{name}: no target: {what} reads right through no p2m found near the "
                  "start of its struct domain (without Xen's DWARF that p2m is proved so)")


def dom0_from_crash_note(xen: XenTarget, dom: Domain | None, symfiles: list[SymbolFile],
                         forced: SymbolFile | None = None, search: SymbolSearch = EVERYWHERE
                         ) -> tuple[PvLinuxTarget | None, str]:
    """dom0 when the hypervisor's types are unknown: Xen's crash note gives dom0's
    p2m root and the kernel's ``init_top_pgt`` the page tables, as crash's dom0
    sessions do."""
    fll = xen.xen.dom0_p2m_frame_list_list
    if not fll:
        return None, "dom0: no target: Xen's crash note has no dom0 p2m (frame-list-list)"
    cpus = loaded_vcpu_registers(xen, dom) if dom is not None else []
    dom = dom or Domain(0, 0, "0", source="Xen crash note")
    target, line = pv_target(xen, dom, P2m(xen.dump, fll, name="dom0 p2m"), 0, cpus, symfiles,
                             forced, search=search)
    if not target.space.root:
        # the page-table root comes from the kernel's symbols (init_top_pgt): none, no target
        why = target.symbol_match.removesuffix(f": {MEMORY_ONLY}")
        return None, (f"dom0: no target: {why}; without Xen's DWARF its page tables are found "
                      "through its symbols (init_top_pgt)")
    settle_lazy_frames(xen, target)
    return target, line + _registers_note(target, "p2m from Xen's crash note")


def guests_without_xen_types(xen: XenTarget, symfiles: list[SymbolFile],
                             forced: dict[str, SymbolFile], search: SymbolSearch = EVERYWHERE
                             ) -> tuple[dict[str, PvLinuxTarget], list[str]]:
    """The PV guests when the hypervisor's types are unknown (a symbols-only xen-syms,
    as Debian's -dbg package ships, or none at all): dom0 through Xen's crash note,
    each domU through a p2m its symbols prove (VMCOREINFO_XEN lists the domains)."""
    messages: list[str] = []
    try:
        doms = [d for d in domains(xen) if d.type in "0U"]
    except XcrashError as err:
        messages.append(f"the domains unreadable ({err}): dom0 only, through Xen's crash note")
        doms = []
    targets: dict[str, PvLinuxTarget] = {}
    for dom in [next((d for d in doms if d.type == "0"), None)] + \
            [d for d in doms if d.type == "U"]:
        name = f"dom{dom.domain_id}" if dom is not None else "dom0"
        target: PvLinuxTarget | None
        try:
            if dom is None or dom.type == "0":
                target, line = dom0_from_crash_note(xen, dom, symfiles, forced.get(name),
                                                    search)
            else:
                target, line = domu_without_xen_types(xen, dom, symfiles, forced.get(name),
                                                      search)
        except XcrashError as err:      # said in the start-up messages
            target, line = None, f"{name}: no target: {err}"
        if target is not None:
            targets[name] = target
        messages.append(line)
    return targets, messages
