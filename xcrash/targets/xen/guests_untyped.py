"""The PV guests of a Xen dump when the hypervisor's types are unknown: a
symbols-only xen-syms (Debian's -dbg package) or none at all.

The same targets as with DWARF, from what needs none: the domains from
VMCOREINFO_XEN (and their vCPU arrays at struct domain's fixed first members),
dom0's p2m from Xen's crash note, a domU's from a ``shared_info`` candidate its
vmlinux proves, the page tables from each kernel's ``init_top_pgt``; the
registers of a vCPU loaded on a pCPU from that pCPU's guest frame, the others'
from ``arch.user_regs`` (its offset found by the saved PV frames it holds), a
lazily loaded vCPU settled by the guest's task stacks.  Such a guest needs its
vmlinux.
"""
from __future__ import annotations

import struct
from typing import Any, Iterator

from ...errors import MemoryError_, XcrashError
from ...memory.xen_pv import P2m, PvKernelSpace
from .domains import SHARED_INFO_P2M_FLL, Domain, domains
from .guests import (CPU_USER_REGS, CTXT_SWITCH_STACK_BYTES, SHARED_INFO_MAX_PFN, GuestCpu,
                     PvLinuxTarget, guest_cpu, match_symbol_file, pv_target, regs_from_bytes)
from .hypervisor import CPU_INFO_CURRENT_VCPU, STACK_SIZE

#: struct vcpu's first members, unchanged since Xen 3: int vcpu_id, int processor,
#: vcpu_info_t *vcpu_info, struct domain *domain
VCPU_ID_OFFSET, VCPU_PROCESSOR_OFFSET, VCPU_DOMAIN_OFFSET = 0, 4, 16
#: struct cpu_info: the guest frame (struct cpu_user_regs, 200 bytes) first, then
#: processor_id; its size varies by version (4.17: 264)
CPU_INFO_PROCESSOR_ID, CPU_INFO_MIN, CPU_INFO_MAX = 200, 216, 1024
#: a guest kernel's addresses (the upper half); PV kernel and user modes share CS
GUEST_KERNEL_START = 0xFFFF800000000000


def _cpu_info_near_note(xen: Any, cpu: int) -> int | None:
    """A pCPU's ``cpu_info`` with no xen-syms: at the top of the 8-page stack that
    holds the rsp of the pCPU's crash note, less the size (unknown without DWARF)
    at which it reads as this pCPU's (``processor_id``, and a ``current_vcpu``
    whose ``processor`` is this pCPU)."""
    notes = xen.dump.prstatus
    if cpu >= len(notes) or not notes[cpu].regs.get("rsp"):
        return None
    top = (notes[cpu].regs["rsp"] | (STACK_SIZE - 1)) + 1
    space = xen.space
    try:
        tail = space.read(top - CPU_INFO_MAX, CPU_INFO_MAX)
    except MemoryError_:
        return None
    for size in range(CPU_INFO_MIN, CPU_INFO_MAX + 1, 8):
        at = CPU_INFO_MAX - size
        processor_id = int.from_bytes(tail[at + CPU_INFO_PROCESSOR_ID:at + CPU_INFO_PROCESSOR_ID + 4],
                                      "little")
        vcpu = int.from_bytes(tail[at + CPU_INFO_CURRENT_VCPU:at + CPU_INFO_CURRENT_VCPU + 8],
                              "little")
        if processor_id != cpu or not space.directmap_start <= vcpu < space.directmap_end:
            continue
        try:
            if space.read_u32(vcpu + VCPU_PROCESSOR_OFFSET) == cpu:
                return top - size
        except MemoryError_:
            continue
    return None


