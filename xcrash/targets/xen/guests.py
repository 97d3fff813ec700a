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
  there.  ``--sym domN=FILE`` forces a file on a domain.
* **registers** of every vCPU (xen-dumps.md §8.3): a vCPU whose state was loaded
  on a pCPU (``per_cpu(curr_vcpu)``, lazy switch included) has it in that pCPU's
  ``cpu_info->guest_cpu_user_regs``; the others in ``v->arch.user_regs``.

Without Xen's types (a symbols-only xen-syms, or none) :mod:`.guests_untyped`
builds the same targets from what needs no DWARF.

A domain no vmlinux fits still gets a target (kind ``linux``, no symbols): the
memory commands (``rd``, ``search``, ``vtop``) work on its virtual and
pseudo-physical addresses, the others say that no symbol file serves it.
HVM/PVH guests are not supported yet (their p2m is Xen's EPT/NPT tree): they
are listed in the start-up messages only.
"""
from __future__ import annotations

import struct
from typing import Any

from ...errors import MemoryError_, XcrashError
from ...memory.space import PhysicalSpace
from ...arch import PAGE_SHIFT, START_KERNEL_MAP
from ...memory.xen_pv import P2m, PvKernelSpace
from ..base import Cpu, NoSymbols
from ..linux.kernel import KernelLayout, LinuxTarget, banner_release
from .domains import Domain, domains
from .hypervisor import member_offset

#: offset of arch.max_pfn in the public shared_info (x86_64)
SHARED_INFO_MAX_PFN = 3088
#: struct cpu_user_regs, public ABI (xen-x86_64.h): name -> (offset, size)
CPU_USER_REGS = {
    "r15": (0, 8), "r14": (8, 8), "r13": (16, 8), "r12": (24, 8), "rbp": (32, 8),
    "rbx": (40, 8), "r11": (48, 8), "r10": (56, 8), "r9": (64, 8), "r8": (72, 8),
    "rax": (80, 8), "rcx": (88, 8), "rdx": (96, 8), "rsi": (104, 8), "rdi": (112, 8),
    "rip": (128, 8), "cs": (136, 2), "rflags": (144, 8), "rsp": (152, 8), "ss": (160, 2),
    "es": (168, 2), "ds": (176, 2), "fs": (184, 2), "gs": (192, 2),
}
#: only these bytes are copied to v->arch.user_regs on a context switch
CTXT_SWITCH_STACK_BYTES = 168
TF_kernel_mode = 1
#: Linux's __KERNEL_CS / __KERNEL_DS, what a bare-metal kernel-mode frame shows
KERNEL_CS, KERNEL_DS = 0x10, 0x18
#: Linux's __USER_CS / __USER_DS (64-bit)
USER_CS, USER_DS = 0x33, 0x2B


def regs_from_bytes(raw: bytes, size: int = 200) -> dict[str, int]:
    regs = {}
    for name, (off, n) in CPU_USER_REGS.items():
        if off + n <= size:
            regs[name] = int.from_bytes(raw[off:off + n], "little")
    return regs


class GuestCpu(Cpu):
    """A vCPU's registers, with where they came from and the vCPU's Xen facts."""

    def __init__(self, index: int, regs: dict[str, int], source: str, *, vcpu: int,
                 pcpu: int | None, kernel_mode: bool, guest_cs: int) -> None:
        super().__init__(index, regs, source)
        self.vcpu = vcpu              # struct vcpu address (Xen)
        self.pcpu = pcpu              # pCPU whose stack held the state, if any
        self.kernel_mode = kernel_mode
        self.guest_cs = guest_cs      # CS as Xen saved it (RPL 3 for a 64-bit PV kernel)


class _NoSymbols:
    """The symbol table of a guest no vmlinux serves: every look-up says so (as
    :class:`~xcrash.targets.base.NoSymbols`), address descriptions find nothing."""

    def __init__(self, name: str) -> None:
        self.name = name

    def get(self, name: str) -> Any:
        raise NoSymbols(self.name)

    lookup = lookup_static = get

    def resolve(self, addr: int) -> None:
        return None

    def __getattr__(self, attr: str) -> Any:
        # an AttributeError too, so that hasattr() probes simply answer False
        raise _NoSymbolsAttribute(self.name)


class _NoSymbolsAttribute(NoSymbols, AttributeError):
    pass


class PvLinuxTarget(LinuxTarget):
    """A Linux kernel running as a Xen PV guest."""

    def __init__(self, *args: Any, domain: Domain, p2m: P2m, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.domain = domain
        self.p2m = p2m
        if self.symbols is None:
            self.symbols = _NoSymbols(self.name)
        self.xen_kind = "PV"
        #: how the symbol file was chosen (for `target`)
        self.symbol_match = ""
        #: why the vCPUs' registers are not known, when they are not (bt says it)
        self.registers_unknown: str | None = None

    #: Xen's read-write machine-to-phys table (RDWR_MPT_VIRT_START), in Xen's space
    M2P_VIRT_START = 0xFFFF828000000000

    def pseudo_physical(self, maddr: int) -> int | None:
        """The guest's pseudo-physical address of a machine address: Xen's m2p
        (``machine_to_phys_mapping``), checked against this guest's p2m."""
        xen = getattr(self, "xen", None)
        if xen is None:
            return None
        mfn = maddr >> 12
        try:
            pfn = xen.space.read_u64(self.M2P_VIRT_START + 8 * mfn)
        except MemoryError_:
            return None
        if pfn >> 63 or self.p2m.mfn(pfn) != mfn:
            return None
        return (pfn << 12) | (maddr & 0xFFF)

    @property
    def cpus(self) -> list[Cpu]:  # type: ignore[override]
        """The vCPUs' registers, each already under its vCPU id (the dump's notes
        are the pCPUs', not this guest's)."""
        return self._cpus

    @property
    def domain_id(self) -> int:
        return self.domain.domain_id

    def memory_ranges(self) -> list[tuple[int, int]]:
        """The guest's own pseudo-physical ranges (what ``search`` scans)."""
        return self.p2m.ranges()

    def user_root(self, pgd: int) -> int:
        """``mm->pgd`` is a direct-map address whose page holds machine frames, like
        every PV page table: its machine address roots the walk."""
        return self.space.translate(pgd)

    def summary(self) -> dict[str, Any]:
        if self.symfile is None:
            return {"cpus": len(self._cpus)}
        return super().summary()


# ------------------------------------------------------------------ registers

def vcpu_registers(xen: Any, dom: Domain) -> list[GuestCpu]:
    """Registers of each of a domain's vCPUs, indexed by vCPU id."""
    loaded: dict[int, int] = {}
    switching: set[int] = set()
    try:
        idle = xen._pointer_array("idle_vcpu")
    except (XcrashError, MemoryError_):
        idle = []
    for cpu in xen.online_cpus:
        try:
            v = int(xen.per_cpu("curr_vcpu", cpu))
            cur = xen.current_vcpu(cpu)
        except (XcrashError, MemoryError_):
            continue
        if v:
            loaded[v] = cpu
            # current is neither the loaded vCPU nor idle: Xen stopped in the middle
            # of a context switch, the frame on the stack may be either's
            if cur != v and (cpu >= len(idle) or cur != idle[cpu]):
                switching.add(v)
    vcpu_t = xen.type("struct vcpu")
    arch_off = member_offset(vcpu_t, "arch")
    arch_t = vcpu_t.member("arch")[1].type
    regs_off = arch_off + member_offset(arch_t, "user_regs")
    flags_off = arch_off + member_offset(arch_t, "flags")
    out = []
    for addr in dom.vcpus:
        vid = xen.space.read_u32(addr)
        flags = xen.space.read_u64(addr + flags_off)
        pcpu = loaded.get(addr)
        if pcpu is not None:
            raw = xen.space.read(xen.cpu_info_address(pcpu), 200)
            regs = regs_from_bytes(raw)
            source = f"Xen pCPU {pcpu} guest frame (cpu_info)"
            if addr in switching:
                source += ", mid context switch: may be stale"
        else:
            raw = xen.space.read(addr + regs_off, 200)
            regs = regs_from_bytes(raw, CTXT_SWITCH_STACK_BYTES)
            source = "vcpu context (arch.user_regs)"
        out.append(guest_cpu(vid, regs, source, addr, pcpu, bool(flags & TF_kernel_mode)))
    return sorted(out, key=lambda c: c.index)


def guest_cpu(vid: int, regs: dict[str, int], source: str, vcpu: int, pcpu: int | None,
               kernel: bool) -> GuestCpu:
    guest_cs = regs.get("cs", 0)
    if kernel:
        # a 64-bit PV kernel runs in ring 3 (FLAT_KERNEL_CS64 0xe033): show the
        # frame as Linux sees a kernel-mode one, so unwinders take it as such
        regs["cs"], regs["ss"] = KERNEL_CS, KERNEL_DS
    elif guest_cs & 3:
        regs["cs"], regs["ss"] = USER_CS, USER_DS
    for name in ("orig_rax", "fs_base", "gs_base"):
        regs.setdefault(name, 0)
    return GuestCpu(vid, regs, source, vcpu=vcpu, pcpu=pcpu, kernel_mode=kernel,
                    guest_cs=guest_cs)


def guest_table_root(xen: Any, vcpu: int) -> int:
    """Machine address of a PV vCPU's kernel L4 (``arch.guest_table``)."""
    v = xen.object_at("struct vcpu", vcpu)
    return int(v.arch.guest_table.pfn) << 12


# ------------------------------------------------------------------ symbol files

def _gnu_build_id(notes: bytes) -> str | None:
    off = 0
    while off + 12 <= len(notes):
        namesz, descsz, ntype = struct.unpack_from("<III", notes, off)
        if namesz > 256 or descsz > 4096:
            return None
        name_off = off + 12
        desc_off = name_off + ((namesz + 3) & ~3)
        if ntype == 3 and notes[name_off:name_off + namesz].rstrip(b"\0") == b"GNU":
            return notes[desc_off:desc_off + descsz].hex()
        off = desc_off + ((descsz + 3) & ~3)
    return None


def memory_build_id(space: Any, symfile: Any) -> str | None:
    """The GNU build-id note read from the kernel's ``.notes`` in guest memory."""
    syms = symfile.symbols
    start, stop = syms.get("__start_notes"), syms.get("__stop_notes")
    if start is None or stop is None or not 0 < stop.address - start.address <= 1 << 16:
        return None
    try:
        return _gnu_build_id(space.read(start.address, stop.address - start.address))
    except MemoryError_:
        return None


def match_symbol_file(space: Any, symfile: Any) -> tuple[bool, str]:
    """Whether a vmlinux is the kernel in this guest space, and why."""
    sym = symfile.symbols.get("linux_banner")
    if sym is None:
        return False, "no linux_banner in the symbol file"
    try:
        want = symfile.read_static(sym.address, min(sym.size or 256, 512)).split(b"\0")[0]
        have = space.read(sym.address, len(want))
    except (MemoryError_, XcrashError) as err:
        return False, f"linux_banner unreadable ({err})"
    except Exception as err:  # noqa: BLE001 - a file without the banner's bytes
        return False, f"linux_banner not in the file ({err})"
    if have != want:
        return False, "linux_banner differs"
    file_id = (symfile.build_id or "").lower()
    mem_id = memory_build_id(space, symfile)
    if file_id and mem_id:
        if file_id != mem_id.lower():
            return False, f"build-id {mem_id} in memory, {file_id} in the file"
        return True, f"banner and build-id {file_id[:12]} match"
    return True, "banner matches (" + banner_release(want + b" ") + ")" \
        if banner_release(want + b" ") else "banner matches"


# ------------------------------------------------------------------ the targets

def _p2m_for(xen: Any, dom: Domain) -> P2m:
    fll = dom.p2m_mfn
    if dom.type == "0" and xen.xen is not None and xen.xen.dom0_p2m_frame_list_list:
        fll = xen.xen.dom0_p2m_frame_list_list
    max_pfn = None
    if dom.shared_info:
        try:
            max_pfn = xen.space.read_u64(dom.shared_info + SHARED_INFO_MAX_PFN)
        except MemoryError_:
            max_pfn = None
    return P2m(xen.dump, fll or 0, max_pfn=max_pfn or None, name=f"dom{dom.domain_id} p2m")


def choose_symbol_file(space: Any, symfiles: list[Any], forced: Any = None
                       ) -> tuple[Any, str]:
    """The vmlinux that is the kernel in this guest space (or the forced one), and why."""
    if forced is not None:
        ok, detail = match_symbol_file(space, forced)
        return forced, "--sym" if ok else f"--sym (does not match: {detail})"
    if not symfiles:
        return None, "no vmlinux given: memory commands only"
    reasons = []
    for sf in symfiles:
        ok, detail = match_symbol_file(space, sf)
        if ok:
            return sf, detail
        reasons.append(f"{sf.path}: {detail}")
    return None, ("no vmlinux matches its linux_banner: memory commands only ("
                  + "; ".join(reasons) + ")")


def build_guest(xen: Any, dom: Domain, symfiles: list[Any], forced: Any = None
                ) -> tuple[PvLinuxTarget, str]:
    """The target of one PV domain and a start-up line saying which file serves it."""
    p2m = _p2m_for(xen, dom)
    cpus = vcpu_registers(xen, dom)
    root = guest_table_root(xen, cpus[0].vcpu if cpus else dom.vcpus[0])
    return pv_target(xen, dom, p2m, root, cpus, symfiles, forced)


def pv_target(xen: Any, dom: Domain, p2m: P2m, root: int, cpus: list[GuestCpu],
               symfiles: list[Any], forced: Any) -> tuple[PvLinuxTarget, str]:
    """A PV guest's target over its p2m and page-table root (0: found from the
    chosen vmlinux's ``init_top_pgt``)."""
    name = f"dom{dom.domain_id}"
    space = PvKernelSpace(xen.dump, root, p2m, name=name)
    chosen, why = choose_symbol_file(space, symfiles, forced)
    layout = KernelLayout(kaslr_offset=0, phys_base=0, pgd_vaddr=0, levels=4, sme_mask=0,
                          kernel_image_size=1 << 30, source="Xen PV guest (not randomised)")
    if chosen is not None:
        sym = chosen.symbols.get("init_top_pgt") or chosen.symbols.get("swapper_pg_dir")
        layout.pgd_vaddr = sym.address if sym is not None else 0
        if not root and sym is not None:
            # the kernel's own top-level table, in its image: its machine frame
            mfn = p2m.mfn((sym.address - START_KERNEL_MAP) >> PAGE_SHIFT)
            space.root = mfn << 12 if mfn is not None else 0
    target = PvLinuxTarget(name, space, PhysicalSpace(p2m, f"{name} pseudo-physical"), chosen,
                           layout, dump=xen.dump, cpus=cpus, domain=dom, p2m=p2m)
    target.symbol_match = why
    target.xen = xen
    if chosen is not None:
        _adopt_guest_layout(target, p2m)
    where = chosen.path if chosen is not None else "no symbol file"
    return target, f"{name}: {where}: {why}"


def _adopt_guest_layout(target: PvLinuxTarget, p2m: P2m) -> None:
    """``phys_base`` and ``page_offset_base`` read from the guest itself."""
    space: PvKernelSpace = target.space  # type: ignore[assignment]
    for name in ("phys_base",):
        sym = target.symbols.get(name)
        if sym is not None:
            try:
                value = space.read_u64(sym.address)
                if value != space.phys_base:
                    space.phys_base = value
                    target.layout.phys_base = value
                    space._cache.clear()
            except MemoryError_:
                pass
    sym = target.symbols.get("page_offset_base")
    if sym is not None:
        try:
            base = space.read_u64(sym.address)
        except MemoryError_:
            return
        size = ((p2m.max_pfn << 12) + (1 << 30) - 1) >> 30 << 30 if p2m.max_pfn < 1 << 27 \
            else None
        space.set_page_offset(base, size)


def guest_targets(xen: Any, symbol_files: list[Any], forced: dict[str, Any] | None = None
                  ) -> tuple[dict[str, Any], list[str]]:
    """``{"dom0": target, ...}`` for the PV domains, and start-up messages."""
    forced = forced or {}
    targets: dict[str, Any] = {}
    messages: list[str] = []
    vmlinuxes = [s for s in symbol_files if s.kind == "vmlinux"]
    if not xen.has_types:
        from .guests_untyped import guests_without_xen_types
        return guests_without_xen_types(xen, vmlinuxes, forced)
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
            target, line = build_guest(xen, dom, vmlinuxes, forced.get(name))
        except (XcrashError, MemoryError_) as err:
            messages.append(f"{name}: no target: {err}")
            continue
        targets[name] = target
        messages.append(line)
    return targets, messages
