"""kmem: memory usage, slab caches, free lists, nodes, pages, vmalloc areas, huge pages
and what an address is, as crash shows them.

The records come from ``targets/linux`` (meminfo, slab, freepages, memnodes, pages,
vmalloc, whereis); crash's layouts of them are in ``layouts/kmem.py``.  This module
reads the options and picks the records.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar, cast
from collections.abc import Iterable, Iterator

from ..errors import CommandError
from ..layouts import separated
from ..layouts.kmem import (address_lines, cache_detail_lines, cache_lines, free_area_lines,
                            free_block_lines, hstate_lines, memory_map_lines, page_flag_lines, page_lines,
                            slab_object_lines, usage_lines, vmalloc_lines)
from ..layouts.kmemstats import (cpu_offset_lines, page_member_lines, vm_stat_lines,
                                 zone_stat_lines)
from ..results import Column, Layout, Records, Teaching
from ..targets.cpuspec import parse_cpuspec
from ..targets.linux import (freepages, meminfo, memnodes, pagemembers, pages, slab, slablists,
                             slabobjects, teach, vmalloc, vmstat, whereis)
from .args import looks_hex, parse_address, parse_number
from .base import Command, Context, Option

if TYPE_CHECKING:
    from ..targets.linux.kernel import LinuxTarget

T = TypeVar("T")

#: the options of which crash takes one ("only one flag allowed!"); -n and -z go with
#: any (shown after it), -P qualifies an address
ONE_OF = ("info", "slabs", "slab_detail", "root_caches", "pages", "free", "free_pages",
          "vmalloc", "page_flags", "huge", "vm_stat", "cpu_offsets", "page_hash", "lru")
#: the options crash shows after -n and -z (the others before them)
AFTER_ZONES = ("lru", "vm_stat", "cpu_offsets", "page_flags")
#: -l/-L: the 2.4 kernels' LRU list each value names
LRU_LISTS = {"a": "active_list", "i": "inactive_list", "ic": "inactive_clean_list",
             "id": "inactive_dirty_list"}
#: of these pairs crash keeps the last typed; xcrash the second (-S over -s, ...)
SAME_FLAG = {"info_shared": "info", "members": "pages", "page_hash_pages": "page_hash",
             "lru_pages": "lru"}
#: the options that take no address argument
NO_ADDRESS = ("info", "free_pages", "huge", "vm_stat", "cpu_offsets", "root_caches", "zones",
              "nodes", "lru_pages", "page_hash_pages")

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
one option at a time, but -n and -z, which may come with another (shown after it).

With an address and no option, kmem tells everything there is to say about it,
in crash's order: the kernel symbol, the vmalloc area, the slab and object, the
slab of a struct page, the free buddy block holding the page, the task whose
task_struct or stack holds it, and its struct page.

`kmem -i` leaves SHARED out, as crash 9.0.2 does (it reads every struct page):
`kmem -i=shared` shows it.  `kmem -V` shows the kernel's vm_stat tables and the
event counters summed over the CPUs, `kmem -z` each zone's, `kmem -o` the per-CPU
offsets; `-m` names struct page members as crash does (`lru`, `lru.next`); `-S=CPUS`
limits -S to those CPUs; `-I` names caches to leave uncounted.  A physical address
(given with -P, or one below the kernel's addresses) is looked at through the direct
map.

Where xcrash and crash differ: `kmem -s` takes several cache names, shown in the
order asked, and an unknown name is an error (crash takes one and prints nothing); a
view that cannot be read is left out with a WARNING; a struct page that is not in the
dump shows ? where crash shows zeros; an option error is one line (crash adds its
usage).  Only SLUB kernels are read.  -c and -C (the page_hash_table of kernels before
2.6) are refused as crash refuses them; -r (root caches, kernels before 5.9) is
refused;
crash's undocumented -l/-L (the LRU lists of 2.4 kernels) say, as crash, that the list
does not exist; a physical
address is not looked for in the vmalloc areas (crash's GET_PHYS_TO_VMALLOC).
"""
    example = ("kmem -i\nkmem -i=shared\nkmem -V\nkmem -z\nkmem -o\n"
               "kmem -m flags,_refcount 1000\nkmem -S=1 pid\nkmem -s -I dentry\n"
               "kmem -s dentry task_struct\nkmem -s ffff975a80221490\nkmem -S pid\n"
               "kmem -f\nkmem -v\nkmem ffff975a80221490\nkmem -p 1000\nkmem -g 10200")
    options = (Option("-i", "info", "memory usage: total, free, used, buffers, cached and slab "
                      "pages, huge pages, swap, commit limit"),
               Option("-i=shared", "info_shared", "-i with the SHARED line (every struct page "
                      "counted: slow on a large memory)"),
               Option("-s", "slabs", "slab caches (with names, those caches; with an address, "
                      "the slab and object holding it; `list`: the caches' addresses and "
                      "names)"),
               Option("-S", "slab_detail", "slab caches with every slab: per CPU its active "
                      "and partial slabs and their objects, per node its counters and lists"),
               Option("-S=", "slab_cpus", "-S for those CPUs only (1,3,5-7 or a/all)",
                      takes_value=True, metavar="cpu[s]"),
               Option("-r", "root_caches", "each root cache with its children's counts "
                      "(kernels before 5.9 with slab_root_caches)"),
               Option("-I", "ignore", "with -s/-S/-r: the caches of this comma-separated "
                      "list are named, not counted", takes_value=True, metavar="slab[,slab]"),
               Option("-p", "pages", "the struct page of every page frame (with addresses, "
                      "of those): mapping, index, count, flags and their names"),
               Option("-m", "members", "-p with these struct page members instead "
                      "(`lru`, `lru.next`, ...)", takes_value=True, metavar="member[,member]"),
               Option("-P", "physical", "the address arguments are physical addresses"),
               Option("-f", "free", "each zone and its free lists by order and migrate type"),
               Option("-F", "free_pages", "the free lists with the first struct page of "
                      "every free block"),
               Option("-v", "vmalloc", "the vmalloc areas: vmap_area, vm_struct, range, size"),
               Option("-V", "vm_stat", "the vm_zone_stat, vm_node_stat (vm_numa_stat) "
                      "counters, and the vm_event_states counters summed over the CPUs"),
               Option("-z", "zones", "each zone: size, present pages, watermarks, vm_stat"),
               Option("-o", "cpu_offsets", "each CPU's __per_cpu_offset[] value"),
               Option("-g", "page_flags", "the page flag bits of enum pageflags (with a hex "
                      "flags value, those set in it)"),
               Option("-h", "huge", "each huge page size (struct hstate): size, free, total"),
               Option("-n", "nodes", "memory nodes, their zones, the present memory sections "
                      "(mem_map decoded, state) and the memory hotplug blocks"),
               Option("-l", "lru", "the LRU list of 2.4 kernels: a (active), i (inactive), ic, id "
                      "(refused: crash's word that it does not exist)", takes_value=True,
                      metavar="a|i|ic|id"),
               Option("-L", "lru_pages", "-l with every page (refused likewise)",
                      takes_value=True, metavar="a|i|ic|id"),
               Option("-c", "page_hash", "the page_hash_table (kernels before 2.6: refused)"),
               Option("-C", "page_hash_pages", "-c with every page (refused likewise)"))

    def run(self, ctx: Context, args: list[str]) -> Records | list[Records]:
        opts, rest = self.parse(_spelled(args))
        target = cast("LinuxTarget", ctx.target)
        if opts["slab_cpus"] is not None:
            opts["slab_detail"] = True
        for alias, dest in SAME_FLAG.items():
            opts[dest] = opts[dest] or opts[alias] not in (None, False)
        if opts["slab_detail"] or opts["root_caches"]:
            opts["slabs"] = opts["slabs"] and not opts["slab_detail"] and not opts["root_caches"]
        if opts["free_pages"]:
            opts["free"] = False
        chosen = [dest for dest in ONE_OF if opts[dest]]
        if len(chosen) > 1:
            raise CommandError("kmem: only one flag allowed!")
        if opts["ignore"] is not None and not set(chosen) & {"slabs", "slab_detail",
                                                              "root_caches"}:
            raise CommandError("kmem: -I goes with -s, -S or -r")
        addresses = [a for a in rest if looks_hex(a)]
        if addresses and any(opts[d] for d in NO_ADDRESS):
            raise CommandError("kmem: no address arguments allowed with this option")
        if rest != addresses and not set(chosen) & {"slabs", "slab_detail", "root_caches"}:
            raise CommandError(f"kmem: {_not_address(rest, addresses)}: a cache name goes "
                               "with -s, -S or -r; an address is hexadecimal")
        parts: list[Records] = []
        if chosen and chosen[0] not in AFTER_ZONES:
            parts.append(self._one(ctx, target, chosen[0], rest, opts))
        elif rest and not chosen:
            parts.append(self._where(target, rest, opts["physical"]))
        if opts["nodes"]:
            parts.append(Records([memnodes.memory_map(target)], memory_map_lines))
        if opts["zones"]:
            parts.append(Records(vmstat.zone_stats(target), zone_stat_lines))
        if chosen and chosen[0] in AFTER_ZONES:
            parts.append(self._one(ctx, target, chosen[0], rest, opts))
        if not parts:
            raise CommandError("kmem: give an option or an address (`help kmem`)")
        return parts[0] if len(parts) == 1 else parts

    def teach(self, ctx: Context, args: list[str]) -> Teaching | None:
        opts, rest = self.parse(_spelled(args))
        chosen = [dest for dest in ONE_OF + ("info_shared", "zones") if opts[dest]]
        if chosen != ["info"] or rest or opts["nodes"]:
            return None
        teaching = teach.meminfo_teaching(cast("LinuxTarget", ctx.target))
        teaching.imports.append("from xcrash.layouts.kmem import usage_lines")
        teaching.body += ["for line in usage_lines(records):  # crash's table of the counts",
                          "    print(line)"]
        return teaching

    def _where(self, target: LinuxTarget, rest: list[str], physical: bool) -> Records:
        """kmem ADDRESS: every view of each address; a physical one (-P, or not a kernel
        address) through the direct map, as crash."""
        reports = []
        for a in rest:
            address = parse_address(target, a)
            if physical or address < 1 << 63:
                reports.append(whereis.physical_whereis(target, address))
            else:
                reports.append(whereis.whereis(target, address))
        return Records(reports, partial(_each, address_lines))

    def _one(self, ctx: Context, target: LinuxTarget, option: str,
             rest: list[str], opts: dict[str, Any]) -> Records:
        if option == "lru":
            which = opts["lru_pages"] or opts["lru"]
            if which not in LRU_LISTS:
                raise CommandError(f"kmem: -l and -L take a, i, ic or id, not {which}")
            raise CommandError(f"kmem: {LRU_LISTS[which]} does not exist in this kernel"
                               if target.symbols.get(LRU_LISTS[which]) is None else
                               f"kmem: {LRU_LISTS[which]}: the LRU lists of 2.4 kernels are "
                               "not read")
        if option == "page_hash":
            flag = "-C" if opts["page_hash_pages"] else "-c"
            raise CommandError(f"kmem: {flag} option not supported or applicable on this "
                               "architecture or kernel")
        if option == "root_caches":
            if target.symbols.get("slab_root_caches") is None:
                raise CommandError("kmem: -r option not supported or applicable on this "
                                   "architecture or kernel")
            raise CommandError("kmem: -r: a root cache's children (slab_root_caches, kernels "
                               "before 5.9) are not read; `kmem -s` counts each cache")
        if option == "info":
            return Records([meminfo.meminfo(target, shared=opts["info_shared"])], usage_lines)
        if option == "free" and rest:
            return Records([FreeBlockAt(a, freepages.free_block_of(target, pagemembers.page_of(
                target, a, opts["physical"]))) for a in (parse_address(target, r) for r in rest)],
                free_block_at_lines)
        if option in ("free", "free_pages"):
            with_pages = option == "free_pages"
            return Records(freepages.zones(target, with_pages=with_pages),
                           partial(free_area_lines, with_pages=with_pages))
        if option == "huge":
            return Records(meminfo.hstates(target), hstate_lines)
        if option == "vm_stat":
            return Records(vmstat.vm_stat_tables(target), vm_stat_lines)
        if option == "cpu_offsets":
            return Records(vmstat.cpu_offsets(target), cpu_offset_lines)
        if option == "page_flags":
            values: list[int | None] = [parse_number(a, 16) for a in rest] or [None]
            return Records([pages.page_flag_table(target, v) for v in values],
                           partial(_each, page_flag_lines))
        if option == "pages":
            return self._pages(ctx, target, rest, opts)
        if option == "vmalloc":
            if rest:
                raise CommandError(f"kmem: -v takes no argument ({rest[0]})")
            return Records(vmalloc.vmap_areas(target), vmalloc_lines, columns=VMALLOC_COLUMNS)
        ignore = set((opts["ignore"] or "").replace(",", " ").split())
        if rest == ["list"]:
            return Records([slab.IgnoredCache(raw.address, raw.name)
                            for raw in slab.raw_caches(target, None)], cache_list_lines)
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
            cpus = None if opts["slab_cpus"] is None else _cpus(target, opts["slab_cpus"])
            return Records(_checked(ctx, slablists.cache_slabs(target, names, cpus, ignore)),
                           cache_detail_lines)
        return Records(_said(_checked(ctx, slab.counted_caches(target, names, ignore))),
                       cache_lines, columns=CACHE_COLUMNS)

    def _pages(self, ctx: Context, target: LinuxTarget, rest: list[str],
               opts: dict[str, Any]) -> Records:
        """-p and -m: the struct pages of the addresses given, or of every page frame."""
        physical = opts["physical"]
        if opts["members"] is not None:
            radix = int(ctx.settings.get("radix", 10))
            specs = pagemembers.member_specs(target, opts["members"], radix)
            pagemembers.check_supported(specs)
            lines = partial(page_member_lines, specs=specs)
            if rest:
                return Records([pagemembers.page_members(target, pagemembers.page_of(
                    target, parse_address(target, a), physical), specs) for a in rest], lines)
            return Records(_checked(ctx, pagemembers.every_page_members(
                target, memnodes.section_pfn_ranges(target), specs)), lines)
        if rest:
            return Records([pages.page_info(target, pagemembers.page_of(
                target, parse_address(target, a), physical)) for a in rest], page_lines,
                columns=PAGE_COLUMNS)
        # every page frame: streamed as text (a rich table would hold them all)
        return Records(_checked(ctx, pages.page_infos(target,
                                                      memnodes.section_pfn_ranges(target))),
                       page_lines)