def loaded_vcpu_registers(xen: Any, dom: Domain) -> list[GuestCpu]:
    """Without Xen's types: the registers of the domain's vCPUs whose state was
    loaded on a pCPU, from that pCPU's guest frame (``cpu_info`` at its stack top,
    sized from the TSS).  The loaded vCPU is ``per_cpu(curr_vcpu)`` when xen-syms
    has the symbol, else ``cpu_info->current_vcpu``; the mode is the frame's: a
    PV kernel runs in ring 3 like user code, so its rip tells."""
    curr_sym = xen.symbols.get("per_cpu__curr_vcpu") if xen.symbols is not None else None
    out = []
    for cpu in xen.online_cpus:
        try:
            if xen.symbols is not None:
                info = xen.cpu_info_address(cpu)
            else:
                info = _cpu_info_near_note(xen, cpu)
                if info is None:
                    continue
            if curr_sym is not None:
                vcpu = xen.space.read_u64(xen.per_cpu_address(curr_sym.address, cpu))
            else:
                vcpu = xen.space.read_u64(info + CPU_INFO_CURRENT_VCPU)
            if not vcpu or xen.space.read_u64(vcpu + VCPU_DOMAIN_OFFSET) != dom.address:
                continue
            vid = xen.space.read_u32(vcpu + VCPU_ID_OFFSET)
            regs = regs_from_bytes(xen.space.read(info, 200))
        except (XcrashError, MemoryError_):
            continue
        out.append(guest_cpu(vid, regs, f"Xen pCPU {cpu} guest frame (cpu_info)", vcpu, cpu,
                              regs["rip"] >= GUEST_KERNEL_START))
    offset = user_regs_offset(xen)
    if offset is not None:
        loaded = {c.vcpu for c in out}
        for vcpu in dom.vcpus:
            if vcpu in loaded:
                continue
            try:
                raw = xen.space.read(vcpu + offset, 200)
                vid = xen.space.read_u32(vcpu + VCPU_ID_OFFSET)
            except MemoryError_:
                continue
            if not _is_pv_frame(raw, 0):
                continue
            regs = regs_from_bytes(raw, CTXT_SWITCH_STACK_BYTES)
            out.append(guest_cpu(vid, regs, f"vcpu context (arch.user_regs, found at +{offset})",
                                  vcpu, None, regs["rip"] >= GUEST_KERNEL_START))
    return sorted(out, key=lambda c: c.index)


#: domain ids from here up are Xen's own (DOMID_FIRST_RESERVED)
DOMID_FIRST_RESERVED = 0x7FF0
#: a 64-bit PV guest's selectors as Xen saves them: FLAT_RING3_CS64 and FLAT_RING3_SS64
PV_CS64, PV_SS64 = 0xE033, 0xE02B
#: where to look for arch.user_regs in struct vcpu (4.17: +648 of 3520 bytes)
USER_REGS_SCAN = 4096


def user_regs_offset(xen: Any) -> int | None:
    """Without DWARF: the offset of ``arch.user_regs`` in struct vcpu: the only offset
    at which PV guest vCPUs (two at least) hold a saved 64-bit PV frame (CS 0xe033,
    SS 0xe02b, a non-zero rip and rsp); None when no offset or several do.  A vCPU
    never switched out has no frame there: it is read only where one is.  Found
    once per hypervisor target."""
    if hasattr(xen, "_pv_user_regs_offset"):
        return xen._pv_user_regs_offset
    found = None
    try:
        vcpus = [v for d in domains(xen) if d.type in "0U" and not d.hvm for v in d.vcpus]
        images = [xen.space.read(v, USER_REGS_SCAN) for v in vcpus]
    except (XcrashError, MemoryError_):
        images = []
    fits: dict[int, int] = {}
    for raw in images:
        for off in range(0, USER_REGS_SCAN - 200, 8):
            if _is_pv_frame(raw, off):
                fits[off] = fits.get(off, 0) + 1
    if len(fits) == 1 and next(iter(fits.values())) >= 2:
        found = next(iter(fits))
    xen._pv_user_regs_offset = found
    return found


def _is_pv_frame(raw: bytes, off: int) -> bool:
    """A saved 64-bit PV guest frame at ``off``: its selectors, a rip and an rsp."""
    return (struct.unpack_from("<H", raw, off + CPU_USER_REGS["cs"][0])[0] == PV_CS64
            and struct.unpack_from("<H", raw, off + CPU_USER_REGS["ss"][0])[0] == PV_SS64
            and struct.unpack_from("<Q", raw, off + CPU_USER_REGS["rip"][0])[0] != 0
            and struct.unpack_from("<Q", raw, off + CPU_USER_REGS["rsp"][0])[0] != 0)


REGISTERS_IN_STRUCT_VCPU = "Xen keeps them in struct vcpu, which only a xen-syms with DWARF " \
    "describes"
#: how far into struct domain to look for the shared_info pointer (4.17: offset 16)
SHARED_INFO_SCAN_BYTES = 256


