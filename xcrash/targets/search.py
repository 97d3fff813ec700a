"""search: where values or strings are in a target's memory, as crash's search finds them.

Memory is given as regions, each a stream of (address, page contents) in address
order (the Linux kernel's regions are ``targets/linux/searchranges.py``'s); the hits
are produced as they are found, each with what crash shows after its address.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from ..arch import PAGE_SIZE
from ..caveats import caveat
from ..errors import MemoryError_, PageExcluded
from ..memory.search import (Pattern, page_source, search_dump, search_mapped,
                             search_stream)
from ..memory.space import AddressSpace, PhysicalReader
from .linux.taskinfo import TaskRef
from .memory import CHARS_CONTEXT, Word, printable, words

#: crash's search modes: the unit searched for and its size
MODES = {"ulong": 8, "uint": 4, "ushort": 2, "chars": 1}


@dataclass(frozen=True)
class Needle:
    """A pattern as typed, the value searched for and how crash names it after a hit:
    ``(symbol)``, ``(expression)``, or nothing for a plain value or with a mask."""
    pattern: str
    value: int | bytes
    mode: str = "ulong"
    mask: int = 0
    label: str = ""

    @property
    def size(self) -> int:
        return MODES[self.mode] if self.mode != "chars" else len(self.data)

    @property
    def data(self) -> bytes:
        if isinstance(self.value, bytes):
            return self.value
        return self.value.to_bytes(MODES[self.mode], "little")

    def compiled(self) -> Pattern:
        if self.mode == "chars":
            return Pattern(self.data, 1)
        unit = MODES[self.mode]
        mask = (self.mask & ((1 << 8 * unit) - 1)).to_bytes(unit, "little") if self.mask \
            else None
        return Pattern(self.data, unit, mask)


@dataclass
class SearchHit:
    """Where a pattern was found: the address (kernel virtual, physical or user
    virtual, as searched), the pattern as typed, what crash shows after the address
    (the value found and its label, or the characters from the match on), and with
    -x the units around it."""
    address: int
    pattern: str
    shown: str = field(default="", metadata={"json": False})
    #: the value found (a string search: None)
    value: int | None = None
    before: list[Word] = field(default_factory=list, metadata={"json": False})
    after: list[Word] = field(default_factory=list, metadata={"json": False})


@dataclass
class SearchNote:
    """A line crash prints among the hits (search: rounding down start address ...)."""
    text: str


@dataclass
class PhysicalRun:
    """A region that is physical memory seen at an offset (the direct map, the kernel
    image mapping, physical memory itself): searched through the dump's own pages on
    every CPU when the dump can hand them out (memory/search.py's search_dump)."""
    space: AddressSpace
    ranges: list[tuple[int, int]]
    offset: int
    valid: Callable[[int], bool]
    #: the region's own bounds, as shown (physical + offset)
    lo: int = 0
    hi: int = 1 << 64


@dataclass
class MappedRun:
    """A region's pages in runs (virtual address, physical address, pages) in virtual
    order, the physical memory they are read from: searched in pieces on every CPU
    (memory/search.py's search_mapped)."""
    phys: PhysicalReader
    runs: list[tuple[int, int, int]]


@dataclass
class Region:
    """A stretch of memory searched: its pages in address order, read lazily; a task's
    stack (search -t) has the task, whose header comes before its first hit."""
    name: str
    pages: Iterable[tuple[int, bytes]]
    task: TaskRef | None = None
    physical: PhysicalRun | None = None
    mapped: MappedRun | None = None


def physical_pages(phys: PhysicalReader, ranges: Iterable[tuple[int, int]], *,
                   offset: int = 0, start: int = 0, end: int = 1 << 64,
                   valid: Callable[[int], bool] = lambda _p: True,
                   unreadable: list[MemoryError_] | None = None
                   ) -> Iterator[tuple[int, bytes]]:
    """The pages of physical ``ranges`` (addresses shown as physical + ``offset``), in
    [start, end) of the addresses shown; pages makedumpfile excluded and those
    ``valid`` refuses (no struct page) are skipped, the others that cannot be read
    are appended to ``unreadable``."""
    for lo, hi in ranges:
        lo, hi = max(lo, start - offset), min(hi, end - offset)
        page = max(lo, 0) & ~(PAGE_SIZE - 1)
        while page < hi:
            if valid(page):
                try:
                    yield page + offset, phys.read(page, PAGE_SIZE)
                except PageExcluded:
                    pass                # filtered out by the dump level: not there
                except MemoryError_ as err:
                    if unreadable is not None:
                        unreadable.append(err)
            page += PAGE_SIZE


def virtual_pages(space: AddressSpace, lo: int, hi: int) -> Iterator[tuple[int, bytes]]:
    """The pages of [lo, hi) that ``space`` maps and the dump holds."""
    page = lo & ~(PAGE_SIZE - 1)
    while page < hi:
        try:
            yield page, space.read(page, PAGE_SIZE)
        except MemoryError_:
            pass                        # not mapped, or not in the dump: nothing to search
        page += PAGE_SIZE


def page_chunks(pages: Iterable[tuple[int, bytes]]) -> Iterator[tuple[int, bytes]]:
    """Large mappings (2 MiB, 1 GiB) cut into pages."""
    for vaddr, data in pages:
        for off in range(0, len(data), PAGE_SIZE):
            yield vaddr + off, data[off:off + PAGE_SIZE]


def search_regions(regions: Iterable[Region], needles: list[Needle], *, start: int = 0,
                   end: int = 1 << 64, limit: int | None = None, context: int = 0,
                   space: AddressSpace | None = None,
                   check: Callable[[], None] = lambda: None,
                   unreadable: list[MemoryError_] | None = None
                   ) -> Iterator[SearchHit | SearchNote | TaskRef]:
    """Every hit of the needles in the regions, in the regions' order and by address
    within one (the needles in their order at one address), as crash's search finds
    them; a region may be a task (its header comes before its first hit).  ``limit``:
    at most so many hits of each needle (a caveat says when it stopped them);
    ``context``: the units before and after each hit (-x), read from ``space``."""
    patterns = [n.compiled() for n in needles]
    counts = [0] * len(needles)
    for region in regions:
        header = region.task
        found: Iterable[tuple[int, int, bytes]]
        fast = region.physical is not None and not any(n.mask for n in needles) and \
            page_source(region.physical.space) is not None
        if fast and region.physical is not None:
            found = _dump_hits(region.physical, needles, start, end, check, unreadable)
        elif region.mapped is not None:
            found = _mapped_hits(region.mapped, region.name, patterns, start, end, check)
        else:
            found = search_stream(region.pages, patterns, start=start, end=end,
                                  context=CHARS_CONTEXT, check=check)
        for address, index, raw in found:
            needle = needles[index]
            if limit is not None and counts[index] >= limit:
                continue
            counts[index] += 1
            if limit is not None and counts[index] == limit:
                which = f" of pattern {index + 1}" if len(needles) > 1 else ""
                caveat(f"search: stopped after {limit} hits{which} (-n)")
            if header is not None:
                yield header
                header = None
            yield hit_of(needle, address, raw, context, space)


def _dump_hits(run: PhysicalRun, needles: list[Needle], start: int, end: int,
               check: Callable[[], None], unreadable: list[MemoryError_] | None
               ) -> Iterator[tuple[int, int, bytes]]:
    """search_stream's (address, needle, bytes from the match) over physical memory, from
    the pages the dump holds, all needles in one pass on every CPU: each piece's hits
    in address order (the needles in their order at one address)."""
    source = page_source(run.space)
    assert source is not None
    phys = run.space

    def interrupted() -> bool:
        check()                     # raises KeyboardInterrupt after Ctrl-C
        return False
    pieces = search_dump(source, run.ranges, [(n.data, n.compiled().align) for n in needles],
                         start=max(max(start, run.lo) - run.offset, 0),
                         end=min(end, run.hi) - run.offset, interrupted=interrupted)
    try:
        for piece in pieces:
            if unreadable is not None:
                unreadable += [MemoryError_(why, addr) for addr, why in piece.errors]
            merged = sorted((paddr, index) for index, hits in enumerate(piece.hits)
                            for paddr in hits)
            for paddr, index in merged:
                if not run.valid(paddr & ~(PAGE_SIZE - 1)):
                    continue
                size = len(needles[index].data)
                room = PAGE_SIZE - (paddr & (PAGE_SIZE - 1))
                try:
                    raw = phys.read(paddr, CHARS_CONTEXT if size > room else min(
                        room, max(CHARS_CONTEXT, size)))
                except MemoryError_:
                    raw = needles[index].data       # the bytes found are the pattern's
                yield paddr + run.offset, index, raw
    finally:
        pieces.close()


def _mapped_hits(run: MappedRun, name: str, patterns: list[Pattern], start: int, end: int,
                 check: Callable[[], None]) -> Iterator[tuple[int, int, bytes]]:
    """search_stream's hits over a mapped region, searched on every CPU."""
    def interrupted() -> bool:
        check()                     # raises KeyboardInterrupt after Ctrl-C
        return False
    pieces = search_mapped(run.phys, run.runs, patterns, start=start, end=end,
                           context=CHARS_CONTEXT, interrupted=interrupted,
                           label=f"searching memory ({name})")
    try:
        for piece in pieces:
            yield from piece
    finally:
        pieces.close()


def hit_of(needle: Needle, address: int, raw: bytes, context: int,
           space: AddressSpace | None) -> SearchHit:
    if needle.mode == "chars":
        return SearchHit(address, needle.pattern, printable(raw[:CHARS_CONTEXT]))
    unit = MODES[needle.mode]
    value = int.from_bytes(raw[:unit], "little")
    hit = SearchHit(address, needle.pattern, f"{value:x} {needle.label}", value)
    if context and space is not None:
        hit.before = _words(space, address - context * unit, context, unit)
        hit.after = _words(space, address + unit, context, unit)
    return hit


def _words(space: AddressSpace, addr: int, count: int, unit: int) -> list[Word]:
    try:
        return list(words(space, addr, count, unit))
    except MemoryError_:
        return []                   # crash's display_memory shows nothing it cannot read


def say_unreadable(unreadable: list[MemoryError_]) -> None:
    if unreadable:
        caveat(f"search: {len(unreadable)} page(s) of memory could not be read and were "
               f"not searched (the first: {unreadable[0]})")
