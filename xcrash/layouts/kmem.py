"""crash's layouts of `kmem`: the memory summary, free areas, nodes, pages, page flags,
vmalloc areas, huge page sizes, slab caches and the views of an address.

Each layout takes the records of ``targets/linux`` (meminfo, freepages, memnodes,
pages, vmalloc, slab, whereis) and yields crash's lines; nothing here reads memory.
(Kept beside the command rather than in it for size: commands/kmem.py is the
options and the choice of records.)
"""
from __future__ import annotations

from typing import TYPE_CHECKING
from collections.abc import Iterable, Iterator

from ..arch import PAGE_SHIFT, PAGE_SIZE
from ..caveats import Unreadable
from . import separated
from .columns import center
from .tasks import context_lines
from ..targets.linux.slab import IgnoredCache

if TYPE_CHECKING:
    from ..targets.linux.freepages import FreeBlock, Zone
    from ..targets.linux.meminfo import Count, HugePageState, MemInfo
    from ..targets.linux.memnodes import MemoryMap
    from ..targets.linux.pages import PageFlags, PageInfo
    from ..targets.linux.slab import SlabCache
    from ..targets.linux.slablists import CacheSlabs
    from ..targets.linux.slabobjects import SlabObject, SlabPage
    from ..targets.linux.vmalloc import VmapArea
    from ..targets.linux.whereis import AddressReport, SymbolAt

USAGE_HEADER = "                 PAGES        TOTAL      PERCENTAGE"
CACHE_HEADER = "CACHE             OBJSIZE  ALLOCATED     TOTAL  SLABS  SSIZE  NAME"
SLAB_HEADER = "  SLAB              MEMORY            NODE  TOTAL  ALLOCATED  FREE"
PAGE_HEADER = "      PAGE       PHYSICAL      MAPPING       INDEX CNT FLAGS"
VMALLOC_HEADER = ("   VMAP_AREA         VM_STRUCT                 ADDRESS RANGE                "
                  "SIZE")
ZONE_HEADER = "ZONE  NAME        SIZE    FREE      MEM_MAP       START_PADDR  START_MAPNR"
HSTATE_HEADER = "     HSTATE        SIZE    FREE   TOTAL  NAME"


# -- kmem -i ---------------------------------------------------------------------------
def _size(pages: Count) -> str:
    from ..targets.linux.sysinfo import format_size
    if isinstance(pages, Unreadable):
        return "?"
    return format_size(pages * PAGE_SIZE) if pages else "0"


def usage_line(label: str, pages: Count, of: tuple[Count, str] | None = None) -> str:
    text = f"{label:>13}  {pages:7d}  {_size(pages):>11}"
    if of is None:
        return text + "         ----"
    total, name = of
    pct: Count
    if isinstance(pages, Unreadable) or isinstance(total, Unreadable):
        pct = Unreadable()
    else:
        pct = pages * 100 // total if total else 0
    return text + f"  {pct:3d}% of {name}"


def usage_lines(records: Iterable[MemInfo]) -> Iterator[str]:
    """crash's `kmem -i` (the SHARED line when it was counted: `kmem -i=shared`)."""
    for m in records:
        mem = (m.total, "TOTAL MEM")
        swap = (m.swap_total, "TOTAL SWAP")
        shared = [] if m.shared is None else [usage_line("SHARED", m.shared, mem)]
        yield from (USAGE_HEADER, usage_line("TOTAL MEM", m.total), usage_line("FREE", m.free, mem),
                    usage_line("USED", m.used, mem), *shared,
                    usage_line("BUFFERS", m.buffers, mem), usage_line("CACHED", m.cached, mem),
                    usage_line("SLAB", m.slab, mem), "",
                    usage_line("TOTAL HUGE", m.huge_total),
                    usage_line("HUGE FREE", m.huge_free, (m.huge_total, "TOTAL HUGE")), "",
                    usage_line("TOTAL SWAP", m.swap_total),
                    usage_line("SWAP USED", m.swap_used, swap),
                    usage_line("SWAP FREE", m.swap_free, swap), "",
                    usage_line("COMMIT LIMIT", m.commit_limit),
                    # crash: no percentage of a zero limit
                    usage_line("COMMITTED", m.committed, (m.commit_limit, "TOTAL LIMIT")
                               if m.commit_limit != 0 else None))