def _shared_info_p2ms(xen: Any, dom: Domain) -> Iterator[P2m]:
    """Without struct domain's layout: the p2m of each word near the start of the
    domain that could be its ``shared_info`` pointer (a page-aligned Xen direct-map
    address whose page holds a plausible frame-list-list and max_pfn)."""
    space = xen.space
    try:
        raw = space.read(dom.address, SHARED_INFO_SCAN_BYTES)
    except MemoryError_:
        return
    for (word,) in struct.iter_unpack("<Q", raw):
        if word & 0xFFF or not space.directmap_start <= word < space.directmap_end:
            continue
        try:
            fll = space.read_u64(word + SHARED_INFO_P2M_FLL)
            max_pfn = space.read_u64(word + SHARED_INFO_MAX_PFN)
        except MemoryError_:
            continue
        if 0 < fll < 1 << 40 and 0 < max_pfn < 1 << 32:
            yield P2m(xen.dump, fll, max_pfn=max_pfn, name=f"dom{dom.domain_id} p2m")


def settle_lazy_frames(xen: Any, target: PvLinuxTarget) -> None:
    """With no ``curr_vcpu`` symbol a pCPU running its idle vCPU may still hold a
    guest vCPU's state (lazy switch) while that vCPU's arch.user_regs is stale.  The
    guest decides: a kernel-mode frame must have its rsp on a stack of the task the
    guest ran on that vCPU; one that does not is replaced by an idle pCPU's frame
    that does, or dropped (bt then says the registers are unknown)."""
    if xen.symbols is not None and xen.symbols.get("per_cpu__curr_vcpu") is not None:
        return
    from ..linux.tasks import active_tasks
    from ..linux.unwind import Stacks
    try:
        active = active_tasks(target)
    except (XcrashError, MemoryError_):
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
    settled = [c for c in target._cpus if c.pcpu is not None or fits(c.index, c.regs)]
    have = {c.vcpu for c in settled}
    for vcpu in target.domain.vcpus:
        if vcpu in have:
            continue
        try:
            vid = xen.space.read_u32(vcpu + VCPU_ID_OFFSET)
        except MemoryError_:
            continue
        for pcpu, regs in spare:
            if regs["rip"] >= GUEST_KERNEL_START and fits(vid, regs):
                spare.remove((pcpu, regs))
                settled.append(guest_cpu(vid, dict(regs),
                                          f"Xen pCPU {pcpu} guest frame (lazy switch: its rsp "
                                          f"is on vCPU {vid}'s task stack)", vcpu, pcpu, True))
                break
    target._cpus = sorted(settled, key=lambda c: c.index)


def _idle_pcpu_frames(xen: Any) -> list[tuple[int, dict[str, int]]]:
    """(pCPU, its guest frame) of the pCPUs whose current vCPU is not a guest's."""
    out = []
    for cpu in xen.online_cpus:
        try:
            info = xen.cpu_info_address(cpu) if xen.symbols is not None \
                else _cpu_info_near_note(xen, cpu)
            if info is None:
                continue
            current = xen.space.read_u64(info + CPU_INFO_CURRENT_VCPU)
            domain = xen.space.read_u64(current + VCPU_DOMAIN_OFFSET) if current else 0
            if domain and xen.space.read_u16(domain) < DOMID_FIRST_RESERVED:
                continue                # a guest vCPU runs there: its frame is taken
            raw = xen.space.read(info, 200)
        except (XcrashError, MemoryError_):
            continue
        if _is_pv_frame(raw, 0):
            out.append((cpu, regs_from_bytes(raw)))
    return out


def _registers_note(target: PvLinuxTarget, p2m_source: str) -> str:
    """The start-up note of a guest found without Xen's types: where its p2m came
    from and which vCPUs' registers are known (the loaded ones); marks the others
    unknown for bt."""
    known = [c.index for c in target.cpus]
    try:
        missing = [cpu for cpu in target.online_cpus if cpu not in known]
    except (XcrashError, MemoryError_):
        missing = []
    if missing:
        target.registers_unknown = REGISTERS_IN_STRUCT_VCPU
    parts = [p2m_source]
    on_pcpus = [str(c.index) for c in target.cpus if c.pcpu is not None]
    saved = [str(c.index) for c in target.cpus if c.pcpu is None]
    if on_pcpus:
        parts.append(f"vCPU {','.join(on_pcpus)} registers from the pCPUs' guest frames")
    if saved:
        parts.append(f"vCPU {','.join(saved)} registers from struct vcpu (arch.user_regs found "
                     "by its saved PV frame)")
    if missing:
        parts.append(f"vCPU {','.join(map(str, missing))} registers unknown (kept in struct "
                     "vcpu: needs Xen's DWARF)")
    return f" ({'; '.join(parts)})"


