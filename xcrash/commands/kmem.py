"""kmem: memory usage (-i), free areas (-f/-F), nodes (-n), pages (-p/-g), vmalloc (-v),
hugepages (-h), slab caches (-s/-S) and what an address is (kmem ADDRESS), as crash shows
them; the layouts are in kmem_text."""
from __future__ import annotations

from typing import Any

from ..errors import CommandError
from .args import looks_hex, parse_address, parse_number
from .base import Command, Context, Option, Result, Text
from .kmem_text import (HEADER, CACHE_HEADER, PAGE_HEADER, VMALLOC_HEADER, usage_line,
                        free_area_lines, free_block_lines, memory_node_lines, page_flag_lines,
                        huge_size, page_line, vmalloc_line, cache_line, cache_record, slab_lines,
                        cache_detail_lines)


def _free_block(target: Any, page: int) -> Any:
    from ..errors import MemoryError_, XcrashError
    from ..targets.linux.freepages import free_block_of
    try:
        return free_block_of(target, page)
    except (MemoryError_, XcrashError):
        return None


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
                f"{h.address:x}  {huge_size(h.size):>5}  {h.free:6d}  {h.total:6d}  {h.name}"
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
                 usage_line("TOTAL MEM", m.total), usage_line("FREE", m.free, mem), usage_line("USED", used, mem),
                 usage_line("SHARED", m.shared, mem), usage_line("BUFFERS", m.buffers, mem),
                 usage_line("CACHED", m.cached, mem), usage_line("SLAB", m.slab, mem), "",
                 usage_line("TOTAL HUGE", m.huge_total),
                 usage_line("HUGE FREE", m.huge_free, (m.huge_total, "TOTAL HUGE")), "",
                 usage_line("TOTAL SWAP", m.swap_total),
                 usage_line("SWAP USED", m.swap_total - m.swap_free, (m.swap_total, "TOTAL SWAP")),
                 usage_line("SWAP FREE", m.swap_free, (m.swap_total, "TOTAL SWAP")), "",
                 usage_line("COMMIT LIMIT", m.commit_limit),
                 usage_line("COMMITTED", m.committed, (m.commit_limit, "TOTAL LIMIT"))]
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
        from ..targets.linux.slab import SlabError, slab_containing, slab_of_page
        from ..targets.linux.tasks import task_holding
        from ..targets.linux.vmalloc import vmap_area_of
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
        owner = task_holding(target, address)
        vmalloc = vmap_area_of(target, address)
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
                    detail = slab_of_page(target, address)
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
