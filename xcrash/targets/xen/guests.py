"""The guests of a Xen host dump as Linux targets: ``dom0``, ``dom1``, ...

For each PV domain on ``domain_list`` (address-translation.md §4):

* **memory**: kernel virtual addresses walk the guest's own page tables in
  machine memory, rooted at vCPU 0's ``arch.guest_table`` (an MFN); the kernel
  image and direct map go through the guest's p2m (the frame-list-list: dom0's
  from Xen's crash note, a domU's from ``shared_info->arch``).  The target's
  physical space is the guest's pseudo-physical memory, read through the p2m.
* **symbols**: each vmlinux given is tried on each domain: its ``linux_banner``
  (a PV kernel is not randomised: the banner is at its link-time address) must
  read the same in the domain's memory, and the GNU build-id note in the
  guest's ``.notes`` (``__start_notes``) must equal the file's when both are
  there.  ``--sym domN=FILE`` forces a file on a domain (:mod:`.pvguest`).  A
  domain no file given fits gets its symbols from its own memory: the
  VMCOREINFO text its kernel keeps says where kallsyms is, BTF and ORC follow
  (:mod:`.guestsyms`).
* **registers** of every vCPU (xen-dumps.md §8.3): a vCPU whose state was loaded
  on a pCPU (``per_cpu(curr_vcpu)``, lazy switch included) has it in that pCPU's
  ``cpu_info->guest_cpu_user_regs``; the others in ``v->arch.user_regs``.

Without Xen's types (a symbols-only xen-syms, or none) :mod:`.guests_untyped`
builds the same targets from what needs no DWARF.

A domain with no symbols at all (no vmlinux fits, nothing usable in its memory)
still gets a target (kind ``linux``, no symbols): the memory commands (``rd``,
``search``, ``vtop``) work on its virtual and pseudo-physical addresses, the
others say that no symbol file serves it.
HVM/PVH guests are not supported yet (their p2m is Xen's EPT/NPT tree): they
are listed in the start-up messages only.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...caveats import caveat
from ...errors import MemoryError_, XcrashError
from ...memory.xen_pv import P2m
from .domains import Domain, domains
from .guestsyms import EVERYWHERE, SymbolSearch
from .guests_untyped import guests_without_xen_types
from .layout import (
    CPU_USER_REGS_SAVED,
    CPU_USER_REGS_SIZE,
    SHARED_INFO_MAX_PFN,
    regs_from_bytes,
)
from .pvguest import GuestCpu, PvLinuxTarget, TF_kernel_mode, guest_cpu, pv_target
from .vcpus import vcpu_layout

if TYPE_CHECKING:
    from ...symbols.symbolfile import SymbolFile
    from .hypervisor import XenTarget


def vcpu_registers(xen: XenTarget, dom: Domain) -> list[GuestCpu]:
    """Registers of each of a domain's vCPUs, indexed by vCPU id."""
    loaded: dict[int, int] = {}
    switching: set[int] = set()
    try:
        idle = xen.idle_vcpus
    except MemoryError_ as err:
        caveat(f"idle_vcpu[] unreadable ({err}): a pCPU stopped mid context switch is not "
               "told apart")
        idle = []
    for cpu in xen.online_cpus:
        try:
            v = int(xen.per_cpu("curr_vcpu", cpu))
            cur = xen.current_vcpu(cpu)
        except MemoryError_ as err:
            caveat(f"the vCPU loaded on pCPU {cpu} unreadable ({err}): registers taken from "
                   "struct vcpu")
            continue
        if v:
            loaded[v] = cpu
            # current is neither the loaded vCPU nor idle: Xen stopped in the middle
            # of a context switch, the frame on the stack may be either's
            if cur != v and (cpu >= len(idle) or cur != idle[cpu]):
                switching.add(v)
    lay = vcpu_layout(xen)
    assert lay.user_regs is not None and lay.flags is not None     # with DWARF
    out = []
    for addr in dom.vcpus:
        vid = xen.space.read_u32(addr + lay.vcpu_id)
        flags = xen.space.read_u64(addr + lay.flags)
        pcpu = loaded.get(addr)
        if pcpu is not None:
            raw = xen.space.read(xen.cpu_info_address(pcpu), CPU_USER_REGS_SIZE)
            regs = regs_from_bytes(raw)
            source = f"Xen pCPU {pcpu} guest frame (cpu_info)"
            if addr in switching:
                source += ", mid context switch: may be stale"
        else:
            raw = xen.space.read(addr + lay.user_regs, CPU_USER_REGS_SIZE)
            regs = regs_from_bytes(raw, CPU_USER_REGS_SAVED)
            source = "vcpu context (arch.user_regs)"
        out.append(guest_cpu(vid, regs, source, addr, pcpu, bool(flags & TF_kernel_mode)))
    return sorted(out, key=lambda c: c.index)