# -- kmem -f / -F and a free block -------------------------------------------------------
def _zone_line(z: Zone) -> str:
    return (f"{z.index:3d}   {z.name:<9} {z.spanned:6d}  {z.free:6d}  "
            f"{center(f'{z.mem_map:x}', 16)}  "
            f"{center(f'{z.start_pfn << PAGE_SHIFT:x}', 11, True)}  "
            f"{center(str(z.start_mapnr), 11, True)}")


def _area(order: int, address: int) -> str:
    return f"{order:3d}  {f'{4 << order}k':>7}  {address:16x}  "


def free_area_lines(zones: Iterable[Zone], with_pages: bool = False) -> Iterator[str]:
    """crash's `kmem -f`: each zone's counters, then (for a zone with free pages) every
    free list by order and migrate type, then the total checked against the lists;
    `kmem -F` lists each block's first struct page under its list instead of counts."""
    zones = list(zones)
    nodes = {z.node for z in zones}
    started = False
    for z in zones:
        if z.index == 0 and len(nodes) > 1:
            if started:
                yield from ("", "-" * 74, "")
            yield from ("NODE", f" {z.node:2d}")
        if z.index > 0:
            yield ""
        started = True
        yield ZONE_HEADER
        yield _zone_line(z)
        if z.free and with_pages:
            for f in z.lists:
                yield "AREA    SIZE  FREE_AREA_STRUCT"
                yield _area(f.order, f.address)
                yield from (f"{head:x}" for head in f.heads)
        elif z.free:
            yield "AREA    SIZE  FREE_AREA_STRUCT  BLOCKS  PAGES"
            for f in z.lists:
                yield _area(f.order, f.address) + f"{f.blocks:6d} {f.blocks << f.order:6d}"
            yield from (f"kmem: {p}" for p in z.problems)
    total = sum(z.free for z in zones)
    found = sum(z.counted for z in zones)
    yield ""
    yield f"nr_free_pages: {total}  " + ("(verified)" if total == found else f"(found {found})")


def _ordinal(n: int) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def free_block_lines(block: FreeBlock, address: int) -> list[str]:
    """crash's answer for an address in a free buddy block: the zone, the free list
    and the block's first page ("(ADDRESS is Nth of M pages)" for a block of several)."""
    fl = block.free_list
    pages = 1 << fl.order
    where = f"({address:x} is {_ordinal(block.position + 1)} of {pages} pages)" if pages > 1 else ""
    return [ZONE_HEADER, _zone_line(block.zone), "AREA    SIZE  FREE_AREA_STRUCT",
            _area(fl.order, fl.address), f"{block.head:x}  {where}"]


# -- kmem -n -------------------------------------------------------------------------------
def memory_map_lines(records: Iterable[MemoryMap]) -> Iterator[str]:
    """crash's `kmem -n`: each node, its zones, the memory sections, the memory blocks."""
    for m in records:
        for n in m.nodes:
            zones = n.zones
            first = zones[0].address if zones else 0
            yield "NODE    SIZE      PGLIST_DATA       BOOTMEM_DATA       NODE_ZONES   "
            yield (f" {n.node:2d}   {center(str(n.spanned), 8)}  {n.pgdat:<16x}  "
                   f"{center('----', 16)}  {first:<16x}")
            yield from (" " * 52 + f"{z.address:x}" for z in zones[1:])
            yield "    MEM_MAP          START_PADDR    START_MAPNR"
            yield (f"{center(f'{n.mem_map:x}', 16)}  "
                   f"{center(f'{n.start_pfn << PAGE_SHIFT:x}', 16, True)}  "
                   f"{center(str(n.start_pfn), 11, True)}")
            yield from ("", "ZONE  NAME         SIZE       MEM_MAP      START_PADDR  START_MAPNR")
            for z in zones:
                yield (f" {z.index:2d}   {z.name:<9} {z.spanned:7d}  {z.mem_map:16x}  "
                       f"{z.start_pfn << PAGE_SHIFT:11x}  {z.start_pfn:11d}")
        yield from ("", "-" * 67, "",
                    "NR      SECTION        CODED_MEM_MAP        MEM_MAP       STATE PFN")
        for sec in m.sections:
            yield (f"{sec.nr:2d}  {sec.address:16x}  {sec.coded_mem_map:16x}  {sec.mem_map:16x}  "
                   f"{center(sec.state, 5)} {sec.pfn:<16d}")
        if m.blocks:
            yield ""
            yield ("   MEM_BLOCK        NAME        PHYSICAL RANGE     NODE  STATE   "
                   "START_SECTION_NO")
            for b in m.blocks:
                where = (f"{b.start:8x} - {b.end:8x}" if b.end is not None
                         else center(f"{b.start:x}", 19))
                yield (f" {b.address:<16x} {center(b.name, 12)} {where} "
                       f"{center(str(b.nid), 4)}  {b.state:<7} {b.start_section!s:<12}")


