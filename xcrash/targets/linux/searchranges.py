"""The kernel memory crash's search looks through by default, region by region.

crash's x86_64 kernel ranges (x86_64_get_kvaddr_ranges), searched in address order:
the direct map up to ``high_memory``; the vmalloc areas (vmap_area_list, which on
recent kernels also holds the modules); the virtual memory map (the struct pages);
the kernel image mapping from ``__START_KERNEL_map`` to ``_end``, which translates
by arithmetic (phys_base) and so also shows the physical memory below the kernel a
second time; modules outside the vmalloc areas (older kernels).  A page is searched
when it has a struct page (crash's phys_to_page) and the dump holds it.  -K leaves out
the vmalloc areas, the memory map and the modules; -V the direct map and the image.
"""
from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from ...arch import PAGE_SHIFT, PAGE_SIZE, START_KERNEL_MAP
from ...caveats import caveat
from ...errors import MemoryError_, XcrashError
from ...memory.x86_64 import mapped_pages
from ..search import MappedRun, PhysicalRun, Region, page_chunks, physical_pages
from .memnodes import memory_nodes, section_pfn_ranges
from .pages import page_size_of_struct, vmemmap_base

if TYPE_CHECKING:
    from .kernel import LinuxTarget

#: kinds of region (crash's KVADDR_UNITY_MAP, _VMALLOC, _VMEMMAP, _START_MAP, _MODULES)
UNITY, VMALLOC, VMEMMAP, START_MAP, MODULES = ("direct map", "vmalloc", "vmemmap",
                                               "kernel image", "modules")
#: what -K and -V leave out
NOT_K = (VMALLOC, VMEMMAP, MODULES)
NOT_V = (UNITY, START_MAP)


def valid_frames(target: LinuxTarget) -> Callable[[int], bool]:
    """Whether a physical page has a struct page (crash's phys_to_page)."""
    ranges = sorted(section_pfn_ranges(target))
    starts = [r[0] for r in ranges]

    def valid(paddr: int) -> bool:
        pfn = paddr >> PAGE_SHIFT
        i = bisect.bisect_right(starts, pfn) - 1
        return i >= 0 and pfn < ranges[i][1]
    return valid


def _high_memory(target: LinuxTarget) -> int:
    sym = target.symbols.get("high_memory")
    if sym is None:
        return target.space.direct_map_end
    return target.space.read_u64(sym.address)


def _vmalloc_start(target: LinuxTarget) -> int:
    info = target.dump.vmcoreinfo if target.dump is not None else None
    number = info.number("VMALLOC_START") if info is not None else None
    if number is not None:
        return number
    sym = target.symbols.get("vmalloc_base")
    return target.space.read_u64(sym.address) if sym is not None else 0xFFFFC90000000000


def kernel_ranges(target: LinuxTarget) -> list[tuple[int, int, str]]:
    """(start, end, kind) of crash's kernel ranges, in address order."""
    from .vmalloc import vmap_areas
    po = target.space.page_offset
    out = [(po, _high_memory(target), UNITY)]
    end = target.symbols.get("_end")
    if end is not None:
        out.append((START_KERNEL_MAP, end.address, START_MAP))
    try:
        areas = list(vmap_areas(target))
    except (MemoryError_, XcrashError) as err:
        caveat(f"search: the vmalloc areas could not be read ({err}): not searched")
        areas = []
    if areas:
        out.append((_vmalloc_start(target), max(a.end for a in areas), VMALLOC))
    modules = list(target.modules)
    if modules:
        low = min(m.base for m in modules)
        if not any(a.start <= low < a.end for a in areas):
            high = max(hi for m in modules for _lo, hi in m.regions or [(m.base, m.base)])
            out.append((low, (high + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1), MODULES))
    nodes = memory_nodes(target)
    if nodes:
        last = nodes[-1]
        out.append((vmemmap_base(target),
                    last.mem_map + last.spanned * page_size_of_struct(target), VMEMMAP))
    out.sort()
    return out


