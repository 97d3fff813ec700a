"""kmem: the memory usage summary (-i) and the slab caches (-s), in crash's layout."""
from __future__ import annotations

from typing import Any

from ..errors import CommandError
from .args import looks_hex, parse_address
from .base import Command, Context, Option, Result, Text

HEADER = "                 PAGES        TOTAL      PERCENTAGE"
CACHE_HEADER = "CACHE             OBJSIZE  ALLOCATED     TOTAL  SLABS  SSIZE  NAME"
SLAB_HEADER = "  SLAB              MEMORY            NODE  TOTAL  ALLOCATED  FREE"
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
    synopsis = "kmem -i | -v | -s|-S [cache-name ... | address]"
    summary = "kernel memory usage and slab caches"
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
each CPU's partial slabs and each node's partial list — crash's arithmetic.
`kmem -s NAME ...` shows only those caches (crash takes one; an unknown name
is an error here, where crash prints nothing).  `kmem -s ADDRESS` finds the
slab holding the address: its cache, the slab (struct slab, MEMORY is its
first byte), and the object containing the address, `[allocated]` or free
(with the CPU whose freelist holds it).
`kmem -S [NAME ...]`: the same listing with every slab of each cache: per CPU
its kmem_cache_cpu, active slab (every object, free or [allocated]) and
partial slabs; per node its counters, partial slabs and full slabs (tracked
only when the cache has SLAB_STORE_USER, i.e. slub_debug=U).
`kmem -v`: the vmalloc areas (vmap_area, its vm_struct, address range, size
including the guard page) in address order.  Other kmem options (-f, -p,
-n ...) are not implemented yet.
"""
    example = "kmem -i\nkmem -s\nkmem -s dentry task_struct\nkmem -s ffff975a80221490\nkmem -S pid\nkmem -v"
    options = (Option("-i", "info", "memory usage summary"),
               Option("-s", "slabs", "slab caches; with a name, that cache; with an address, its slab"),
               Option("-S", "slab_detail", "slab caches with every slab and object"),
               Option("-v", "vmalloc", "vmalloc areas"))

    def run(self, ctx: Context, args: list[str]) -> Result:
        from ..targets.linux.meminfo import meminfo
        opts, rest = self.parse(args)
        if opts["vmalloc"] and not (opts["info"] or opts["slabs"] or opts["slab_detail"]):
            return self._vmalloc(ctx, rest)
        if opts["slab_detail"] and not opts["info"]:
            return self._slab_detail(ctx, rest)
        if opts["slabs"] and not opts["info"]:
            return self._slabs(ctx, rest)
        if not opts["info"] or rest:
            raise CommandError("kmem: give -i (memory summary) or -s (slab caches); "
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
