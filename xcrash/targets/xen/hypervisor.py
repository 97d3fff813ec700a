"""The Xen hypervisor inside a Xen host dump: its address space and per-CPU data.

The space (:class:`~xcrash.memory.xen.XenSpace`) is set up here from what the dump
and xen-syms say: where the image is (``xen_phys_start``, from the crash note or a
CPU's page table), the root ``idle_pg_table``, a BIGMEM direct map, PDX compression.

A :class:`XenTarget` works with a full ``xen-syms`` (DWARF types), with a
symbols-only one (or Xen's own symbol table read from the dump, which serves as one:
``ownsyms.py``), and even with no symbols at all: then only the facts VMCOREINFO_XEN
carries are known (``domain_list``, a few sizes and offsets), which is enough for
``doms`` to list domain ids and page counts.
"""
from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from ...caveats import caveat
from ...errors import MemoryError_, NoSuchSymbol, XcrashError
from ...memory.space import PhysicalSpace
from ...memory.x86_64 import PageTableSpace
from ...memory.xen import DIRECTMAP_VIRT_START_BIGMEM, XenSpace
from ..base import Cpu, NoSymbols, Target
from .layout import CPU_INFO_CURRENT_VCPU, CPU_USER_REGS, TSS_PAGE_TSS, TSS_RSP0

if TYPE_CHECKING:
    from ...dump.base import Dump
    from ...dump.notes import PrStatus, XenCrashRegs, XenNotes
    from ...objects import Object
    from ...symbols.symbolfile import SymbolFile
    from ...symbols.xenmemfile import XenMemorySymbolFile

MASK = 0xFFFFFFFFFFFFFFFF
GIB = 1 << 30
XEN_IMG_OFFSET = 0x200000
FRAMETABLE_VIRT_START = 0xFFFF82E000000000
FRAMETABLE_VIRT_START_BIGMEM = 0xFFFF830000000000
#: STACK_ORDER 3 (Xen >= 4.5 on x86_64); cpu0_stack's size says it when present
STACK_SIZE = 8 << 12


class XenUnavailable(XcrashError):
    """A hypervisor fact cannot be had from this dump and symbol file."""


