"""A PV guest's kernel symbols from its own memory, when no vmlinux serves it.

A Xen dump carries VMCOREINFO for Xen only (VMCOREINFO_XEN), none for its guests.
But every Linux kernel keeps the VMCOREINFO text it would give a kdump kernel in a
page of its own memory (``vmcoreinfo_data``, filled at boot by
``crash_save_vmcoreinfo_init``), and that page begins with ``OSRELEASE=``.  Found
among the guest's frames (through its p2m), it says where the kernel's kallsyms
tables are (before Linux 6.0 they are searched for in the image), and the guest's
symbol file is made from them as for bare metal
(``targets/linux/fromdump.py``): kallsyms, BTF and ORC read through the guest's
kernel image mapping (pseudo-physical = virtual - ``__START_KERNEL_map`` +
``phys_base``, then the p2m).

A page that only looks like VMCOREINFO is not believed: its kallsyms must decode
(``_stext`` where it says) and, when kallsyms has ``linux_banner``, the banner read
through it must name the same release.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...arch import PAGE_SHIFT, PAGE_SIZE, START_KERNEL_MAP
from ...dump import facts
from ...dump.vmcoreinfo import VmcoreInfo
from ...errors import MemoryError_, XcrashError
from ...memory.search import frames_beginning_with
from ...memory.space import PhysicalReader
from ...memory.xen_pv import P2m
from ...symbols.memfile import MemorySymbolFile
from ..linux.fromdump import LABEL, describe, phys_base, symbols_from_vmcoreinfo
from ..linux.layout import banner_release

if TYPE_CHECKING:
    from ...symbols.symbolfile import SymbolFile

#: how the page of VMCOREINFO text begins (kernel/crash_core.c writes OSRELEASE first)
VMCOREINFO_START = b"OSRELEASE="
#: candidate pages tried before giving up (a guest has one, or two with its ELF note)
MAX_CANDIDATES = 8


@dataclass(frozen=True)
class SymbolSearch:
    """Where a guest's symbols are looked for when no vmlinux given fits it."""
    #: the kernel's own VMCOREINFO, kallsyms, BTF and ORC in its memory
    memory: bool = True
    #: first, the debug vmlinux of the build-id that VMCOREINFO names (symbols/finder.py)
    debug_files: bool = True


#: the default: the guest's memory, and the debug vmlinux of its build-id first
EVERYWHERE = SymbolSearch()


class NoGuestSymbols(XcrashError):
    """No usable VMCOREINFO in the guest's memory."""


def vmcoreinfo_pages(machine: PhysicalReader, p2m: P2m) -> Iterator[tuple[int, VmcoreInfo]]:
    """(pseudo-physical address, parsed text) of each guest page that begins with
    VMCOREINFO's first line, in frame order; pages the dump lacks are passed over.
    The guest's frames are looked at in bulk where the dump allows, and the pages found
    are kept for the dump's next opening (dump/facts.py: a host with many guests)."""
    for pfn, mfn in _vmcoreinfo_frames(machine, p2m):
        try:
            page = machine.read(mfn << PAGE_SHIFT, PAGE_SIZE)
        except MemoryError_:
            continue        # the rest of the page is not in the dump: cannot be it
        if page.startswith(VMCOREINFO_START):
            yield pfn << PAGE_SHIFT, VmcoreInfo(page)


def _vmcoreinfo_frames(machine: PhysicalReader, p2m: P2m) -> list[tuple[int, int]]:
    """(pfn, mfn) of the guest's frames that begin with VMCOREINFO's first line."""
    path = getattr(machine, "path", None)       # a dump file's (not a stand-in's)
    part = f"xen-guest-vmcoreinfo-{p2m.fll_mfn:x}" if isinstance(path, str) else ""
    known = facts.load(path, part) if isinstance(path, str) else None
    if isinstance(known, list):
        return [(int(pfn), int(mfn)) for pfn, mfn in known]
    frames = list(p2m.frames())
    heads = frames_beginning_with(machine, (mfn for _, mfn in frames), VMCOREINFO_START)
    if heads is None:
        found = [(pfn, mfn) for pfn, mfn in frames if _begins(machine, mfn)]
    else:
        found = [(pfn, mfn) for pfn, mfn in frames if mfn in heads]
    if isinstance(path, str):
        facts.store(path, part, [[pfn, mfn] for pfn, mfn in found])
    return found