def _spelled(args: list[str]) -> list[str]:
    """crash's attached spellings: -i=ANYTHING (-i, SHARED only for -i=shared) and
    -S=CPUS (the -S= option and its value)."""
    out: list[str] = []
    for a in args:
        if a.startswith("-i=") and a != "-i=shared":
            out.append("-i")
        elif a.startswith("-S=") and a != "-S=":
            out += ["-S=", a[3:]]
        else:
            out.append(a)
    return out


def _cpus(target: LinuxTarget, spec: str) -> list[int]:
    """-S=CPUS as crash's make_cpumask reads it (its errors word for word)."""
    parts = []
    for part in filter(None, spec.split(",")):        # strtok's reading: empty pieces skipped
        numbers = [n for n in part.split("-") if n][:2]
        for number in numbers if part not in ("a", "all") else []:
            bad = next((ch for ch in number if not ch.isdigit()), None)
            if bad is not None:
                raise CommandError(f'kmem: {number}: "{bad}" is not a digit 0 - 9')
        parts.append(part if part in ("a", "all") else "-".join(numbers))
    if not parts:
        return []
    try:
        return parse_cpuspec(target, ",".join(parts), None)
    except CommandError:
        raise CommandError(f"kmem: invalid cpu specification: {spec}") from None


def _not_address(rest: list[str], addresses: list[str]) -> str:
    return next(a for a in rest if a not in addresses)


@dataclass
class FreeBlockAt:
    """kmem -f ADDRESS: the free buddy block holding the address's page (None: none)."""
    address: int
    block: freepages.FreeBlock | None


def free_block_at_lines(records: Iterable[FreeBlockAt]) -> Iterator[str]:
    """Each address's free block (nothing for a page not free), a blank line between
    the addresses, as crash."""
    for i, r in enumerate(records):
        if i:
            yield ""
        if r.block is not None:
            yield from free_block_lines(r.block, r.address)


def cache_list_lines(records: Iterable[slab.IgnoredCache]) -> Iterator[str]:
    """`kmem -s list`: each cache's address and name."""
    yield from (f"{c.cache:x} {c.name}" for c in records)


def _said(caches: Iterable[T]) -> Iterator[T]:
    """The caches of `kmem -s`, each part that could not be read said in a WARNING
    (the counts leave it out)."""
    for c in caches:
        if isinstance(c, slab.SlabCache):
            slab.say_problems(c)
        yield c


COMMANDS = [Kmem]