def domu_without_xen_types(xen: Any, dom: Domain, symfiles: list[Any], forced: Any = None
                           ) -> tuple[PvLinuxTarget | None, str]:
    """A domU when struct domain's layout is unknown: each candidate shared_info's
    p2m is tried until a vmlinux's banner (and build-id) reads right through it,
    which proves the p2m; the page tables then start at its ``init_top_pgt``."""
    name = f"dom{dom.domain_id}"
    for p2m in _shared_info_p2ms(xen, dom):
        space = PvKernelSpace(xen.dump, 0, p2m, name=name)
        candidates = [forced] if forced is not None else symfiles
        if any(match_symbol_file(space, sf)[0] for sf in candidates):
            target, line = pv_target(xen, dom, p2m, 0, loaded_vcpu_registers(xen, dom),
                                      candidates, None)
            if target.space.root:
                settle_lazy_frames(xen, target)
                return target, line + _registers_note(target, "p2m found through its shared_info")
    return None, f"{name}: no target: no vmlinux reads right through any p2m found near the " \
        "start of its struct domain (without Xen's DWARF a domU needs its vmlinux)"


def dom0_from_crash_note(xen: Any, dom: Domain | None, symfiles: list[Any], forced: Any = None
                         ) -> tuple[PvLinuxTarget | None, str]:
    """dom0 when the hypervisor's types are unknown: Xen's crash note gives dom0's
    p2m root and the kernel's ``init_top_pgt`` the page tables, as crash's dom0
    sessions do."""
    info = xen.xen
    fll = info.dom0_p2m_frame_list_list if info is not None else None
    if not fll:
        return None, "dom0: no target: Xen's crash note has no dom0 p2m (frame-list-list)"
    cpus = loaded_vcpu_registers(xen, dom) if dom is not None else []
    dom = dom or Domain(0, 0, "0", source="Xen crash note")
    target, line = pv_target(xen, dom, P2m(xen.dump, fll, name="dom0 p2m"), 0, cpus, symfiles,
                              forced)
    if not target.space.root:
        # the page-table root comes from the vmlinux (init_top_pgt): none, no target
        why = target.symbol_match.replace(": memory commands only", "")
        return None, (f"dom0: no target: {why}; without Xen's DWARF its page tables are found "
                      "through its vmlinux (init_top_pgt)")
    settle_lazy_frames(xen, target)
    return target, line + _registers_note(target, "p2m from Xen's crash note")


def guests_without_xen_types(xen: Any, symfiles: list[Any], forced: dict[str, Any]
                             ) -> tuple[dict[str, Any], list[str]]:
    """The PV guests when the hypervisor's types are unknown (a symbols-only xen-syms,
    as Debian's -dbg package ships, or none at all): dom0 through Xen's crash note,
    each domU through a p2m its vmlinux proves (VMCOREINFO_XEN lists the domains).
    The vCPUs' registers live in Xen's structures: unknown here."""
    try:
        doms = [d for d in domains(xen) if d.type in "0U"]
    except (XcrashError, MemoryError_):
        doms = []
    targets: dict[str, Any] = {}
    messages: list[str] = []
    for dom in [next((d for d in doms if d.type == "0"), None)] + \
            [d for d in doms if d.type == "U"]:
        name = f"dom{dom.domain_id}" if dom is not None else "dom0"
        try:
            if dom is None or dom.type == "0":
                target, line = dom0_from_crash_note(xen, dom, symfiles, forced.get(name))
            else:
                target, line = domu_without_xen_types(xen, dom, symfiles, forced.get(name))
        except (XcrashError, MemoryError_) as err:
            target, line = None, f"{name}: no target: {err}"
        if target is not None:
            targets[name] = target
        messages.append(line)
    return targets, messages