def guest_table_root(xen: XenTarget, vcpu: int) -> int:
    """Machine address of a PV vCPU's kernel L4 (``arch.guest_table``)."""
    v = xen.object_at("struct vcpu", vcpu)
    return int(v.arch.guest_table.pfn) << 12


def _p2m_for(xen: XenTarget, dom: Domain) -> P2m:
    fll = dom.p2m_mfn if isinstance(dom.p2m_mfn, int) else None
    if dom.type == "0" and xen.xen.dom0_p2m_frame_list_list:
        fll = xen.xen.dom0_p2m_frame_list_list
    max_pfn = None
    if dom.shared_info:
        try:
            max_pfn = xen.space.read_u64(dom.shared_info + SHARED_INFO_MAX_PFN)
        except MemoryError_ as err:
            caveat(f"dom{dom.domain_id}: shared_info's max_pfn unreadable ({err}): its p2m "
                   "read unbounded")
    return P2m(xen.dump, fll or 0, max_pfn=max_pfn or None, name=f"dom{dom.domain_id} p2m")


def build_guest(xen: XenTarget, dom: Domain, symfiles: list[SymbolFile],
                forced: SymbolFile | None = None, search: SymbolSearch = EVERYWHERE
                ) -> tuple[PvLinuxTarget, str]:
    """The target of one PV domain and a start-up line saying which symbols serve it."""
    p2m = _p2m_for(xen, dom)
    cpus = vcpu_registers(xen, dom)
    root = guest_table_root(xen, cpus[0].vcpu if cpus else dom.vcpus[0])
    return pv_target(xen, dom, p2m, root, cpus, symfiles, forced, search=search)


def guest_targets(xen: XenTarget, symbol_files: list[SymbolFile],
                  forced: dict[str, SymbolFile] | None = None, search: SymbolSearch = EVERYWHERE
                  ) -> tuple[dict[str, PvLinuxTarget], list[str]]:
    """The Linux targets of the PV domains (``{"dom0": ..., "dom1": ...}``), each
    served by the vmlinux whose banner and build-id are in its memory (``forced``:
    ``{"domN": symbol file}`` from ``--sym``), else by the symbols in its own memory
    (:mod:`.guestsyms`, as ``search`` allows: the debug vmlinux of its build-id
    first), and start-up messages saying which symbols serve which domain and why a
    domain has no target."""
    forced = forced or {}
    vmlinuxes = [s for s in symbol_files if s.kind == "vmlinux"]
    if not xen.has_types:
        return guests_without_xen_types(xen, vmlinuxes, forced, search)
    targets: dict[str, PvLinuxTarget] = {}
    messages: list[str] = []
    for dom in domains(xen):
        if dom.type not in "0U":
            continue
        name = f"dom{dom.domain_id}"
        if dom.hvm:
            messages.append(f"{name}: an HVM/PVH guest: not supported yet (no target)")
            continue
        if not dom.vcpus:
            messages.append(f"{name}: no vCPUs: no target")
            continue
        try:
            target, line = build_guest(xen, dom, vmlinuxes, forced.get(name), search)
        except XcrashError as err:      # said in the start-up messages
            messages.append(f"{name}: no target: {err}")
            continue
        targets[name] = target
        messages.append(line)
    return targets, messages
