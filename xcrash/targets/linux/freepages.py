"""The buddy allocator's free lists per node and zone (the numbers behind `kmem -f`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...errors import MemoryError_
from ...objects import CorruptList, list_for_each


@dataclass
class FreeList:
    order: int
    address: int          # the list_head free_area[order].free_list[migratetype]
    blocks: int
    heads: list[int] = field(default_factory=list)    # first struct page of each block


@dataclass
class Zone:
    node: int
    index: int
    name: str
    spanned: int
    free: int             # the zone's NR_FREE_PAGES counter
    start_pfn: int
    mem_map: int          # struct page of start_pfn (0 for an empty zone)
    start_mapnr: int      # start_pfn - the node's first pfn
    lists: list[FreeList] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def counted(self) -> int:
        return sum(f.blocks << f.order for f in self.lists)


def zones(target: Any, with_pages: bool = False) -> list[Zone]:
    """Every zone of every node (empty ones too, as crash lists them); the free lists of
    a zone with free pages are walked (page.lru / buddy_list entries counted, and with
    ``with_pages`` each block's first struct page kept)."""
    from . import pages
    from .meminfo import pgdats
    stat_enum = dict(target.type("enum zone_stat_item").strip_typedefs().enumerators or ())
    free_item = stat_enum.get("NR_FREE_PAGES", 0)
    list_head_size = target.type("struct list_head").byte_size
    lru_off = target.type("struct page").member("lru")[0] // 8
    out = []
    for node_index, pgdat in enumerate(pgdats(target)):
        node_start = int(pgdat.node_start_pfn)
        zone_array = pgdat.node_zones
        for i in range(zone_array.type_.strip_typedefs().length or 0):
            z = zone_array[i]
            name_ptr = int(z.name)
            name = target.space.read_cstring(name_ptr, 32).decode() if name_ptr else "(unknown)"
            spanned = int(z.spanned_pages)
            start_pfn = int(z.zone_start_pfn)
            zone = Zone(node=int(pgdat.node_id), index=i, name=name, spanned=spanned,
                        free=int(z.vm_stat[free_item].counter), start_pfn=start_pfn,
                        mem_map=pages.pfn_to_page(target, start_pfn) if spanned else 0,
                        start_mapnr=(start_pfn - node_start) if spanned else 0)
            if zone.free:
                areas = z.free_area
                for order in range(areas.type_.strip_typedefs().length or 0):
                    lists = areas[order].free_list
                    for m in range(lists.type_.strip_typedefs().length or 1):
                        head = lists.address_ + m * list_head_size
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
    zone: Zone
    free_list: FreeList
    head: int             # struct page of the block's first page
    position: int         # which page of the block (0 = the first)


def free_block_of(target: Any, page: int) -> FreeBlock | None:
    """The free buddy block holding the struct page ``page``, or None."""
    from . import pages
    pfn = pages.page_to_pfn(target, page)
    lru_off = target.type("struct page").member("lru")[0] // 8
    for zone in zones(target):
        if not zone.start_pfn <= pfn < zone.start_pfn + zone.spanned:
            continue
        for fl in zone.lists:
            first = pfn & ~((1 << fl.order) - 1)
            head = pages.pfn_to_page(target, first)
            if not fl.blocks:
                continue
            try:
                links = set(list_for_each(target, fl.address))
            except (CorruptList, MemoryError_):
                continue
            if head + lru_off in links:
                return FreeBlock(zone, fl, head, pfn - first)
    return None
