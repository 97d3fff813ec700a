"""kmem's text: crash's layouts of the memory summary, free areas, nodes, pages, vmalloc
areas and slab caches, built from what targets/linux reads (no reading here)."""
from __future__ import annotations

from typing import Any

from ..layouts.columns import center

HEADER = "                 PAGES        TOTAL      PERCENTAGE"
CACHE_HEADER = "CACHE             OBJSIZE  ALLOCATED     TOTAL  SLABS  SSIZE  NAME"
SLAB_HEADER = "  SLAB              MEMORY            NODE  TOTAL  ALLOCATED  FREE"
PAGE_HEADER = "      PAGE       PHYSICAL      MAPPING       INDEX CNT FLAGS"
VMALLOC_HEADER = ("   VMAP_AREA         VM_STRUCT                 ADDRESS RANGE                "
                  "SIZE")


def _size(pages: int) -> str:
    from ..targets.linux.sysinfo import format_size
    return format_size(pages * 4096) if pages else "0"


def usage_line(label: str, pages: int, of: tuple[int, str] | None = None) -> str:
    text = f"{label:>13}  {pages:7d}  {_size(pages):>11}"
    if of is None:
        return text + "         ----"
    total, name = of
    pct = pages * 100 // total if total else 0
    return text + f"  {pct:3d}% of {name}"


def free_area_lines(zones: list[Any], with_pages: bool = False) -> list[str]:
    """crash's `kmem -f`: each zone's counters, then (for a zone with free pages) every
    free list by order and migrate type, then the total checked against the lists;
    `kmem -F` lists each block's first struct page under its list instead of counts."""
    lines: list[str] = []
    nodes = {z.node for z in zones}
    for z in zones:
        if z.index == 0 and len(nodes) > 1:
            lines += (["", "-" * 74, ""] if lines else []) + ["NODE", f" {z.node:2d}"]
        if z.index > 0:
            lines.append("")
        lines.append("ZONE  NAME        SIZE    FREE      MEM_MAP       START_PADDR  START_MAPNR")
        lines.append(f"{z.index:3d}   {z.name:<9} {z.spanned:6d}  {z.free:6d}  "
                     f"{center(f'{z.mem_map:x}', 16)}  "
                     f"{center(f'{z.start_pfn << 12:x}', 11, True)}  "
                     f"{center(str(z.start_mapnr), 11, True)}")
        if z.free and with_pages:
            for f in z.lists:
                lines += ["AREA    SIZE  FREE_AREA_STRUCT",
                          f"{f.order:3d}  {f'{4 << f.order}k':>7}  {f.address:16x}  "]
                lines += [f"{head:x}" for head in f.heads]
        elif z.free:
            lines.append("AREA    SIZE  FREE_AREA_STRUCT  BLOCKS  PAGES")
            for f in z.lists:
                lines.append(f"{f.order:3d}  {f'{4 << f.order}k':>7}  {f.address:16x}  "
                             f"{f.blocks:6d} {f.blocks << f.order:6d}")
            lines += [f"kmem: {p}" for p in z.problems]
    total = sum(z.free for z in zones)
    found = sum(z.counted for z in zones)
    lines += ["", f"nr_free_pages: {total}  " + ("(verified)" if total == found else f"(found {found})")]
    return lines


def _ordinal(n: int) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def free_block_lines(block: Any, address: int) -> list[str]:
    """crash's answer for an address in a free buddy block: the zone, the free list
    and the block's first page ("(ADDRESS is Nth of M pages)" for a block of several)."""
    z, fl = block.zone, block.free_list
    pages = 1 << fl.order
    where = f"({address:x} is {_ordinal(block.position + 1)} of {pages} pages)" if pages > 1 else ""
    return ["ZONE  NAME        SIZE    FREE      MEM_MAP       START_PADDR  START_MAPNR",
            f"{z.index:3d}   {z.name:<9} {z.spanned:6d}  {z.free:6d}  {center(f'{z.mem_map:x}', 16)}  "
            f"{center(f'{z.start_pfn << 12:x}', 11, True)}  {center(str(z.start_mapnr), 11, True)}",
            "AREA    SIZE  FREE_AREA_STRUCT",
            f"{fl.order:3d}  {f'{4 << fl.order}k':>7}  {fl.address:16x}  ",
            f"{block.head:x}  {where}"]


def memory_node_lines(nodes: list[Any], sections: list[Any], blocks: list[Any],
                      page_size: int) -> list[str]:
    """crash's `kmem -n`: each node, its zones, the memory sections, the memory blocks."""
    lines: list[str] = []
    for n in nodes:
        zones = n.zones
        first = zones[0].address if zones else 0
        lines += ["NODE    SIZE      PGLIST_DATA       BOOTMEM_DATA       NODE_ZONES   ",
                  f" {n.node:2d}   {center(str(n.spanned), 8)}  {n.pgdat:<16x}  "
                  f"{center('----', 16)}  {first:<16x}"]
        lines += [" " * 52 + f"{z.address:x}" for z in zones[1:]]
        lines += ["    MEM_MAP          START_PADDR    START_MAPNR",
                  f"{center(f'{n.mem_map:x}', 16)}  {center(f'{n.start_pfn * 4096:x}', 16, True)}  "
                  f"{center(str(n.start_pfn), 11, True)}",
                  "", "ZONE  NAME         SIZE       MEM_MAP      START_PADDR  START_MAPNR"]
        for z in zones:
            lines.append(f" {z.index:2d}   {z.name:<9} {z.spanned:7d}  {z.mem_map:16x}  "
                         f"{z.start_pfn * 4096:11x}  {z.start_pfn:11d}")
    lines += ["", "-" * 67, "",
              "NR      SECTION        CODED_MEM_MAP        MEM_MAP       STATE PFN"]
    for sec in sections:
        mem_map = (sec.coded_mem_map + sec.pfn * page_size) & 0xFFFFFFFFFFFFFFFF
        lines.append(f"{sec.nr:2d}  {sec.address:16x}  {sec.coded_mem_map:16x}  {mem_map:16x}  "
                     f"{center(sec.state, 5)} {sec.pfn:<16d}")
    if blocks:
        lines += ["", "   MEM_BLOCK        NAME        PHYSICAL RANGE     NODE  STATE   START_SECTION_NO"]
        for b in blocks:
            where = (f"{b.start:8x} - {b.end:8x}" if b.end is not None
                     else center(f"{b.start:x}", 19))
            lines.append(f" {b.address:<16x} {center(b.name, 12)} {where} "
                         f"{center(str(b.nid), 4)}  {b.state:<7} {str(b.start_section):<12}")
    return lines