# -- kmem -g, -p, -h -----------------------------------------------------------------------
def page_flag_lines(records: Iterable[PageFlags]) -> Iterator[str]:
    """crash's `kmem -g [FLAGS]`: enum pageflags (every PG_ name, aliases too) with bit
    and value; with FLAGS, only the bits set in it."""
    for r in records:
        indent = "  " if r.flags else ""
        if r.flags:
            yield f"FLAGS: {r.flags:x}"
        yield f"{indent}{'PAGE-FLAG':<{r.name_width}} BIT  VALUE"
        for f in r.bits:
            yield f"{indent}{f.name:<{r.name_width}}  {f.bit:2d}  {f.value:0{r.value_digits}x}"
        if r.flags and not r.bits:
            yield "  (none found)"


def page_line(info: PageInfo) -> str:
    """crash's mem_map line: flags in hex, then the names of the set flags."""
    flags = f"{info.flags:x}" + (" " + ",".join(info.flag_names) if info.flag_names else "")
    return (f"{info.page:<16x} {info.physical:8x} {info.mapping:16x} {info.index:8x} "
            f"{info.count:2d} {flags}")


def page_lines(records: Iterable[PageInfo]) -> Iterator[str]:
    """crash's `kmem -p`."""
    yield PAGE_HEADER
    yield from (page_line(i) for i in records)


def huge_size(size: int) -> str:
    """crash's pages_to_size without its blank: 2MB, 1GB."""
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= scale:
            return f"{size // scale}{unit}"
    return f"{size}"


def hstate_lines(records: Iterable[HugePageState]) -> Iterator[str]:
    """crash's `kmem -h`."""
    yield HSTATE_HEADER
    for h in records:
        yield f"{h.address:x}  {huge_size(h.size):>5}  {h.free:6d}  {h.total:6d}  {h.name}"


# -- kmem -v ---------------------------------------------------------------------------------
def vmalloc_line(a: VmapArea) -> str:
    return f"{a.address:16x}  {a.vm_struct:16x}  {a.start:16x} - {a.end:<16x}  {a.size:7d}"


def vmalloc_lines(records: Iterable[VmapArea]) -> Iterator[str]:
    yield VMALLOC_HEADER
    yield from (vmalloc_line(a) for a in records)


# -- kmem -s, -S, -s ADDRESS -----------------------------------------------------------------
def cache_line(c: SlabCache | IgnoredCache) -> str:
    if isinstance(c, IgnoredCache):
        return f"{c.cache:x} {'[IGNORED]':<43}  {c.name}"
    return (f"{c.cache:<16x} {c.objsize:8d}  {c.allocated:9d}  {c.total:8d}  {c.slabs:5d}  "
            f"{c.slab_size // 1024:4d}k  {c.name}")


def cache_lines(records: Iterable[SlabCache | IgnoredCache]) -> Iterator[str]:
    """crash's `kmem -s`: a line per cache (what could not be read of it is a WARNING
    after the listing)."""
    yield CACHE_HEADER
    yield from (cache_line(c) for c in records)


def slab_info_line(sp: SlabPage) -> str:
    return (f"  {sp.slab:<16x}  {sp.memory:<16x}  {sp.node:4d}  {len(sp.objects):5d}  "
            f"{sp.allocated:9d}  {len(sp.free):4d}")


def object_line(sp: SlabPage, start: int) -> str:
    """``[addr]`` allocated, `` addr `` free (with the CPU whose freelist has it)."""
    if start in sp.free:
        return f"   {start:x}  " + (f"(cpu {sp.cpu} cache)" if sp.cpu is not None else "")
    return f"  [{start:x}]"


