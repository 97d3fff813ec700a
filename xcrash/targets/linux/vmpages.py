"""vm's page views of a task's memory: each VMA's pages (vm -p, -P) and what
references a number or a file name (vm -R), as crash's vm_area_dump finds them.

A page is shown by where it is: its physical address, its swap slot, the file page it
would map, or "(not mapped)".  -R looks for the number among the mm and page
directory addresses, the VMAs' addresses and flags, the pages' virtual and physical
addresses, their swap offsets (decimal) and file offsets, and for the name among the
mapped files' path components; it shows only what leads to each reference.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .vma import MemoryMap, Vma
from .vtop import FileOffset, SwapSlot, pages_of_vma

if TYPE_CHECKING:
    from .kernel import LinuxTarget


@dataclass
class VmaPage:
    """A page of a VMA (vm -p): where it is."""
    address: int
    physical: int | None = None
    file: FileOffset | None = None
    swap: str | None = None


@dataclass
class VmaPages:
    """A VMA and its pages, as crash shows them: the VMA header above its line, the
    VMA's line, the VIRTUAL/PHYSICAL header above its pages (vm -R shows only what it
    has not shown yet)."""
    vma: Vma
    pages: list[VmaPage]
    header: bool = True
    vma_line: bool = True
    page_header: bool = True


@dataclass
class VmPages:
    """vm -p / -P / -R of one task: its memory map's header (not with -P) and the VMAs
    shown, each with its pages; -R: ``found`` says whether anything referenced it."""
    map: MemoryMap
    vmas: list[VmaPages] = field(default_factory=list)
    mm_line: bool = True
    found: bool = True
    #: vm -P: the VMA asked for is not the task's
    not_found: bool = False
    #: vm -R: a blank line ends what was found
    reference: bool = False


def _page(vaddr: int, where: Any) -> VmaPage:
    if isinstance(where, int):
        return VmaPage(vaddr, physical=where)
    if isinstance(where, FileOffset):
        return VmaPage(vaddr, file=where)
    if isinstance(where, SwapSlot):
        return VmaPage(vaddr, swap=where.location)
    return VmaPage(vaddr)


def _root(target: LinuxTarget, m: MemoryMap) -> int:
    return target.user_root(m.forced_pgd if m.forced_pgd is not None else m.pgd)


def vma_pages(target: LinuxTarget, m: MemoryMap, vma: Vma) -> list[VmaPage]:
    """Each page of ``vma``; none for init_mm's (crash shows none)."""
    init_mm = target.symbols.get("init_mm")
    if init_mm is not None and m.mm == init_mm.address:
        return []
    return [_page(v, w) for v, w in pages_of_vma(target, _root(target, m), vma)]


def all_pages(target: LinuxTarget, m: MemoryMap) -> VmPages:
    """vm -p: every VMA with its pages."""
    return VmPages(m, [VmaPages(v, vma_pages(target, m, v)) for v in m.vmas])


def one_vma(target: LinuxTarget, m: MemoryMap, address: int) -> VmPages:
    """vm -P VMA: that VMA of the task, with its pages."""
    hit = next((v for v in m.vmas if v.address == address), None)
    if hit is None:
        return VmPages(m, [], mm_line=False, not_found=bool(m.vmas))
    return VmPages(m, [VmaPages(hit, vma_pages(target, m, hit))], mm_line=False)


def _component(path: str, name: str) -> bool:
    """crash's FILENAME_COMPONENT: the name is in the path ("/" matches only "/")."""
    return path == "/" and name == "/" or name != "/" and name in path


def references(target: LinuxTarget, m: MemoryMap, ref: str) -> VmPages:
    """vm -R: what in the task's memory map refers to ``ref``."""
    try:
        hexval: int | None = int(ref, 16)
    except ValueError:
        hexval = None               # a file name
    decval = int(ref) if ref.isdigit() else None
    out = VmPages(m, [], found=False, reference=True)
    if hexval is not None and hexval in (m.mm, m.pgd) and m.mm:
        out.found = True
        return out
    if not m.vmas:
        return out
    shown_vma: int | None = None        # crash's ref1: the VMA whose lines were shown
    vma_flag = page_flag = False        # crash's VM_REF_VMA, VM_REF_PAGE
    for v in m.vmas:
        path = v.file if isinstance(v.file, str) else None
        if hexval is not None and hexval in (v.address, v.flags) or \
                path and _component(path, ref):
            out.found = True
            header = not vma_flag or page_flag
            vma_flag, page_flag, shown_vma = True, False, v.address
            out.vmas.append(VmaPages(v, [], header=header, page_header=False))
        pages = vma_pages(target, m, v)
        hits = [p for p in pages if _page_refers(p, hexval, decval, ref)]
        if hits:
            out.found = True
            shown = vma_flag and shown_vma == v.address     # its line is just above
            out.vmas.append(VmaPages(v, hits, header=not shown, vma_line=not shown))
            vma_flag, page_flag, shown_vma = True, True, v.address
    return out


def _page_refers(p: VmaPage, hexval: int | None, decval: int | None, ref: str) -> bool:
    if hexval is not None and (hexval == p.address or hexval == p.physical or
                               p.file is not None and hexval == p.file.offset):
        return True
    if p.swap is not None:
        device, _, offset = p.swap.rpartition("  OFFSET: ")
        if decval is not None and offset.isdigit() and decval == int(offset) or \
                _component(device, ref):
            return True
    return False

