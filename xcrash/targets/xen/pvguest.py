"""A Linux kernel running as a Xen PV guest: its target, its vCPUs' registers, and
which vmlinux serves it.

The pieces both ways of finding the guests use (:mod:`.guests` with Xen's DWARF,
:mod:`.guests_untyped` without): :class:`PvLinuxTarget` over the guest's page
tables and p2m, :func:`guest_cpu` (a vCPU's saved frame as Linux sees it), the
vmlinux chosen by the ``linux_banner`` and GNU build-id in the guest's memory
(``--sym domN=FILE`` forces one) or, with none, the symbols the guest's memory holds
(:mod:`.guestsyms`), and :func:`pv_target` that puts them together.
"""
from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

from ...arch import PAGE_SHIFT, START_KERNEL_MAP
from ...caveats import caveat
from ...errors import MemoryError_, XcrashError
from ...memory.space import PhysicalReader, PhysicalSpace
from ...memory.xen_pv import P2m, PvKernelSpace
from ..base import Cpu, NoSymbols
from ..linux.kernel import LinuxTarget
from ..linux.layout import KernelLayout, banner_release
from .domainlist import Domain
from .guestsyms import EVERYWHERE, SymbolSearch, memory_symbols

if TYPE_CHECKING:
    from ...symbols.memfile import MemorySymbolFile
    from ...symbols.symbolfile import SymbolFile
    from .hypervisor import XenTarget

TF_kernel_mode = 1
#: Linux's __KERNEL_CS / __KERNEL_DS, what a bare-metal kernel-mode frame shows
KERNEL_CS, KERNEL_DS = 0x10, 0x18
#: Linux's __USER_CS / __USER_DS (64-bit)
USER_CS, USER_DS = 0x33, 0x2B
#: Xen's read-write machine-to-phys table (RDWR_MPT_VIRT_START), in Xen's space
M2P_VIRT_START = 0xFFFF828000000000


class GuestCpu(Cpu):
    """A vCPU's registers, with where they came from and the vCPU's Xen facts."""

    def __init__(self, index: int, regs: dict[str, int], source: str, *, vcpu: int,
                 pcpu: int | None, kernel_mode: bool, guest_cs: int) -> None:
        super().__init__(index, regs, source)
        self.vcpu = vcpu              # struct vcpu address (Xen)
        self.pcpu = pcpu              # pCPU whose stack held the state, if any
        self.kernel_mode = kernel_mode
        self.guest_cs = guest_cs      # CS as Xen saved it (RPL 3 for a 64-bit PV kernel)


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

    space: PvKernelSpace

    def __init__(self, *args: Any, domain: Domain, p2m: P2m, xen: XenTarget,
                 cpus: list[GuestCpu], **kwargs: Any) -> None:
        super().__init__(*args, cpus=list(cpus), **kwargs)
        self.domain = domain
        self.p2m = p2m
        #: the hypervisor's target (its m2p table, its structures)
        self.xen = xen
        if self.symbols is None:
            self.symbols = _NoSymbols(self.name)
        self.xen_kind = "PV"
        #: how the symbol file was chosen (for `target`)
        self.symbol_match = ""
        #: why the vCPUs' registers are not known, when they are not (bt says it)
        self.registers_unknown: str | None = None

    def pseudo_physical(self, maddr: int) -> int | None:
        """The guest's pseudo-physical address of a machine address: Xen's m2p
        (``machine_to_phys_mapping``), checked against this guest's p2m; None when
        the frame is not this guest's."""
        mfn = maddr >> PAGE_SHIFT
        try:
            pfn = self.xen.space.read_u64(M2P_VIRT_START + 8 * mfn)
        except MemoryError_ as err:
            caveat(f"Xen's m2p entry of machine frame {mfn:x} unreadable ({err}): no "
                   "pseudo-physical address")
            return None
        if pfn >> 63 or self.p2m.mfn(pfn) != mfn:
            return None
        return (pfn << PAGE_SHIFT) | (maddr & ((1 << PAGE_SHIFT) - 1))

    def machine_address(self, gpaddr: int) -> int:
        """The machine address of a guest (pseudo-)physical address: its frame through
        the guest's p2m table (what ``__pa()`` and the guest's ``struct page`` arrays
        speak of → where the dump holds it)."""
        return self.p2m.machine_address(gpaddr)

    @property
    def cpus(self) -> list[Cpu]:
        """The vCPUs' registers, each already under its vCPU id (the dump's notes
        are the pCPUs', not this guest's)."""
        return self._cpus

    @property
    def guest_cpus(self) -> list[GuestCpu]:
        """:attr:`cpus` with their Xen facts (struct vcpu, pCPU, mode)."""
        return [c for c in self._cpus if isinstance(c, GuestCpu)]

    def settle_registers(self, cpus: list[GuestCpu]) -> None:
        """Replace the vCPUs' registers by those the guest's own state settled
        (:func:`.guests_untyped.settle_lazy_frames`), in vCPU id order."""
        self._cpus = sorted(cpus, key=lambda c: c.index)

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


