"""kmem: memory usage, slab caches, free lists, nodes, pages, vmalloc areas, huge pages
and what an address is, as crash shows them.

The records come from ``targets/linux`` (meminfo, slab, freepages, memnodes, pages,
vmalloc, whereis); crash's layouts of them are in ``layouts/kmem.py``.  This module
reads the options and picks the records.
"""
from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar, cast
from collections.abc import Iterable, Iterator

from ..errors import CommandError
from ..layouts import separated
from ..layouts.kmem import (address_lines, cache_detail_lines, cache_lines, free_area_lines,
                            hstate_lines, memory_map_lines, page_flag_lines, page_lines,
                            slab_object_lines, usage_lines, vmalloc_lines)
from ..results import Column, Layout, Records, Teaching
from ..targets.linux import (freepages, meminfo, memnodes, pages, slab, slablists, slabobjects,
                             teach, vmalloc, whereis)
from .args import looks_hex, parse_address, parse_number
from .base import Command, Context, Option

if TYPE_CHECKING:
    from ..targets.linux.kernel import LinuxTarget

T = TypeVar("T")

#: the options of which crash takes one ("only one flag allowed!"); -n goes with any
ONE_OF = ("info", "slabs", "slab_detail", "pages", "free", "free_pages", "vmalloc",
          "page_flags", "huge")

CACHE_COLUMNS = [Column("CACHE", "cache", fmt=lambda v: f"{v:x}"),
                 Column("OBJSIZE", "objsize", "right"), Column("ALLOCATED", "allocated", "right"),
                 Column("TOTAL", "total", "right"), Column("SLABS", "slabs", "right"),
                 Column("SSIZE", "slab_size", "right", fmt=lambda v: f"{v // 1024}k"),
                 Column("NAME", "name")]
VMALLOC_COLUMNS = [Column("VMAP_AREA", "address", fmt=lambda v: f"{v:x}"),
                   Column("VM_STRUCT", "vm_struct", fmt=lambda v: f"{v:x}"),
                   Column("START", "start", fmt=lambda v: f"{v:x}"),
                   Column("END", "end", fmt=lambda v: f"{v:x}"), Column("SIZE", "size", "right")]
PAGE_COLUMNS = [Column("PAGE", "page", fmt=lambda v: f"{v:x}"),
                Column("PHYSICAL", "physical", "right", fmt=lambda v: f"{v:x}"),
                Column("MAPPING", "mapping", "right", fmt=lambda v: f"{v:x}"),
                Column("INDEX", "index", "right", fmt=lambda v: f"{v:x}"),
                Column("CNT", "count", "right"), Column("FLAGS", "flags", fmt=lambda v: f"{v:x}"),
                Column("NAMES", "flag_names", fmt=",".join)]


def _each(layout: Layout, records: Iterable[Any]) -> Iterator[str]:
    """One block per record, a blank line between them (several addresses or flags)."""
    return separated(layout([r]) for r in records)


def _checked(ctx: Context, items: Iterable[T]) -> Iterator[T]:
    """The records of a long listing, stopping when the user presses Ctrl-C."""
    for item in items:
        ctx.check()
        yield item