def slab_lines(sp: SlabPage, address: int | None = None) -> list[str]:
    """crash's block for one slab: its line, then the object holding ``address``
    (every object when ``address`` is None)."""
    lines = [SLAB_HEADER, slab_info_line(sp), "  FREE / [ALLOCATED]"]
    if address is None:
        lines += [object_line(sp, start) for start in sp.objects]
    else:
        start = sp.object_containing(address)
        if start is not None:
            lines.append(object_line(sp, start))
    return lines


def slab_object_lines(records: Iterable[SlabObject]) -> Iterator[str]:
    """crash's `kmem -s ADDRESS`: the cache, the slab, the object holding the address."""
    for r in records:
        yield CACHE_HEADER
        yield cache_line(r)
        yield from slab_lines(r.slab, r.address)


def cache_detail_lines(records: Iterable[CacheSlabs | IgnoredCache]) -> Iterator[str]:
    """`kmem -S`: per cache, each CPU's active and partial slabs with their objects,
    then each node's counters, partial slabs and full slabs (tracked only with
    SLAB_STORE_USER), then what could not be read, and a blank line; the header
    again before the next cache (a cache left out by -I: its tagged line only)."""
    header_due = True
    for cs in records:
        if header_due:
            yield CACHE_HEADER
        yield cache_line(cs)
        header_due = not isinstance(cs, IgnoredCache)
        if isinstance(cs, IgnoredCache):
            continue
        for cpu in cs.cpus:
            yield from (f"CPU {cpu.cpu} KMEM_CACHE_CPU:", f"  {cpu.kmem_cache_cpu:x}",
                        f"CPU {cpu.cpu} SLAB:")
            yield from slab_lines(cpu.active) if cpu.active else ["  (empty)"]
            yield f"CPU {cpu.cpu} PARTIAL:"
            if not cpu.partial:
                yield "  (empty)"
            for sp in cpu.partial:
                yield from slab_lines(sp)
        for node in cs.nodes:
            yield "KMEM_CACHE_NODE   NODE  SLABS  PARTIAL  PER-CPU"
            yield (f"{node.address:x}  {node.node:4d}  {node.slabs:5d}  "
                   f"{node.partial_count:7d}  {node.per_cpu:7d}")
            for title, slabs in ((f"NODE {node.node} PARTIAL:", node.partial),
                                 (f"NODE {node.node} FULL:", node.full)):
                yield title
                if slabs is None:
                    yield "  (not tracked)"
                elif not slabs:
                    yield "  (empty)"
                else:
                    yield SLAB_HEADER
                    yield from (slab_info_line(sp) for sp in slabs)
        yield from (f"kmem: {cs.name}: {p}" for p in cs.problems + cs.slab_problems)
        yield ""


# -- kmem ADDRESS ----------------------------------------------------------------------------
def symbol_line(s: SymbolAt) -> str:
    """``ADDRESS (T) name+off file.c: line`` as crash's kmem (and sym) print it."""
    name = f"{s.name}+{s.offset}" if s.offset else s.name
    source = f" {s.source[0]}: {s.source[1]}" if s.source else ""
    return f"{s.address:x} ({s.type_char}) {name}{source}"


def address_lines(records: Iterable[AddressReport]) -> Iterator[str]:
    """crash's `kmem ADDRESS`: each view of the address, a blank line between them."""
    for r in records:
        blocks: list[list[str]] = []
        if r.symbol is not None:
            blocks.append([symbol_line(r.symbol)])
        if r.vmalloc is not None:
            if r.task_context is not None:
                blocks.append(list(context_lines(r.task_context)))
            blocks.append([VMALLOC_HEADER, vmalloc_line(r.vmalloc)])
        else:
            for slab in (r.slab, r.page_slab):
                if slab is not None:
                    blocks.append([CACHE_HEADER, cache_line(slab), *slab_lines(slab.slab,
                                                                               slab.address)])
            if r.free_block is not None:
                blocks.append(free_block_lines(r.free_block, r.address))
            if r.task_context is not None:
                blocks.append(list(context_lines(r.task_context)))
        if r.page_info is not None:
            blocks.append([PAGE_HEADER, page_line(r.page_info)])
        elif r.page is None:
            blocks.append([f"{r.address:x}: kernel virtual address not found in mem map"])
        yield from separated(blocks)
