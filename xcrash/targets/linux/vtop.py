"""How a Linux kernel translates a virtual address, as crash's ``vtop`` shows it.

A kernel address walks the kernel's page tables (init_top_pgt); the direct map and
the kernel image also translate by arithmetic, which gives the physical address even
where the walk ends early.  A user address walks the page tables of a task's mm and
is shown with the VMA that holds it; a page that is not mapped is named by its VMA's
file and offset (or its swap entry).  The records carry the page-table entries read,
the leaf entry whose flags crash decodes, the VMA and the mapped page's struct page.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ...arch import PAGE_MASK, PAGE_SHIFT, PAGE_SIZE
from ...caveats import Unreadable
from ...errors import MemoryError_
from ...memory.x86_64 import FRAME_MASK, LARGE_1G_MASK, LARGE_2M_MASK, PRESENT, PSE
from .pages import PageInfo, page_info, phys_to_page
from .swap import swap_location
from .vma import Vma, vma_addresses, vma_record

if TYPE_CHECKING:
    from ...objects import Object
    from .kernel import LinuxTarget

#: the GLOBAL bit, which in a non-present entry says PROTNONE (a present page to crash)
PROTNONE = 0x100
#: where user space ends on x86_64 (4-level; crash's USERSPACE_TOP)
USER_TOP_4 = 0x0000800000000000
USER_TOP_5 = 0x0100000000000000


@dataclass
class TableEntry:
    """A page-table entry read on the walk: its level, where it is, what it holds."""
    level: str
    entry_address: int
    entry: int


@dataclass
class FileOffset:
    """Where a page of a file mapping comes from (a page that is not mapped)."""
    path: str
    offset: int


@dataclass
class VirtualTranslation:
    """vtop of one address in a Linux kernel or a task's user memory."""
    virtual: int
    user: bool
    #: "mapped", "not mapped", "not accessible" (a user address in no VMA) or
    #: "not kernel" (below the kernel's address space, asked as kernel)
    state: str
    physical: int | None
    #: the page-table entries read, from the top level down
    walk: list[TableEntry] = field(default_factory=list)
    #: a kernel walk: the virtual address of the kernel's top table (init_top_pgt)
    pgd_directory: int | None = None
    #: the page the walk ends at; its size when a large entry ended it ("2MB", "1GB")
    page: int | None = None
    page_size: str = ""
    #: the walk ended at the shared zero page
    zero_page: bool = False
    #: the entry whose flags crash decodes (the leaf, or a non-present swap entry)
    pte: int | None = None
    #: a user address: the VMA holding it
    vma: Vma | None = None
    #: a page that is not mapped: the file and offset it would come from
    file: FileOffset | None = None
    #: a page that is swapped out: crash's "DEVICE  OFFSET: N" of its swap entry
    swap: str | None = None
    #: the struct page of the physical page (crash's mem_map line)
    mem_page: PageInfo | None = None
    #: why the walk stopped short (a table not in the dump)
    error: str | None = None


def user_top(target: LinuxTarget) -> int:
    return USER_TOP_5 if target.layout.levels == 5 else USER_TOP_4


def is_user_address(target: LinuxTarget, vaddr: int) -> bool:
    return vaddr < user_top(target)


def is_kernel_address(target: LinuxTarget, vaddr: int) -> bool:
    """crash's IS_KVADDR on x86_64: from the direct map's base up."""
    return vaddr >= target.space.page_offset


def _levels(target: LinuxTarget) -> tuple[tuple[str, int], ...]:
    if target.layout.levels == 5:
        return (("PGD", 48), ("P4D", 39), ("PUD", 30), ("PMD", 21), ("PTE", 12))
    return (("PGD", 39), ("PUD", 30), ("PMD", 21), ("PTE", 12))


@dataclass
class _Walk:
    entries: list[TableEntry]
    paddr: int | None = None
    page: int | None = None
    size: str = ""
    leaf: int | None = None
    error: str | None = None


def _walk(target: LinuxTarget, root: int, vaddr: int, user: bool) -> _Walk:
    """crash's x86_64 walk: a user PMD or PTE that is PROTNONE counts as present; a
    non-present PTE that is not zero is kept (a swap entry)."""
    phys = target.space.phys
    mask = ~target.layout.sme_mask & 0xFFFFFFFFFFFFFFFF
    present = PRESENT | PROTNONE if user else PRESENT
    result = _Walk([])
    table = root & FRAME_MASK
    for level, shift in _levels(target):
        addr = table + 8 * ((vaddr >> shift) & 0x1FF)
        try:
            entry = int.from_bytes(phys.read(addr, 8), "little") & mask
        except MemoryError_ as err:
            result.error = f"{level} table at {table:x} not in the dump ({err})"
            return result
        result.entries.append(TableEntry(level, addr, entry))
        here = present if level in ("PMD", "PTE") else PRESENT
        if not entry & here:
            if level == "PTE" and entry:
                result.leaf = entry         # a swap entry: crash decodes it
            return result
        if shift == 30 and entry & PSE:
            result.page, result.size, result.leaf = entry & LARGE_1G_MASK, "1GB", entry
            result.paddr = result.page + (vaddr & ((1 << 30) - 1))
            return result
        if shift == 21 and entry & PSE:
            result.page, result.size, result.leaf = entry & LARGE_2M_MASK, "2MB", entry
            result.paddr = result.page + (vaddr & ((1 << 21) - 1))
            return result
        table = entry & FRAME_MASK
    result.page, result.leaf = table, result.entries[-1].entry
    result.paddr = table + (vaddr & PAGE_MASK)
    return result


