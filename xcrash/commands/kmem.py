"""kmem: the memory usage summary (-i) and the slab caches (-s), in crash's layout."""
from __future__ import annotations

from typing import Any

from ..errors import CommandError
from .args import looks_hex, parse_address, parse_number
from .base import Command, Context, Option, Result, Text
from .columns import center

HEADER = "                 PAGES        TOTAL      PERCENTAGE"
CACHE_HEADER = "CACHE             OBJSIZE  ALLOCATED     TOTAL  SLABS  SSIZE  NAME"
SLAB_HEADER = "  SLAB              MEMORY            NODE  TOTAL  ALLOCATED  FREE"
PAGE_HEADER = "      PAGE       PHYSICAL      MAPPING       INDEX CNT FLAGS"
VMALLOC_HEADER = ("   VMAP_AREA         VM_STRUCT                 ADDRESS RANGE                "
                  "SIZE")


def _size(pages: int) -> str:
    from ..targets.linux.sysinfo import format_size
    return format_size(pages * 4096) if pages else "0"


def _line(label: str, pages: int, of: tuple[int, str] | None = None) -> str:
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


def _free_block(target: Any, page: int) -> Any:
    from ..errors import MemoryError_, XcrashError
    from ..targets.linux.freepages import free_block_of
    try:
        return free_block_of(target, page)
    except (MemoryError_, XcrashError):
        return None


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


def _huge_size(size: int) -> str:
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


def _task_holding(target: Any, address: int) -> tuple[int, str] | None:
    """(task, "task_struct" or "stack") when the address is inside a task_struct or
    a task's kernel stack."""
    from ..errors import MemoryError_, XcrashError
    from ..targets.linux.tasks import for_each_task
    # x86 sizes task_struct for the CPU's FPU state: arch_task_struct_size, not sizeof
    sym = target.symbols.get("arch_task_struct_size")
    task_size = (target.space.read_u32(sym.address) if sym is not None
                 else target.type("struct task_struct").byte_size)
    try:
        stack_size = target.type("union thread_union").byte_size
    except XcrashError:
        stack_size = 16384
    stack_hit = None
    for task in for_each_task(target):
        base = task.address_
        if base <= address < base + task_size:
            return base, "task_struct"
        try:
            stack = int(task.stack)
        except (MemoryError_, XcrashError):
            continue
        if stack and stack <= address < stack + stack_size and stack_hit is None:
            stack_hit = (base, "stack")
    return stack_hit


def _vmalloc_area(target: Any, address: int) -> Any:
    from ..errors import MemoryError_, XcrashError
    from ..targets.linux.vmalloc import vmap_areas
    try:
        return next((a for a in vmap_areas(target) if a.start <= address < a.end), None)
    except (MemoryError_, XcrashError):
        return None


def _slab_of_page(target: Any, page: int) -> Any:
    """The slab described by the struct page at ``page`` (with every object), or None."""
    from ..targets.linux import pages
    from ..targets.linux.slab import RawCache, SlubReader, describe_slab
    head = pages.compound_head(target, page)
    if not pages.page_flags(target, head) >> pages.page_flag(target, "slab") & 1:
        return None
    r = SlubReader(target)
    cache = r.space.read_u64(head + r.s_cache)
    return describe_slab(target, r, RawCache(r, cache), r.cache(cache), head) if cache else None


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