def memory_build_id(space: PvKernelSpace, symfile: SymbolFile) -> str | None:
    """The GNU build-id note read from the kernel's ``.notes`` in guest memory; None
    when the vmlinux has no ``.notes`` bounds or the pages are not in the dump (the
    banner alone then decides)."""
    syms = symfile.symbols
    start, stop = syms.get("__start_notes"), syms.get("__stop_notes")
    if start is None or stop is None or not 0 < stop.address - start.address <= 1 << 16:
        return None
    try:
        return _gnu_build_id(space.read(start.address, stop.address - start.address))
    except MemoryError_:
        return None         # the match says "banner matches" instead of naming the build-id


def match_symbol_file(space: PvKernelSpace, symfile: SymbolFile) -> tuple[bool, str]:
    """Whether a vmlinux is the kernel in this guest space, and why."""
    sym = symfile.symbols.get("linux_banner")
    if sym is None:
        return False, "no linux_banner in the symbol file"
    try:
        want = symfile.read_static(sym.address, min(sym.size or 256, 512)).split(b"\0")[0]
        have = space.read(sym.address, len(want))
    except XcrashError as err:      # not in the file's sections, or not in the dump
        return False, f"linux_banner unreadable ({err})"
    if have != want:
        return False, "linux_banner differs"
    file_id = (symfile.build_id or "").lower()
    mem_id = memory_build_id(space, symfile)
    if file_id and mem_id:
        if file_id != mem_id.lower():
            return False, f"build-id {mem_id} in memory, {file_id} in the file"
        return True, f"banner and build-id {file_id[:12]} match"
    release = banner_release(want + b" ")
    return True, f"banner matches ({release})" if release else "banner matches"


def choose_symbol_file(space: PvKernelSpace, symfiles: list[SymbolFile],
                       forced: SymbolFile | None = None) -> tuple[SymbolFile | None, str]:
    """The vmlinux that is the kernel in this guest space (or the forced one), and why."""
    if forced is not None:
        ok, detail = match_symbol_file(space, forced)
        return forced, "--sym" if ok else f"--sym (does not match: {detail})"
    if not symfiles:
        return None, "no vmlinux given"
    reasons = []
    for sf in symfiles:
        ok, detail = match_symbol_file(space, sf)
        if ok:
            return sf, detail
        reasons.append(f"{sf.path}: {detail}")
    return None, "no vmlinux matches its linux_banner (" + "; ".join(reasons) + ")"


#: what a guest without symbols still offers (said after why it has none)
MEMORY_ONLY = "memory commands only"