class Kmem(Command):
    name = "kmem"
    arguments = "[cache-name ... | address ...]"
    summary = "kernel memory: usage, slab caches, free lists, pages, vmalloc, an address"
    group = "linux"
    targets = ("linux",)
    description = """\
Kernel memory as crash's kmem shows it, from the kernel's own structures.

`kmem -i` adds up the kernel's counters (vm_zone_stat, vm_node_stat, the block
device inodes, hstates, vm_committed_as).  `kmem -s` lists every SLUB cache on
slab_caches, newest first: totals from the per-node counters, free objects
counted on each CPU's active slab and lockless freelist (hardened freelist
pointers decoded), each CPU's partial slabs and each node's partial list, which
is crash's arithmetic.  Full slabs are tracked only with SLAB_STORE_USER
(slub_debug=U).  `kmem -f` checks nr_free_pages against what the free lists
hold ("verified").  A vmalloc area's size includes its guard page.  crash takes
one option at a time, but -n, which may come with another (shown after it).

With an address and no option, kmem tells everything there is to say about it,
in crash's order: the kernel symbol, the vmalloc area, the slab and object, the
slab of a struct page, the free buddy block holding the page, the task whose
task_struct or stack holds it, and its struct page.

Differences from crash: `kmem -s` takes several cache names, shown in the order
asked, and an unknown name is an error (crash takes one and prints nothing); a
view that cannot be read is left out with a WARNING; a struct page that is not
in the dump shows ? where crash shows zeros.  Only SLUB kernels are read.  The
other kmem options (-c, -C, -l, -L, -z, -V, -o, -r) are not implemented.
"""
    example = ("kmem -i\nkmem -s dentry task_struct\nkmem -s ffff975a80221490\nkmem -S pid\n"
               "kmem -f\nkmem -v\nkmem ffff975a80221490\nkmem -p 1000\nkmem -g 10200")
    options = (Option("-i", "info", "memory usage: total, free, used, shared, buffers, cached "
                      "and slab pages, huge pages, swap, commit limit"),
               Option("-s", "slabs", "slab caches (with names, those caches; with an address, "
                      "the slab and object holding it)"),
               Option("-S", "slab_detail", "slab caches with every slab: per CPU its active "
                      "and partial slabs and their objects, per node its counters and lists"),
               Option("-p", "pages", "the struct page of every page frame (with physical "
                      "addresses, of those): mapping, index, count, flags and their names"),
               Option("-f", "free", "each zone and its free lists by order and migrate type"),
               Option("-F", "free_pages", "the free lists with the first struct page of "
                      "every free block"),
               Option("-v", "vmalloc", "the vmalloc areas: vmap_area, vm_struct, range, size"),
               Option("-g", "page_flags", "the page flag bits of enum pageflags (with a hex "
                      "flags value, those set in it)"),
               Option("-h", "huge", "each huge page size (struct hstate): size, free, total"),
               Option("-n", "nodes", "memory nodes, their zones, the present memory sections "
                      "(mem_map decoded, state) and the memory hotplug blocks"))
    exclusive = (ONE_OF,)

    def run(self, ctx: Context, args: list[str]) -> Records | list[Records]:
        opts, rest = self.parse(args)
        target = cast("LinuxTarget", ctx.target)
        chosen = [dest for dest in ONE_OF if opts[dest]]
        if opts["nodes"]:
            if rest:
                raise CommandError("kmem: no address arguments allowed with -n")
            listing = Records([memnodes.memory_map(target)], memory_map_lines)
            # crash shows -n after the other option's output
            return [self._one(ctx, target, chosen[0], []), listing] if chosen else listing
        if not chosen:
            if not rest:
                raise CommandError("kmem: give an option or an address (`help kmem`)")
            return Records([whereis.whereis(target, parse_address(target, a)) for a in rest],
                           partial(_each, address_lines))
        return self._one(ctx, target, chosen[0], rest)

    def teach(self, ctx: Context, args: list[str]) -> Teaching | None:
        opts, rest = self.parse(args)
        chosen = [dest for dest in ONE_OF if opts[dest]]
        if chosen != ["info"] or rest or opts["nodes"]:
            return None
        teaching = teach.meminfo_teaching(cast("LinuxTarget", ctx.target))
        teaching.imports.append("from xcrash.layouts.kmem import usage_lines")
        teaching.body += ["for line in usage_lines(records):  # crash's table of the counts",
                          "    print(line)"]
        return teaching

    def _one(self, ctx: Context, target: LinuxTarget, option: str,
             rest: list[str]) -> Records:
        if option in ("info", "free", "free_pages", "huge") and rest:
            raise CommandError(f"kmem: no address arguments allowed with {_flag(self, option)}")
        if option == "info":
            return Records([meminfo.meminfo(target)], usage_lines)
        if option in ("free", "free_pages"):
            with_pages = option == "free_pages"
            return Records(freepages.zones(target, with_pages=with_pages),
                           partial(free_area_lines, with_pages=with_pages))
        if option == "huge":
            return Records(meminfo.hstates(target), hstate_lines)
        if option == "page_flags":
            values: list[int | None] = [parse_number(a, 16) for a in rest] or [None]
            return Records([pages.page_flag_table(target, v) for v in values],
                           partial(_each, page_flag_lines))
        if option == "pages":
            if rest:
                return Records([pages.page_info(target, pages.phys_to_page(
                    target, parse_address(target, a))) for a in rest], page_lines,
                    columns=PAGE_COLUMNS)
            # every page frame: streamed as text (a rich table would hold them all)
            return Records(_checked(ctx, pages.page_infos(target,
                                                          memnodes.section_pfn_ranges(target))),
                           page_lines)
        if option == "vmalloc":
            if rest:
                raise CommandError(f"kmem: -v takes no argument ({rest[0]})")
            return Records(vmalloc.vmap_areas(target), vmalloc_lines, columns=VMALLOC_COLUMNS)
        if option == "slabs" and len(rest) == 1 and looks_hex(rest[0]) and \
                rest[0] not in slab.cache_names(target):
            address = parse_address(target, rest[0])
            hit = slabobjects.slab_containing(target, address)
            if hit is None:
                raise CommandError(f"kmem: address is not allocated in slab subsystem: "
                                   f"{address:x}")
            return Records(_said([hit]), slab_object_lines)
        names = rest or None
        if option == "slab_detail":
            return Records(_checked(ctx, slablists.cache_slabs(target, names)), cache_detail_lines)
        return Records(_said(_checked(ctx, slab.slab_caches(target, names))), cache_lines,
                       columns=CACHE_COLUMNS)


def _said(caches: Iterable[slab.SlabCache]) -> Iterator[slab.SlabCache]:
    """The caches of `kmem -s`, each part that could not be read said in a WARNING
    (the counts leave it out)."""
    for c in caches:
        slab.say_problems(c)
        yield c


def _flag(cmd: Command, dest: str) -> str:
    return next(o.flag for o in cmd.options if o.dest == dest)


COMMANDS = [Kmem]