class XenTarget(Target):
    """The hypervisor: domains, vCPUs, physical CPUs, the console ring, stacks."""

    kind = "xen"
    space: XenSpace

    def __init__(self, name: str, space: XenSpace, phys_space: PhysicalSpace,
                 symfile: SymbolFile | XenMemorySymbolFile | None, *, dump: Dump) -> None:
        symbols = symfile.symbols if symfile is not None else None
        super().__init__(name, space, phys_space, symfile, symbols)
        if dump.xen is None:
            raise XenUnavailable("not a Xen host dump (no Xen crash notes)")
        self.dump = dump
        #: what Xen's crash notes say (version, xen_phys_start, dom0's p2m, CRASH_REGS)
        self.xen: XenNotes = dump.xen
        self.vmcoreinfo = dump.xen.vmcoreinfo
        #: start-up remarks (how xen_phys_start was found, what is missing)
        self.notes: list[str] = []

    # -- construction -----------------------------------------------------------------
    @classmethod
    def from_dump(cls, dump: Dump, symfile: SymbolFile | XenMemorySymbolFile | None = None,
                  name: str = "xen") -> XenTarget:
        xen = dump.xen
        if xen is None:
            raise XenUnavailable("not a Xen host dump (no Xen crash notes)")
        vi = xen.vmcoreinfo
        syms = symfile.symbols if symfile is not None else None

        def sym_addr(*names: str) -> int | None:
            for n in names:
                if syms is not None:
                    s = syms.get(n)
                    if s is not None:
                        return s.address
                if vi is not None and vi.get(f"SYMBOL({n})") is not None:
                    return vi.symbol(n)
            return None

        anchor = sym_addr("start", "_start", "_stext", "domain_list")
        if anchor is None:
            raise XenUnavailable("neither xen-syms nor VMCOREINFO_XEN says where Xen's image is")
        virt_start = anchor & 0xFFFFFFFFC0000000
        end = sym_addr("_end")
        image_end = end if end is not None else virt_start + GIB
        remarks = []
        phys_start = xen.xen_phys_start
        if phys_start is None:
            phys_start = _phys_start_from_cr3(dump, virt_start)
            if phys_start is None:
                raise XenUnavailable("xen_phys_start is not in the crash notes and no CPU's cr3 "
                                     "maps Xen's image")
            remarks.append(f"xen_phys_start {phys_start:#x} found through a CPU's page table")
        root_va = sym_addr("idle_pg_table", "pgd_l4")
        root = (root_va - virt_start + phys_start) if root_va is not None else 0
        if root_va is None:
            live = [r.cr3 for r in xen.cpu_regs if r.saved]
            root = live[0] if live else 0
        space = XenSpace(dump, root, virt_start=virt_start, image_end=image_end,
                         xen_phys_start=phys_start)
        target = cls(name, space, PhysicalSpace(dump, "machine"), symfile, dump=dump)
        target.notes.extend(remarks)
        target._adopt_layout()
        return target

    def _adopt_layout(self) -> None:
        """BIGMEM and PDX compression, read from the hypervisor itself."""
        space = self.space
        ft = self.frame_table
        if ft == FRAMETABLE_VIRT_START_BIGMEM:
            space.directmap_start = DIRECTMAP_VIRT_START_BIGMEM
        if self.symbols is None:
            return
        try:
            shift = space.read_u32(self.address_of("pfn_pdx_hole_shift"))
            if shift:
                space.set_pdx(shift, space.read_u64(self.address_of("ma_va_bottom_mask")),
                              space.read_u64(self.address_of("ma_top_mask")))
        except NoSuchSymbol:
            pass            # a build without PDX compression: the direct map is linear
        except MemoryError_ as err:
            self.notes.append(f"PDX compression unreadable ({err}): the direct map is taken "
                              "as linear")

    # -- facts ---------------------------------------------------------------------------
    @property
    def has_types(self) -> bool:
        return self.symfile is not None and self.symfile.has_dwarf

    def need_types(self, what: str) -> None:
        if not self.has_types:
            source = "no xen-syms was given" if self.symfile is None else \
                "the dump's own symbol table has none (give xen-syms with DWARF)" \
                if self.symfile.elf is None else \
                f"{self.symfile.path} has no DWARF (a symbols-only xen-syms)"
            raise XenUnavailable(f"{what} needs Xen's types, and {source}")

    def need_symbols(self, what: str) -> None:
        if self.symbols is None:
            raise XenUnavailable(f"{what} needs xen-syms: only VMCOREINFO_XEN facts are known")

    def vmcoreinfo_symbol(self, name: str) -> int | None:
        vi = self.vmcoreinfo
        if vi is not None and vi.get(f"SYMBOL({name})") is not None:
            return vi.symbol(name)
        return None

    def global_address(self, name: str) -> int:
        """A global's address from xen-syms, else from VMCOREINFO_XEN."""
        if self.symbols is not None:
            sym = self.symbols.get(name)
            if sym is not None:
                return sym.address
        addr = self.vmcoreinfo_symbol(name)
        if addr is None:
            raise NoSuchSymbol(name)
        return addr

    @cached_property
    def frame_table(self) -> int | None:
        """FRAMETABLE_VIRT_START: VMCOREINFO's SYMBOL(frame_table) is a pointer to it."""
        try:
            return self.space.read_u64(self.global_address("frame_table"))
        except NoSuchSymbol:
            return None     # neither xen-syms nor VMCOREINFO_XEN names it
        except MemoryError_ as err:
            self.notes.append(f"frame_table unreadable ({err}): the standard direct map and "
                              "no page counts without DWARF")
            return None

    @cached_property
    def page_owner_counts(self) -> dict[int, int] | None:
        """Pages per owning domain, counted once over the frame table (a dump does not
        change: doms, sys and the guests' start-up all ask)."""
        from .domains_untyped import owner_page_counts
        return owner_page_counts(self)

    @property
    def version(self) -> str | None:
        return self.xen.version

    # -- physical CPUs -------------------------------------------------------------------
    @cached_property
    def nr_cpu_ids(self) -> int:
        """``nr_cpu_ids``; without xen-syms the number of crash notes."""
        try:
            return self.space.read_u32(self.address_of("nr_cpu_ids"))
        except MemoryError_ as err:
            caveat(f"nr_cpu_ids unreadable ({err}): the CPUs counted from the crash notes")
        except (NoSymbols, NoSuchSymbol):
            pass            # no xen-syms: the crash notes are what there is
        return max(len(self.dump.prstatus), 1)

    def cpu_mask(self, name: str) -> list[int]:
        nwords = (self.nr_cpu_ids + 63) // 64
        raw = self.space.read(self.address_of(name), 8 * nwords)
        bits = int.from_bytes(raw, "little")
        return [i for i in range(self.nr_cpu_ids) if bits >> i & 1]

    @cached_property
    def online_cpus(self) -> list[int]:
        """The pCPUs that were up.  Xen's crash path takes CPUs out of
        ``cpu_online_map`` as it stops them, so an empty map means: the present
        CPUs that have a stack."""
        try:
            online = self.cpu_mask("cpu_online_map")
        except MemoryError_ as err:
            caveat(f"cpu_online_map unreadable ({err}): the present pCPUs that have a stack "
                   "taken as online")
            online = []
        except (NoSymbols, NoSuchSymbol):
            online = []     # no xen-syms: see below
        if online:
            return online
        try:
            return [c for c in self.present_cpus if self.stack_bases[c]]
        except MemoryError_ as err:
            caveat(f"stack_base[] unreadable ({err}): one pCPU per crash note")
        except (NoSymbols, NoSuchSymbol):
            pass            # no xen-syms: one pCPU per crash note
        return list(range(len(self.dump.prstatus)))

    @cached_property
    def present_cpus(self) -> list[int]:
        """``cpu_present_map``; without xen-syms one pCPU per crash note."""
        try:
            return self.cpu_mask("cpu_present_map")
        except MemoryError_ as err:
            caveat(f"cpu_present_map unreadable ({err}): one pCPU per crash note")
        except (NoSymbols, NoSuchSymbol):
            pass            # no xen-syms: one pCPU per crash note
        return list(range(len(self.dump.prstatus)))

    def _pointer_array(self, name: str) -> list[int]:
        addr = self.address_of(name)
        raw = self.space.read(addr, 8 * self.nr_cpu_ids)
        return [int.from_bytes(raw[i:i + 8], "little") for i in range(0, len(raw), 8)]

    @cached_property
    def per_cpu_offsets(self) -> list[int]:
        return self._pointer_array("__per_cpu_offset")

    @cached_property
    def idle_vcpus(self) -> list[int]:
        """``idle_vcpu[]``: each pCPU's idle vCPU (0 for CPUs never brought up)."""
        return self._pointer_array("idle_vcpu")

    def per_cpu_address(self, address: int, cpu: int) -> int:
        return (address + self.per_cpu_offsets[cpu]) & MASK

    def per_cpu(self, name: str, cpu: int) -> Object:
        """CPU ``cpu``'s copy of the per-CPU variable ``name`` (``per_cpu__name``)."""
        sym_name = name if name.startswith("per_cpu__") else "per_cpu__" + name
        var = self.object(sym_name)
        return self.object_at(var.type_, self.per_cpu_address(self.address_of(sym_name), cpu))

    @cached_property
    def stack_size(self) -> int:
        sym = self.symbols.get("cpu0_stack") if self.symbols is not None else None
        return sym.size if sym is not None and sym.size else STACK_SIZE

    @cached_property
    def stack_bases(self) -> list[int]:
        """``stack_base[]``: each pCPU's 8-page stack (0 for CPUs never brought up)."""
        return self._pointer_array("stack_base")

    def cpu_of_stack_address(self, addr: int) -> int | None:
        for cpu, base in enumerate(self.stack_bases):
            if base and base <= addr < base + self.stack_size:
                return cpu
        return None

    @cached_property
    def cpu_info_size(self) -> int:
        """sizeof(struct cpu_info): from DWARF, else from a TSS's ``rsp0``, which
        points at ``&cpu_info->guest_cpu_user_regs.es`` (offset 168)."""
        if self.has_types:
            return self.type("struct cpu_info").byte_size
        unreadable = []
        for cpu in self.online_cpus:
            for name, off in (("per_cpu__tss_page", TSS_PAGE_TSS + TSS_RSP0),
                              ("per_cpu__init_tss", TSS_RSP0)):
                sym = self.symbols.get(name) if self.symbols is not None else None
                if sym is None:
                    continue            # the other name (tss_page since Xen 4.16)
                try:
                    rsp0 = self.space.read_u64(self.per_cpu_address(sym.address, cpu) + off)
                except MemoryError_ as err:
                    unreadable.append(f"pCPU {cpu}'s TSS: {err}")
                    continue            # another pCPU's TSS tells the same
                base = self.stack_bases[cpu]
                size = base + self.stack_size - (rsp0 - CPU_USER_REGS["es"][0])
                if 200 <= size <= 1024:
                    return size
        why = f" (and {'; '.join(unreadable)})" if unreadable else ""
        raise XenUnavailable(f"struct cpu_info needs Xen's types{why}")

    def current_vcpu(self, cpu: int) -> int:
        """Xen's ``current`` on a pCPU: ``cpu_info->current_vcpu`` (offset 208 since
        Xen 4.x when DWARF is missing)."""
        if self.has_types:
            return int(self.cpu_info(cpu).current_vcpu)
        return self.space.read_u64(self.cpu_info_address(cpu) + CPU_INFO_CURRENT_VCPU)

    def cpu_info_address(self, cpu: int) -> int:
        """``struct cpu_info`` at the top of the pCPU's primary stack (crash's PCPU)."""
        base = self.stack_bases[cpu]
        if not base:
            raise XenUnavailable(f"pCPU {cpu} has no stack (never brought up)")
        return base + self.stack_size - self.cpu_info_size

    def cpu_info(self, cpu: int) -> Object:
        return self.object_at("struct cpu_info", self.cpu_info_address(cpu))

    @cached_property
    def crashing_cpu(self) -> int | None:
        """The pCPU that executed the crash: ``crashing_cpu`` (``crashing_cpu.1``, the
        function-static of ``one_cpu_only()`` in release builds), else the CPU whose
        saved registers point into ``kexec_crash``'s caller chain is not known: None."""
        if self.symbols is None:
            return None
        for sym in _statics(self.symbols, "crashing_cpu"):
            try:
                value = self.space.read_int(sym.address, 4, signed=True)
            except MemoryError_ as err:
                caveat(f"{sym.name} unreadable ({err}): the crashing pCPU is not marked")
                continue
            if 0 <= value < self.nr_cpu_ids:
                return value
        return None

    @cached_property
    def cpu_notes(self) -> dict[int, PrStatus]:
        """pCPU -> its NT_PRSTATUS note.  The k-th note is not necessarily pCPU k (a CPU
        without a note buffer has none), so each note is placed by the stack its RSP is
        on; notes whose RSP is on no known stack take the online CPUs left, in order."""
        notes = [n for n in self.dump.prstatus]
        out: dict[int, PrStatus] = {}
        rest = []
        for note in notes:
            cpu = None
            if self.symbols is not None and not note.empty:
                try:
                    cpu = self.cpu_of_stack_address(note.regs.get("rsp", 0))
                except MemoryError_ as err:
                    caveat(f"stack_base[] unreadable ({err}): the crash notes placed on the "
                           "pCPUs in order")
                except NoSuchSymbol:
                    pass        # no stack_base symbol: the notes go on the pCPUs in order
            if cpu is None or cpu in out:
                rest.append(note)
            else:
                out[cpu] = note
        free = [c for c in (self.online_cpus or range(len(notes))) if c not in out]
        for note, cpu in zip(rest, free):
            out[cpu] = note
        return dict(sorted(out.items()))

    def crash_regs(self, cpu: int) -> XenCrashRegs | None:
        """The Xen CRASH_REGS note (cr0..cr4) of a pCPU, placed like its PRSTATUS note."""
        note = self.cpu_notes.get(cpu)
        if note is None or note.index >= len(self.xen.cpu_regs):
            return None
        return self.xen.cpu_regs[note.index]

    @property
    def cpus(self) -> list[Cpu]:
        return [Cpu(c, n.regs, "NT_PRSTATUS") for c, n in self.cpu_notes.items() if not n.empty]

    # -- identity -----------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        return {"release": self.version, "machine": "x86_64",
                "cpus": len(self.online_cpus)}


def _statics(symbols: Any, name: str) -> list[Any]:
    """``name`` and its function-static variants ``name.N``."""
    found = []
    sym = symbols.get(name)
    if sym is not None:
        found.append(sym)
    if hasattr(symbols, "variants"):
        found.extend(s for s in symbols.variants(name) if s not in found)
    return found


def _phys_start_from_cr3(dump: Dump, virt_start: int) -> int | None:
    """xen_phys_start without the note: any saved CR3 maps Xen's image (its slots
    are in every page table)."""
    for regs in dump.xen.cpu_regs if dump.xen is not None else ():
        if not regs.saved:
            continue
        try:
            ma = PageTableSpace(dump, regs.cr3).translate(virt_start + XEN_IMG_OFFSET)
        except MemoryError_:
            continue        # a CPU whose tables are not in the dump: the next CPU's
        return ma - XEN_IMG_OFFSET
    return None