def guest_symbol_file(machine: PhysicalReader, space: PvKernelSpace, p2m: P2m,
                      symfiles: list[SymbolFile], forced: SymbolFile | None = None,
                      search: SymbolSearch = EVERYWHERE
                      ) -> tuple[SymbolFile | MemorySymbolFile | None, str]:
    """The symbol file of the kernel in this guest space, and why: the forced one, a
    vmlinux given whose banner is in its memory, else (:mod:`.guestsyms`) the debug
    vmlinux of the build-id its own VMCOREINFO names or the kallsyms, BTF and ORC
    in its memory; None when there is none of these."""
    chosen, why = choose_symbol_file(space, symfiles, forced)
    if chosen is not None or forced is not None:
        return chosen, why
    found, why = memory_symbols(machine, p2m, why, search)
    return found, why if found is not None else f"{why}: {MEMORY_ONLY}"


# ------------------------------------------------------------------ the target

def pv_target(xen: XenTarget, dom: Domain, p2m: P2m, root: int, cpus: list[GuestCpu],
              symfiles: list[SymbolFile], forced: SymbolFile | None, *,
              search: SymbolSearch = EVERYWHERE,
              chosen_symbols: tuple[SymbolFile | MemorySymbolFile | None, str] | None = None
              ) -> tuple[PvLinuxTarget, str]:
    """A PV guest's target over its p2m and page-table root (0: found from the
    chosen symbols' ``init_top_pgt``), and a start-up line saying which symbols serve
    it (:func:`guest_symbol_file`, unless ``chosen_symbols`` says already)."""
    name = f"dom{dom.domain_id}"
    space = PvKernelSpace(xen.dump, root, p2m, name=name)
    chosen, why = chosen_symbols or guest_symbol_file(xen.dump, space, p2m, symfiles, forced,
                                                      search)
    layout = KernelLayout(kaslr_offset=0, phys_base=0, pgd_vaddr=0, levels=4, sme_mask=0,
                          kernel_image_size=1 << 30, source="Xen PV guest (not randomised)")
    if chosen is not None:
        sym = chosen.symbols.get("init_top_pgt") or chosen.symbols.get("swapper_pg_dir")
        layout.pgd_vaddr = sym.address if sym is not None else 0
        if not root and sym is not None:
            # the kernel's own top-level table, in its image: its machine frame
            mfn = p2m.mfn((sym.address - START_KERNEL_MAP) >> PAGE_SHIFT)
            space.root = mfn << PAGE_SHIFT if mfn is not None else 0
    target = PvLinuxTarget(name, space, PhysicalSpace(p2m, f"{name} pseudo-physical"), chosen,
                           layout, dump=xen.dump, cpus=cpus, domain=dom, p2m=p2m, xen=xen)
    target.symbol_match = why
    if chosen is not None:
        _adopt_guest_layout(target, space, p2m)
    where = chosen.path if chosen is not None else "no symbol file"
    return target, f"{name}: {where}: {why}"


def _adopt_guest_layout(target: PvLinuxTarget, space: PvKernelSpace, p2m: P2m) -> None:
    """``phys_base`` and ``page_offset_base`` read from the guest itself (a kernel
    without them keeps the defaults: 0 and the unrandomised direct map)."""
    sym = target.symbols.get("phys_base")
    if sym is not None:
        try:
            value = space.read_u64(sym.address)
        except MemoryError_ as err:
            caveat(f"{target.name}: phys_base unreadable ({err}): 0 assumed")
        else:
            if value != space.phys_base:
                space.phys_base = value
                target.layout.phys_base = value
                space._cache.clear()
    sym = target.symbols.get("page_offset_base")
    if sym is not None:
        try:
            base = space.read_u64(sym.address)
        except MemoryError_ as err:
            caveat(f"{target.name}: page_offset_base unreadable ({err}): the direct map "
                   "taken as not randomised")
            return
        size = ((p2m.max_pfn << PAGE_SHIFT) + (1 << 30) - 1) >> 30 << 30 \
            if p2m.max_pfn < 1 << 27 else None
        space.set_page_offset(base, size)