def _mem_page(target: LinuxTarget, paddr: int) -> PageInfo | None:
    """The struct page of a physical address that has one (crash's phys_to_page)."""
    from .memnodes import section_pfn_ranges
    pfn = paddr >> PAGE_SHIFT
    if not any(start <= pfn < end for start, end in section_pfn_ranges(target)):
        return None
    try:
        return page_info(target, phys_to_page(target, paddr))
    except MemoryError_:
        return None                 # its struct page is not in the dump: crash shows none


def _zero_page(target: LinuxTarget, page: int) -> bool:
    sym = target.symbols.get("empty_zero_page")
    if sym is None:
        return False
    return target.space.kernel_physical(sym.address) == page


def kernel_translation(target: LinuxTarget, vaddr: int) -> VirtualTranslation:
    """A kernel virtual address through init_top_pgt (the direct map and the kernel
    image by arithmetic too)."""
    if not is_kernel_address(target, vaddr):
        return VirtualTranslation(vaddr, False, "not kernel", None)
    sym = target.symbols.get("init_top_pgt") or target.symbols.get("init_level4_pgt")
    walk = _walk(target, target.space.root, vaddr, user=False)
    physical = target.space.kernel_physical(vaddr)
    if physical is None:
        physical = walk.paddr
    t = VirtualTranslation(vaddr, False, "mapped" if physical is not None else "not mapped",
                           physical, walk.entries,
                           sym.address if sym is not None else None, walk.page, walk.size,
                           pte=walk.leaf, error=walk.error)
    if walk.paddr is None and walk.leaf:
        t.swap = swap_location(target, walk.leaf)
    if physical is not None:
        t.mem_page = _mem_page(target, physical)
    return t


def find_vma(target: LinuxTarget, mm: int, vaddr: int) -> Vma | None:
    """The VMA of the mm_struct at ``mm`` that holds ``vaddr``."""
    vma_t = target.type("struct vm_area_struct")
    for addr in vma_addresses(target, mm):
        vma = target.object_at(vma_t, addr)
        if int(vma.vm_start) <= vaddr < int(vma.vm_end):
            return vma_record(target, vma, addr)
    return None


def file_offset(target: LinuxTarget, vma: Vma, vaddr: int) -> FileOffset | None:
    """crash's vma_file_offset: the file a VMA maps and the page's offset in it."""
    if not vma.file or isinstance(vma.file, Unreadable):
        return None
    pgoff = int(target.object_at("struct vm_area_struct", vma.address).vm_pgoff)
    return FileOffset(vma.file, (((vaddr - vma.start) >> PAGE_SHIFT) + pgoff) << PAGE_SHIFT)


def user_translation(target: LinuxTarget, task: Object, vaddr: int) -> VirtualTranslation:
    """A user address of ``task``: its VMA, the walk of its mm's page tables, and the
    page, or the file page it would map."""
    if vaddr >= user_top(target):
        # crash's uvtop hands a kernel address to the kernel walk; it is in no VMA
        return VirtualTranslation(vaddr, True, "not accessible", None)
    mm = int(task.mm)
    vma = find_vma(target, mm, vaddr) if mm else None
    if vma is None:
        return VirtualTranslation(vaddr, True, "not accessible", None)
    root = target.user_root(int(target.object_at("struct mm_struct", mm).pgd))
    walk = _walk(target, root, vaddr, user=True)
    t = VirtualTranslation(vaddr, True, "mapped" if walk.paddr is not None else "not mapped",
                           walk.paddr, walk.entries, None, walk.page, walk.size,
                           pte=walk.leaf, vma=vma, error=walk.error)
    if walk.paddr is None:
        if walk.leaf:
            t.swap = swap_location(target, walk.leaf)
        else:
            t.file = file_offset(target, vma, vaddr)
        return t
    t.zero_page = walk.page is not None and _zero_page(target, walk.page)
    t.mem_page = _mem_page(target, walk.paddr)
    return t


@dataclass
class SwapSlot:
    """Where a swapped-out page is: crash's "DEVICE  OFFSET: N"."""
    location: str
    offset: int


def pages_of_vma(target: LinuxTarget, root: int, vma: Vma
                 ) -> list[tuple[int, int | FileOffset | SwapSlot | None]]:
    """vm -p: each page of a VMA: its physical address, or (not mapped) its swap slot
    or the file page it would map, or None."""
    from .swap import swap_entry
    out: list[tuple[int, int | FileOffset | SwapSlot | None]] = []
    pgoff: int | None = None
    for vaddr in range(vma.start, vma.end, PAGE_SIZE):
        walk = _walk(target, root, vaddr, user=True)
        if walk.paddr is not None:
            out.append((vaddr, walk.paddr))
            continue
        if walk.leaf:
            out.append((vaddr, SwapSlot(swap_location(target, walk.leaf),
                                        swap_entry(target, walk.leaf)[1])))
        elif vma.file and not isinstance(vma.file, Unreadable):
            if pgoff is None:
                pgoff = int(target.object_at("struct vm_area_struct", vma.address).vm_pgoff)
            out.append((vaddr, FileOffset(vma.file, (((vaddr - vma.start) >> PAGE_SHIFT)
                                                    + pgoff) << PAGE_SHIFT)))
        else:
            out.append((vaddr, None))
    return out