def _begins(machine: PhysicalReader, mfn: int) -> bool:
    try:
        return machine.read(mfn << PAGE_SHIFT, len(VMCOREINFO_START)) == VMCOREINFO_START
    except MemoryError_:
        return False        # not in the dump: cannot be it


def guest_image_reader(p2m: P2m, base: int) -> Callable[[int, int], bytes]:
    """Reads the guest kernel's image at its virtual addresses: the fixed mapping
    (``phys_base`` = ``base``) then the p2m."""
    def read(address: int, size: int) -> bytes:
        return bytes(p2m.read((address - START_KERNEL_MAP + base) & 0xFFFFFFFFFFFFFFFF, size))
    return read


def _check_banner(symfile: MemorySymbolFile, release: str | None) -> str | None:
    """Why the banner kallsyms names disagrees with VMCOREINFO's release (None: it
    agrees, or kallsyms has no data symbols to check by)."""
    sym = symfile.symbols.get("linux_banner")
    if sym is None or not release:
        return None
    try:
        banner = symfile.read_static(sym.address, 256)
    except MemoryError_ as err:
        return f"linux_banner unreadable ({err})"
    found = banner_release(banner)
    return None if found == release else f"linux_banner says {found}, VMCOREINFO {release}"


def symbols_from_guest(machine: PhysicalReader, p2m: P2m
                       ) -> tuple[MemorySymbolFile, VmcoreInfo, int]:
    """The guest kernel's symbol file from its own memory, the VMCOREINFO it came
    from and that page's pseudo-physical address; NoGuestSymbols saying why there
    is none."""
    problems: list[str] = []
    for n, (where, vi) in enumerate(vmcoreinfo_pages(machine, p2m)):
        if n >= MAX_CANDIDATES:
            break
        try:
            symfile = symbols_from_vmcoreinfo(vi, guest_image_reader(p2m, phys_base(vi)), LABEL)
        except XcrashError as err:      # NoKallsyms, KallsymsError, a read error
            problems.append(f"at {where:#x}: {err}")
            continue
        wrong = _check_banner(symfile, vi.osrelease)
        if wrong:
            problems.append(f"at {where:#x}: {wrong}")
            continue
        return symfile, vi, where
    if not problems:
        raise NoGuestSymbols("no VMCOREINFO page (OSRELEASE=...) in its memory")
    raise NoGuestSymbols("its VMCOREINFO " + "; ".join(problems))


def memory_symbols(machine: PhysicalReader, p2m: P2m, why_no_file: str,
                   search: SymbolSearch = EVERYWHERE
                   ) -> tuple[SymbolFile | MemorySymbolFile | None, str]:
    """The symbol file of a guest no vmlinux given serves, and why: the debug vmlinux
    of the build-id its VMCOREINFO names when a debug directory or a debuginfod server
    has it (``symbols/finder.py``), else one made from its memory (as ``search``
    allows).  ``why_no_file``: why no file given served."""
    if not search.memory:
        return None, why_no_file
    try:
        symfile, vi, where = symbols_from_guest(machine, p2m)
    except NoGuestSymbols as err:
        return None, f"{why_no_file}, and no symbols in its memory: {err}"
    problem = None
    if search.debug_files and vi.build_id:
        from ...symbols import open_symbol_file
        from ...symbols.finder import find_vmlinux
        found, problem = find_vmlinux(vi.build_id, vi.osrelease)
        if found is not None:
            try:
                return open_symbol_file(found.path), (f"vmlinux of build-id {vi.build_id} "
                                                      f"({found.how})")
            except XcrashError as err:      # said; the symbols from memory serve
                problem = f"{found.path} ({found.how}) cannot be used: {err}"
    note = f" ({problem})" if problem else ""
    return symfile, (f"{why_no_file}: symbols from its memory ({where_text(where)}): "
                     f"{describe(symfile)}; no DWARF{note}")


def where_text(where: int) -> str:
    return f"VMCOREINFO at pseudo-physical {where:#x}"