class Kmem(Command):
    name = "kmem"
    synopsis = "kmem -i | -f|-F | -g [flags] | -h | -n | -v | -p [address ...] | -s|-S [cache-name ... | address] | address"
    summary = "kernel memory: usage, slab caches, free lists, pages, vmalloc, an address"
    group = "linux"
    targets = ("linux",)
    description = """\
`kmem -i`: total, free, used, shared, buffer, cache and slab pages, huge pages,
swap, and the commit limit, from the kernel's own counters (vm_zone_stat,
vm_node_stat, the block-device inodes, hstates, vm_committed_as), laid out as
crash does.

`kmem -s`: every SLUB cache on `slab_caches` (newest first, as crash lists
them) with its object size, allocated and total objects, slabs and slab size.
Totals come from the per-node counters; the free objects are counted on each
CPU's active slab and lockless freelist (decoding hardened freelist pointers),
each CPU's partial slabs and each node's partial list: crash's arithmetic.
`kmem -s NAME ...` shows only those caches (crash takes one; an unknown name
is an error here, where crash prints nothing).  `kmem -s ADDRESS` finds the
slab holding the address: its cache, the slab (struct slab; MEMORY is its
first byte), and the object containing the address, [allocated] or free (with
the CPU whose freelist holds it).

`kmem -S [NAME ...]`: the same listing with every slab of each cache: per CPU
its kmem_cache_cpu, active slab (every object) and partial slabs; per node its
counters, partial slabs and full slabs (tracked only when the cache has
SLAB_STORE_USER, i.e. slub_debug=U).

`kmem -f`: each zone (size, free pages, first struct page and physical
address), every free list by order and migrate type with its blocks and pages,
and nr_free_pages checked against what the lists hold ("verified").  `kmem -F`:
the same with the first struct page of every free block.

`kmem -v`: the vmalloc areas (vmap_area, its vm_struct, address range, size
including the guard page) in address order.

`kmem -p [PHYS ...]`: the struct page of every page frame (or of those
physical addresses): address, physical address, mapping, index, reference
count and flags (hex, then the kernel's own names for them, pageflag_names[]).

`kmem ADDRESS`: everything there is to say about an address, as crash does:
the kernel symbol, the vmalloc area, the slab and object, the slab of a struct
page, the free buddy block holding the page, the task whose task_struct or
stack holds it, and its page.

`kmem -h`: each huge page size (struct hstate): size, free and total huge
pages, name.

`kmem -n`: each memory node (pglist_data, size, zones, first struct page),
its zones, the present sparse memory sections (encoded and decoded mem_map,
state: Present, has a Mem_map, Online, Early, zone-Device) and the memory
hotplug blocks.

`kmem -g [FLAGS]`: the page flag bits (enum pageflags, aliases included)
with their values; with a flags value (hex), the bits set in it.

Other kmem options (-c, -C, -l, -L ...) are not implemented yet.
"""
    example = "kmem -i\nkmem -s\nkmem -s dentry task_struct\nkmem -s ffff975a80221490\nkmem -S pid\nkmem -f\nkmem -v\nkmem ffff975a80221490\nkmem -p 1000"
    options = (Option("-i", "info", "memory usage summary"),
               Option("-s", "slabs", "slab caches; with a name, that cache; with an address, its slab"),
               Option("-S", "slab_detail", "slab caches with every slab and object"),
               Option("-v", "vmalloc", "vmalloc areas"),
               Option("-p", "pages", "struct page of every page frame or of physical addresses"),
               Option("-f", "free", "free lists of every zone"),
               Option("-F", "free_pages", "free lists with the first page of every block"),
               Option("-h", "huge", "huge page sizes (hstates)"),
               Option("-n", "nodes", "memory nodes, zones and sections"),
               Option("-g", "page_flags", "page flag bits (of a flags value)"))

    def run(self, ctx: Context, args: list[str]) -> Result:
        from ..targets.linux.meminfo import meminfo
        opts, rest = self.parse(args)
        if opts["page_flags"] and len(rest) <= 1:
            flags = parse_number(rest[0], 16) if rest else None
            return Text("\n".join(page_flag_lines(ctx.target, flags)), [{"flags": flags}])
        if opts["nodes"] and not rest:
            from ..errors import MemoryError_, XcrashError
            from ..targets.linux.memnodes import mem_sections, memory_blocks, memory_nodes
            try:
                nodes, sections = memory_nodes(ctx.target), mem_sections(ctx.target)
                blocks = memory_blocks(ctx.target)
            except (MemoryError_, XcrashError) as e:
                raise CommandError(f"kmem: {e}") from None
            size = ctx.target.type("struct page").byte_size
            return Text("\n".join(memory_node_lines(nodes, sections, blocks, size)),
                        [{"nodes": [vars(n) | {"zones": [vars(z) for z in n.zones]} for n in nodes],
                          "sections": [vars(x) for x in sections],
                          "blocks": [vars(b) for b in blocks]}])
        if opts["huge"] and not rest:
            from ..errors import XcrashError
            from ..targets.linux.meminfo import hstates
            try:
                found = hstates(ctx.target)
            except XcrashError as e:
                raise CommandError(f"kmem: {e}") from None
            lines = ["     HSTATE        SIZE    FREE   TOTAL  NAME"] + [
                f"{h.address:x}  {_huge_size(h.size):>5}  {h.free:6d}  {h.total:6d}  {h.name}"
                for h in found]
            return Text("\n".join(lines), [vars(h) for h in found])
        if not any(opts.values()) and len(rest) == 1:
            return self._identify(ctx, rest[0])
        if (opts["free"] or opts["free_pages"]) and not (opts["info"] or opts["slabs"]
                                                          or opts["slab_detail"]):
            from ..errors import MemoryError_, XcrashError
            from ..targets.linux.freepages import zones
            try:
                found = zones(ctx.target, with_pages=opts["free_pages"])
            except (MemoryError_, XcrashError) as e:
                raise CommandError(f"kmem: {e}") from None
            return Text("\n".join(free_area_lines(found, opts["free_pages"])),
                        [dict(vars(z), lists=[vars(f) for f in z.lists]) for z in found])
        if opts["pages"] and not (opts["info"] or opts["slabs"] or opts["slab_detail"]):
            return self._page_listing(ctx, rest)
        if opts["vmalloc"] and not (opts["info"] or opts["slabs"] or opts["slab_detail"]):
            return self._vmalloc(ctx, rest)
        if opts["slab_detail"] and not opts["info"]:
            return self._slab_detail(ctx, rest)
        if opts["slabs"] and not opts["info"]:
            return self._slabs(ctx, rest)
        if not opts["info"] or rest:
            raise CommandError("kmem: give -i, -v, -p, -s, -S or an address; "
                               "other kmem options are not implemented yet")
        m = meminfo(ctx.target)
        mem = (m.total, "TOTAL MEM")
        used = m.total - m.free
        lines = [HEADER,
                 _line("TOTAL MEM", m.total), _line("FREE", m.free, mem), _line("USED", used, mem),
                 _line("SHARED", m.shared, mem), _line("BUFFERS", m.buffers, mem),
                 _line("CACHED", m.cached, mem), _line("SLAB", m.slab, mem), "",
                 _line("TOTAL HUGE", m.huge_total),
                 _line("HUGE FREE", m.huge_free, (m.huge_total, "TOTAL HUGE")), "",
                 _line("TOTAL SWAP", m.swap_total),
                 _line("SWAP USED", m.swap_total - m.swap_free, (m.swap_total, "TOTAL SWAP")),
                 _line("SWAP FREE", m.swap_free, (m.swap_total, "TOTAL SWAP")), "",
                 _line("COMMIT LIMIT", m.commit_limit),
                 _line("COMMITTED", m.committed, (m.commit_limit, "TOTAL LIMIT"))]
        return Text("\n".join(lines), [vars(m)])


    def _slabs(self, ctx: Context, rest: list[str]) -> Result:
        from ..targets.linux.slab import SlabError, slab_caches, slab_containing
        target = ctx.target
        try:
            caches = slab_caches(target)
            if len(rest) == 1 and looks_hex(rest[0]) and rest[0] not in {c.name for c in caches}:
                address = parse_address(target, rest[0])
                sp = slab_containing(target, address)
                if sp is None:
                    raise CommandError(f"kmem: address is not allocated in slab subsystem: {address:x}")
                record = dict(cache_record(sp.cache), slab=sp.slab, memory=sp.memory,
                              object=sp.object_containing(address),
                              object_free=sp.object_containing(address) in sp.free)
                return Text("\n".join([CACHE_HEADER, cache_line(sp.cache), *slab_lines(sp, address)]),
                            [record])
        except SlabError as e:
            raise CommandError(f"kmem: {e}") from None
        if rest:
            by_name = {c.name: c for c in caches}
            missing = [n for n in rest if n not in by_name]
            if missing:
                raise CommandError(f"kmem: no slab cache named {', '.join(missing)} "
                                   "(`kmem -s` lists them)")
            caches = [by_name[n] for n in rest]
        lines = [CACHE_HEADER]
        for c in caches:
            lines.append(cache_line(c))
            for problem in c.problems:
                lines.append(f"kmem: {c.name}: {problem}")
        return Text("\n".join(lines), [cache_record(c) for c in caches])

    def _page_listing(self, ctx: Context, rest: list[str]) -> Result:
        from ..targets.linux import pages
        target = ctx.target
        if rest:
            infos = []
            for arg in rest:
                phys = parse_address(target, arg)
                infos.append(pages.page_info(target, pages.pfn_to_page(target, phys >> 12)))
        else:
            # every struct page of the memory sections (128 MiB each), as crash lists
            # them: past max_pfn to the end of the last section; absent ones skipped
            per_section = 1 << (27 - 12)
            infos = pages.page_infos(target, -(-pages.max_pfn(target) // per_section) * per_section)
        lines = [PAGE_HEADER] + [page_line(target, i) for i in infos]
        return Text("\n".join(lines), [vars(i) for i in infos])

    def _identify(self, ctx: Context, arg: str) -> Result:
        """crash's `kmem ADDRESS`: every view of the address there is, in crash's order."""
        from ..errors import MemoryError_, XcrashError
        from ..targets.linux import pages
        from ..targets.linux.context import context_block
        from ..targets.linux.slab import SlabError, slab_containing
        from .sym import _with_source
        target = ctx.target
        address = parse_address(target, arg)
        blocks: list[str] = []
        image_start = target.symbols.get("_stext")
        image_end = target.symbols.get("_end")
        if image_start is not None and image_end is not None and \
                image_start.address <= address <= image_end.address:
            hit = target.symbols.resolve(address)
            if hit is not None:
                blocks.append(_with_source(target, hit[0], hit[1], address))
        page = None
        owner = _task_holding(target, address)
        vmalloc = _vmalloc_area(target, address)
        if vmalloc is not None:
            if owner is not None and owner[1] == "stack":
                blocks.append(context_block(target, owner[0]))
            blocks.append("\n".join([VMALLOC_HEADER, vmalloc_line(vmalloc)]))
            paddr = target.translate(address).paddr
            if paddr is not None:
                page = pages.pfn_to_page(target, paddr >> 12)
        else:
            try:
                sp = slab_containing(target, address)
            except (SlabError, MemoryError_):
                sp = None
            if sp is not None:
                blocks.append("\n".join([CACHE_HEADER, cache_line(sp.cache), *slab_lines(sp, address)]))
            if pages.is_page_struct(target, address):
                page = address
                try:
                    detail = _slab_of_page(target, address)
                except (SlabError, MemoryError_):
                    detail = None
                if detail is not None:
                    blocks.append("\n".join([CACHE_HEADER, cache_line(detail.cache),
                                             *slab_lines(detail)]))
            free_page = page
            if free_page is None:
                paddr = target.translate(address).paddr
                if paddr is not None:
                    free_page = pages.pfn_to_page(target, paddr >> 12)
            if free_page is not None:
                block = _free_block(target, free_page)
                if block is not None:
                    blocks.append("\n".join(free_block_lines(block, address)))
            if owner is not None:
                blocks.append(context_block(target, owner[0]))
            if page is None:
                paddr = target.translate(address).paddr
                if paddr is not None:
                    page = pages.pfn_to_page(target, paddr >> 12)
        if page is not None:
            try:
                blocks.append("\n".join([PAGE_HEADER, page_line(target, pages.page_info(target, page))]))
            except (MemoryError_, XcrashError):
                page = None
        if page is None:
            blocks.append(f"{address:x}: kernel virtual address not found in mem map")
        return Text("\n\n".join(blocks), [{"address": address, "page": page,
                                          "task": owner[0] if owner else None}])

    def _vmalloc(self, ctx: Context, rest: list[str]) -> Result:
        from ..errors import MemoryError_, XcrashError
        from ..targets.linux.vmalloc import vmap_areas
        if rest:
            raise CommandError(f"kmem: -v takes no argument ({rest[0]})")
        try:
            areas = vmap_areas(ctx.target)
        except (MemoryError_, XcrashError) as e:
            raise CommandError(f"kmem: {e}") from None
        lines = [VMALLOC_HEADER] + [f"{a.address:16x}  {a.vm_struct:16x}  {a.start:16x} - "
                                    f"{a.end:<16x}  {a.size:7d}" for a in areas]
        return Text("\n".join(lines), [dict(vars(a), size=a.size) for a in areas])

    def _slab_detail(self, ctx: Context, rest: list[str]) -> Result:
        from ..targets.linux.slab import SlabError, cache_slabs
        try:
            if rest:
                found = []
                for name in rest:
                    ctx.check()
                    hit = cache_slabs(ctx.target, name)
                    if not hit:
                        raise CommandError(f"kmem: no slab cache named {name} (`kmem -s` lists them)")
                    found += hit
            else:
                found = cache_slabs(ctx.target)
        except SlabError as e:
            raise CommandError(f"kmem: {e}") from None
        lines: list[str] = []
        for cs in found:
            lines += [CACHE_HEADER, cache_line(cs.cache), *cache_detail_lines(cs),
                      *(f"kmem: {cs.cache.name}: {p}" for p in cs.cache.problems + cs.problems), ""]
        return Text("\n".join(lines), [cache_record(cs.cache) for cs in found])


COMMANDS = [Kmem]