def page_flag_lines(target: Any, flags: int | None) -> list[str]:
    """crash's `kmem -g [FLAGS]`: enum pageflags (every PG_ name, aliases too) with bit
    and value; with FLAGS, only the bits set in it."""
    values = list(target.type("enum pageflags").strip_typedefs().enumerators or ())
    longest = max((len(n) for n, _ in values), default=9)
    largest = max((v for n, v in values if "PG_" in n), default=0)
    digits = (largest + 1) // 4 + 1
    indent = "  " if flags else ""
    lines = [f"FLAGS: {flags:x}"] if flags else []
    lines.append(f"{indent}{'PAGE-FLAG':<{longest}} BIT  VALUE")
    found = 0
    for name, bit in values:
        if "PG_" not in name or (flags and not flags >> bit & 1):
            continue
        found += 1
        lines.append(f"{indent}{name:<{longest}}  {bit:2d}  {1 << bit:0{digits}x}")
    if flags and not found:
        lines.append("  (none found)")
    return lines


def huge_size(size: int) -> str:
    """crash's pages_to_size without its blank: 2MB, 1GB."""
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= scale:
            return f"{size // scale}{unit}"
    return f"{size}"


def page_line(target: Any, info: Any) -> str:
    """crash's mem_map line: flags in hex, then the names of the set flags."""
    from ..targets.linux.pages import page_flag_names
    names = [name for mask, name in page_flag_names(target) if info.flags & mask] if info.flags else []
    flags = f"{info.flags:x}" + (" " + ",".join(names) if names else "")
    return (f"{info.page:<16x} {info.physical:8x} {info.mapping:16x} {info.index:8x} "
            f"{info.count:2d} {flags}")


def vmalloc_line(a: Any) -> str:
    return f"{a.address:16x}  {a.vm_struct:16x}  {a.start:16x} - {a.end:<16x}  {a.size:7d}"


def cache_line(c: Any) -> str:
    return (f"{c.address:<16x} {c.object_size:8d}  {c.allocated:9d}  {c.total:8d}  {c.slabs:5d}  "
            f"{c.slab_size // 1024:4d}k  {c.name}")


def cache_record(c: Any) -> dict[str, Any]:
    return {"cache": c.address, "name": c.name, "objsize": c.object_size, "size": c.size,
            "allocated": c.allocated, "total": c.total, "slabs": c.slabs,
            "slab_size": c.slab_size, "objects_per_slab": c.objects_per_slab}


def slab_info_line(sp: Any) -> str:
    return (f"  {sp.slab:<16x}  {sp.memory:<16x}  {sp.node:4d}  {len(sp.objects):5d}  "
            f"{sp.allocated:9d}  {len(sp.free):4d}")


def object_line(sp: Any, start: int) -> str:
    """``[addr]`` allocated, `` addr `` free (with the CPU whose freelist has it)."""
    if start in sp.free:
        return f"   {start:x}  " + (f"(cpu {sp.cpu} cache)" if sp.cpu is not None else "")
    return f"  [{start:x}]"


def slab_lines(sp: Any, address: int | None = None) -> list[str]:
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


def cache_detail_lines(cs: Any) -> list[str]:
    """`kmem -S`: each CPU's active and partial slabs with their objects, then each
    node's counters, partial slabs and full slabs (tracked only with SLAB_STORE_USER)."""
    lines = []
    for cpu in cs.cpus:
        lines += [f"CPU {cpu.cpu} KMEM_CACHE_CPU:", f"  {cpu.kmem_cache_cpu:x}", f"CPU {cpu.cpu} SLAB:"]
        lines += slab_lines(cpu.active) if cpu.active else ["  (empty)"]
        lines.append(f"CPU {cpu.cpu} PARTIAL:")
        if not cpu.partial:
            lines.append("  (empty)")
        for sp in cpu.partial:
            lines += slab_lines(sp)
    for node in cs.nodes:
        lines += ["KMEM_CACHE_NODE   NODE  SLABS  PARTIAL  PER-CPU",
                  f"{node.address:x}  {node.node:4d}  {node.slabs:5d}  {node.partial_count:7d}  "
                  f"{node.per_cpu:7d}"]
        for title, slabs in ((f"NODE {node.node} PARTIAL:", node.partial),
                             (f"NODE {node.node} FULL:", node.full)):
            lines.append(title)
            if slabs is None:
                lines.append("  (not tracked)")
            elif not slabs:
                lines.append("  (empty)")
            else:
                lines += [SLAB_HEADER] + [slab_info_line(sp) for sp in slabs]
    return lines
