"""The buddy allocator's free lists per node and zone (the records behind `kmem -f`,
`kmem -F` and the free-block view of `kmem ADDRESS`)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ...caveats import caveat
from ...errors import MemoryError_
from ...objects import CorruptList, list_for_each
from . import pages
from .meminfo import pgdats

if TYPE_CHECKING:
    from .kernel import LinuxTarget


@dataclass
class FreeList:
    order: int
    address: int          # the list_head free_area[order].free_list[migratetype]
    blocks: int
    heads: list[int] = field(default_factory=list)    # first struct page of each block


@dataclass
class Zone:
    """A zone of `kmem -f`: its counters and free lists."""
    node: int
    index: int
    name: str
    spanned: int
    free: int             # the zone's NR_FREE_PAGES counter
    start_pfn: int
    mem_map: int          # struct page of start_pfn (0 for an empty zone)
    start_mapnr: int      # start_pfn - the node's first pfn
    lists: list[FreeList] = field(default_factory=list)
    #: free lists that could not be walked (crash's "kmem: ..." lines)
    problems: list[str] = field(default_factory=list)

    @property
    def counted(self) -> int:
        return sum(f.blocks << f.order for f in self.lists)


def zone_name(target: LinuxTarget, pointer: int) -> str:
    # an unnamed zone: crash's "(unknown)"
    return target.space.read_cstring(pointer, 32).decode() if pointer else "(unknown)"


def zones(target: LinuxTarget, with_pages: bool = False) -> list[Zone]:
    """Every zone of every node (empty ones too, as crash lists them); the free lists of
    a zone with free pages are walked (page.lru / buddy_list entries counted, and with
    ``with_pages`` each block's first struct page kept)."""
    stat_enum = dict(target.type("enum zone_stat_item").strip_typedefs().enumerators or ())
    free_item = stat_enum.get("NR_FREE_PAGES", 0)
    list_head_size = target.type("struct list_head").byte_size
    lru_off = target.offsetof("struct page", "lru")
    out = []
    for pgdat in pgdats(target):
        node_start = int(pgdat.node_start_pfn)
        zone_array = pgdat.node_zones
        for i in range(zone_array.type_.strip_typedefs().length or 0):
            z = zone_array[i]
            spanned = int(z.spanned_pages)
            start_pfn = int(z.zone_start_pfn)
            zone = Zone(node=int(pgdat.node_id), index=i, name=zone_name(target, int(z.name)),
                        spanned=spanned, free=int(z.vm_stat[free_item].counter),
                        start_pfn=start_pfn,
                        mem_map=pages.pfn_to_page(target, start_pfn) if spanned else 0,
                        start_mapnr=(start_pfn - node_start) if spanned else 0)
            if zone.free:
                areas = z.free_area
                for order in range(areas.type_.strip_typedefs().length or 0):
                    lists = areas[order].free_list
                    for m in range(lists.type_.strip_typedefs().length or 1):
                        head = int(lists.address_of_()) + m * list_head_size
                        links: list[int] = []
                        try:
                            links.extend(list_for_each(target, head))
                        except (CorruptList, MemoryError_) as e:
                            zone.problems.append(f"corrupted free list {head:x}: {e}")
                        zone.lists.append(FreeList(order, head, len(links),
                                                   [link - lru_off for link in links]
                                                   if with_pages else []))
            out.append(zone)
    return out


@dataclass
class FreeBlock:
    """A free buddy block holding a page: the zone (without its lists), the free
    list (without its blocks), the block's first struct page."""
    zone: Zone
    free_list: FreeList
    head: int             # struct page of the block's first page
    position: int         # which page of the block (0 = the first)


def free_block_of(target: LinuxTarget, page: int) -> FreeBlock | None:
    """The free buddy block holding the struct page ``page``, or None.  A free list
    that cannot be walked is said (a WARNING): the page may be in it."""
    pfn = pages.page_to_pfn(target, page)
    for zone in zones(target, with_pages=True):
        if not zone.start_pfn <= pfn < zone.start_pfn + zone.spanned:
            continue
        for problem in zone.problems:
            caveat(f"zone {zone.name}: {problem}: a free block there is not seen")
        for fl in zone.lists:
            first = pfn & ~((1 << fl.order) - 1)
            head = pages.pfn_to_page(target, first)
            if head in fl.heads:
                return FreeBlock(dataclasses.replace(zone, lists=[], problems=[]),
                                 dataclasses.replace(fl, heads=[]), head, pfn - first)
    return None