def kernel_regions(target: LinuxTarget, start: int, end: int, leave_out: tuple[str, ...] = (),
                   unreadable: list[MemoryError_] | None = None) -> Iterator[Region]:
    """crash's search regions of kernel virtual memory that meet [start, end)."""
    from .vmalloc import vmap_areas
    valid = valid_frames(target)
    dump_ranges = target.dump.ranges() if target.dump is not None else []
    for lo, hi, kind in kernel_ranges(target):
        if kind in leave_out or start >= hi or end <= lo:
            continue
        lo, hi = max(lo, start), min(hi, end)
        if kind in (UNITY, START_MAP):
            # the direct map; the image: vaddr - __START_KERNEL_map + phys_base (the
            # addresses wrapping below 0 are not memory at all)
            shift = (target.space.page_offset if kind == UNITY else
                     (START_KERNEL_MAP - target.space.phys_base) & (2**64 - 1))
            pages = physical_pages(target.space.phys, dump_ranges, offset=shift, start=lo,
                                   end=hi, valid=valid, unreadable=unreadable)
            yield Region(kind, pages, physical=PhysicalRun(target.phys_space, dump_ranges,
                                                           shift, valid, lo, hi))
            continue
        elif kind == VMALLOC:
            areas = [(a.start, a.end) for a in vmap_areas(target)]
        elif kind == MODULES:
            areas = sorted(r for m in target.modules for r in m.regions)
        else:
            areas = [(lo, hi)]
        mapped = _mapped(target, areas, lo, hi, valid)
        yield Region(kind, _contents(target, mapped),
                     mapped=MappedRun(target.space.phys, mapped))


def _mapped(target: LinuxTarget, areas: list[tuple[int, int]], lo: int, hi: int,
            valid: Callable[[int], bool]) -> list[tuple[int, int, int]]:
    """Runs (virtual address, physical address, pages) of the pages the kernel's page
    tables map in ``areas`` (within [lo, hi)) whose frames have a struct page, in
    address order; a run's pages are contiguous in both."""
    space = target.space
    out: list[tuple[int, int, int]] = []
    for a_lo, a_hi in areas:
        a_lo, a_hi = max(a_lo, lo), min(a_hi, hi)
        if a_lo >= a_hi:
            continue
        for vaddr, paddr, size in mapped_pages(space, a_lo, a_hi):
            for off in range(0, size, PAGE_SIZE):
                va, pa = vaddr + off, paddr + off
                if not (a_lo <= va < a_hi and valid(pa)):
                    continue
                if out:
                    v, p, n = out[-1]
                    if v + n * PAGE_SIZE == va and p + n * PAGE_SIZE == pa:
                        out[-1] = (v, p, n + 1)
                        continue
                out.append((va, pa, 1))
    return out


def _contents(target: LinuxTarget, runs: list[tuple[int, int, int]]
              ) -> Iterator[tuple[int, bytes]]:
    """The pages' contents, those the dump holds."""
    phys = target.space.phys
    for va, pa, n in runs:
        for off in range(0, n * PAGE_SIZE, PAGE_SIZE):
            try:
                yield va + off, phys.read(pa + off, PAGE_SIZE)
            except MemoryError_:
                continue        # not in the dump: nothing there to search


def stack_regions(target: LinuxTarget, tasks: list[int]) -> Iterator[Region]:
    """search -t/-T: each task's kernel stack, its header before its first hit."""
    from .taskinfo import task_ref
    from .tasks import thread_size
    size = thread_size(target)
    ttype = target.type("struct task_struct")
    for addr in tasks:
        task = target.object_at(ttype, addr)
        try:
            base = int(task.stack)
        except MemoryError_ as err:
            caveat(f"search: task {addr:x}: its stack pointer unreadable ({err}): not "
                   "searched")
            continue
        pages = page_chunks(_stack_pages(target, base, size))
        yield Region("stack", pages, task=task_ref(task))


def _stack_pages(target: LinuxTarget, base: int, size: int) -> Iterator[tuple[int, bytes]]:
    for page in range(base, base + size, PAGE_SIZE):
        try:
            yield page, target.space.read(page, PAGE_SIZE)
        except MemoryError_:
            continue                # a stack page the dump lacks: nothing to search
