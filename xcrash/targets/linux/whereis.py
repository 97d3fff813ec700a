"""What a kernel address is: every view crash's `kmem ADDRESS` gives of it, as one record.

In crash's order: the kernel symbol (inside the kernel image), then either the
vmalloc area (with the task whose stack it is) or the slab object, the slab a struct
page describes, the free buddy block holding the page and the task whose
task_struct or stack holds the address; last, the address's struct page.  A view
that could not be read is left out with a WARNING saying so.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...arch import PAGE_SHIFT
from ...caveats import caveat
from ...errors import MemoryError_, XcrashError
from ...symbols.symtab import display_name
from . import pages
from .context import TaskContext, task_context
from .freepages import FreeBlock, free_block_of
from .pages import PageInfo
from .slab import SlabError, say_problems
from .slabobjects import SlabObject, slab_containing, slab_of_page
from .tasks import task_holding
from .vmalloc import VmapArea, vmap_area_of

if TYPE_CHECKING:
    from .kernel import LinuxTarget


@dataclass
class SymbolAt:
    """The kernel symbol holding an address, with its source line."""
    address: int          # the address asked for
    name: str
    offset: int
    type_char: str
    source: tuple[str, int] | None


@dataclass
class AddressReport:
    """kmem ADDRESS: each view of the address there is (None: no such view)."""
    address: int
    symbol: SymbolAt | None = None
    vmalloc: VmapArea | None = None
    #: the slab object holding the address
    slab: SlabObject | None = None
    #: the slab the struct page at the address describes (every object)
    page_slab: SlabObject | None = None
    free_block: FreeBlock | None = None
    #: the task whose task_struct or kernel stack holds the address
    task: int | None = None
    #: that task as crash's `set` shows it (when kmem shows it)
    task_context: TaskContext | None = None
    #: the struct page of the address (None: not in the memory map)
    page: int | None = None
    #: what it holds (None when it could not be read: a WARNING says so)
    page_info: PageInfo | None = None


def _paddr(target: LinuxTarget, address: int) -> int | None:
    return target.translate(address).paddr


def _page_of(target: LinuxTarget, address: int) -> int | None:
    paddr = _paddr(target, address)
    return None if paddr is None else pages.pfn_to_page(target, paddr >> PAGE_SHIFT)


def _symbol(target: LinuxTarget, address: int) -> SymbolAt | None:
    start, end = target.symbols.get("_stext"), target.symbols.get("_end")
    if start is None or end is None or not start.address <= address <= end.address:
        return None
    hit = target.symbols.resolve(address)
    if hit is None:
        return None
    sym, offset = hit
    return SymbolAt(address, display_name(sym.name), offset, sym.type_char,
                    target.source_line(address))


def whereis(target: LinuxTarget, address: int) -> AddressReport:
    """Every view of ``address`` crash's `kmem ADDRESS` gives."""
    report = AddressReport(address, symbol=_symbol(target, address))
    owner = task_holding(target, address)
    try:
        report.vmalloc = vmap_area_of(target, address)
    except XcrashError as err:           # a read, a damaged list, a kernel not read yet
        caveat(f"vmalloc areas unreadable ({err}): no vmalloc view")
    page = None
    if report.vmalloc is not None:
        if owner is not None and owner[1] == "stack":
            report.task, report.task_context = owner[0], task_context(target, owner[0])
        page = _page_of(target, address)
    else:
        try:
            report.slab = slab_containing(target, address)
        except SlabError as err:
            caveat(f"{err}: no slab view")
        except MemoryError_ as err:
            caveat(f"slab of {address:x} unreadable ({err}): no slab view")
        if pages.is_page_struct(target, address):
            page = address
            try:
                report.page_slab = slab_of_page(target, address)
            except SlabError as err:
                caveat(f"{err}: no slab view")
            except MemoryError_ as err:
                caveat(f"slab of struct page {address:x} unreadable ({err}): no slab view")
        free_page = page if page is not None else _page_of(target, address)
        if free_page is not None:
            try:
                report.free_block = free_block_of(target, free_page)
            except MemoryError_ as err:
                caveat(f"free lists unreadable ({err}): no free block view")
        if owner is not None:
            report.task, report.task_context = owner[0], task_context(target, owner[0])
        if page is None:
            page = _page_of(target, address)
    for found in (report.slab, report.page_slab):
        if found is not None:
            say_problems(found)
    if page is not None:
        report.page = page
        try:
            report.page_info = pages.page_info(target, page)
        except MemoryError_ as err:
            caveat(f"struct page {page:x} unreadable ({err}): not shown")
    return report


def physical_whereis(target: LinuxTarget, paddr: int) -> AddressReport:
    """`kmem -P ADDRESS` (and a physical address given alone): what the address's
    direct-map address is, as crash looks at a physical address below high_memory."""
    page_offset = getattr(target.space, "page_offset", None)
    high = target.space.read_u64(target.address_of("high_memory"))
    if page_offset is None or paddr >= high - page_offset:
        raise XcrashError(f"{paddr:x}: physical address not found in mem map")
    return whereis(target, page_offset + paddr)
