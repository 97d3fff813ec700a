"""What any target's memory holds, as the memory commands show it: units and
strings (`rd`), the places a pattern is found (`search`), how a virtual address
translates (`vtop`).

Memory is read a page at a time, so that a page missing from the dump ends a
display exactly there, with a caveat saying so.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..arch import PAGE_SIZE
from ..caveats import Unreadable, caveat
from ..errors import MemoryError_
from ..memory.linux import LinuxKernelSpace
from ..memory.search import PageSource, page_source, search_dump, search_pages, search_physical
from ..memory.space import AddressSpace
from ..memory.x86_64 import PageTableSpace

if TYPE_CHECKING:
    from .base import Target

#: characters per line of a string display (crash's rd -a)
CHARS_PER_LINE = 60
#: characters shown from a string match on, as crash shows them
CHARS_CONTEXT = 56


def printable(raw: bytes | bytearray) -> str:
    """Bytes as crash shows them beside memory: printable ASCII, else a dot."""
    return "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in raw)


# -- rd ---------------------------------------------------------------------------------
@dataclass
class Word:
    """One unit of memory: its address and value (unsigned, in the byte order shown)."""
    address: int
    value: int
    #: bytes in the unit (1, 2, 4, 8)
    size: int = field(default=8, metadata={"json": False})
    #: what the value points at (rd -s/-S: symbol+offset, [slab cache]), if anything
    name: str | None = field(default=None, metadata={"json": False})

    @property
    def raw(self) -> bytes:
        return self.value.to_bytes(self.size, "little")


@dataclass
class Chars:
    """A line of a string display: the characters read from ``address`` on."""
    address: int
    value: str


def _read_error(space: AddressSpace, pos: int, err: MemoryError_) -> str:
    return f"read error: {space.name} address {pos:x}: {err}"


def _pages(space: AddressSpace, addr: int, size: int) -> Iterator[bytes]:
    """The bytes of [addr, addr + size), a page at most at a time.  The first page
    that cannot be read raises when nothing was read before it; after data it ends
    the data with a caveat (what was read is shown, the rest is not)."""
    pos, end = addr, addr + size
    while pos < end:
        n = min(end - pos, PAGE_SIZE - (pos & (PAGE_SIZE - 1)))
        try:
            data = space.read(pos, n)
        except MemoryError_ as err:
            if pos == addr:
                raise MemoryError_(_read_error(space, pos, err), pos) from None
            caveat(f"{_read_error(space, pos, err)}: the display stops there")
            return
        yield data
        pos += n


def words(space: AddressSpace, addr: int, count: int, size: int, *, swap: bool = False,
          namer: Callable[[int], str | None] | None = None) -> Iterator[Word]:
    """``count`` units of ``size`` bytes from ``addr``, produced as they are read;
    ``swap``: each unit's bytes reversed (network byte order); ``namer`` names a
    value (-s, -S) or returns None."""
    pending = b""
    start = addr
    for data in _pages(space, addr, count * size):
        data = pending + data
        whole = len(data) - len(data) % size
        for off in range(0, whole, size):
            raw = data[off:off + size]
            value = int.from_bytes(raw[::-1] if swap else raw, "little")
            yield Word(start + off, value, size, namer(value) if namer is not None else None)
        start += whole
        pending = data[whole:]


def string(space: AddressSpace, addr: int, count: int | None) -> Iterator[Chars]:
    """The printable characters from ``addr``, as crash's ``rd -a`` shows them: runs
    of printable bytes in lines of :data:`CHARS_PER_LINE`, each line at the address
    of its first character.  Without ``count`` the string ends at its first
    unprintable byte (its NUL, or a newline); with ``count`` bytes are read and an
    unprintable one ends the line (the next printable byte starts a new one)."""
    line_at, line = addr, ""
    run = 0
    pos = addr
    for chunk in _pages(space, addr, count if count is not None else (1 << 64) - addr):
        for byte in chunk:
            if 0x20 <= byte < 0x7F:
                if run % CHARS_PER_LINE == 0:
                    if line:
                        yield Chars(line_at, line)
                    line_at, line = pos, ""
                line += chr(byte)
                run += 1
            elif count is None:
                if line:
                    yield Chars(line_at, line)
                return
            else:
                run = 0
            pos += 1
    if line:
        yield Chars(line_at, line)


# -- search ---------------------------------------------------------------------------
@dataclass
class SearchHit:
    """Where a pattern was found: the address as asked for (kernel virtual, physical
    or user virtual), the physical address (None for user memory), the pattern."""
    address: int
    physical: int | None
    pattern: str
    #: what crash shows after the address: the pattern, or for a string the
    #: characters from the match on
    shown: str = field(default="", metadata={"json": False})


@dataclass(frozen=True)
class Needle:
    """A pattern as typed and the bytes searched for, at this alignment."""
    pattern: str
    data: bytes
    align: int
    #: a string: the characters around each hit are shown
    chars: bool = False


def direct_map_base(target: Target) -> int | None:
    """Where the kernel's direct map starts (None: the target has no direct map)."""
    return target.space.page_offset if isinstance(target.space, LinuxKernelSpace) else None


def _limited(hits: Iterator[SearchHit], limit: int, which: str) -> Iterator[SearchHit]:
    """The first ``limit`` hits; more are announced (not named: a string pattern in
    the warning would count as one more hit to a reader of the text)."""
    count = 0
    for hit in hits:
        yield hit
        count += 1
        if count >= limit:
            caveat(f"search: stopped after {limit} hits{which} (-l)")
            return


def _which(index: int, count: int) -> str:
    return f" of pattern {index + 1}" if count > 1 else ""


def search_memory(target: Target, ranges: list[tuple[int, int]], needles: Iterable[Needle], *,
                  virtual: bool, start: int = 0, end: int = 1 << 64, limit: int,
                  interrupted: Callable[[], bool] = lambda: False) -> Iterator[SearchHit]:
    """Each needle's hits in the physical ``ranges`` of the target's memory (in
    [start, end), physical addresses), produced as they are found; ``virtual``:
    shown as direct-map addresses.  Pages the dump does not hold although they lie
    in the ranges are named in a caveat."""
    phys = target.phys_space
    base = direct_map_base(target) if virtual else None
    needles = list(needles)
    source = page_source(phys)
    if source is not None:
        yield from _search_dump(phys, source, ranges, needles, base, start=start, end=end,
                                limit=limit, interrupted=interrupted)
        return
    for index, needle in enumerate(needles):
        unreadable: list[MemoryError_] = []

        def hits(needle: Needle = needle,
                 unreadable: list[MemoryError_] = unreadable) -> Iterator[SearchHit]:
            for paddr in search_physical(phys, ranges, needle.data, align=needle.align,
                                         start=start, end=end, interrupted=interrupted,
                                         unreadable=unreadable):
                yield _hit(phys, needle, paddr, base)
        yield from _limited(hits(), limit, _which(index, len(needles)))
        if unreadable:
            caveat(f"search: {len(unreadable)} page(s) of memory could not be read and were "
                   f"not searched (the first: {unreadable[0]})")


def _hit(phys: AddressSpace, needle: Needle, paddr: int, base: int | None) -> SearchHit:
    shown = needle.pattern
    if needle.chars:
        shown = printable(phys.read(paddr, min(CHARS_CONTEXT,
                                               PAGE_SIZE - (paddr & (PAGE_SIZE - 1)))))
    return SearchHit(paddr + base if base is not None else paddr, paddr, needle.pattern, shown)


def _search_dump(phys: AddressSpace, source: PageSource, ranges: list[tuple[int, int]],
                 needles: list[Needle], base: int | None, *, start: int, end: int, limit: int,
                 interrupted: Callable[[], bool]) -> Iterator[SearchHit]:
    """search_memory over the pages a dump holds, every pattern in one pass on every CPU:
    the first pattern's hits as they are found, the others' kept until the patterns
    before them are done; the same hits, order and warnings as a pass per pattern."""
    count = len(needles)
    found: list[list[int]] = [[] for _ in needles]      # hits not shown yet
    taken = [0] * count
    stop: list[int | None] = [None] * count             # page of the limit-th hit
    errors: list[tuple[int, str]] = []
    current = 0

    def finish(i: int) -> Iterator[SearchHit]:
        """The rest of pattern i's hits, then its warnings."""
        for paddr in found[i]:
            yield _hit(phys, needles[i], paddr, base)
        found[i] = []
        if stop[i] is not None:
            caveat(f"search: stopped after {limit} hits{_which(i, count)} (-l)")
        seen = [e for e in errors if stop[i] is None or e[0] < (stop[i] or 0)]
        if seen:
            caveat(f"search: {len(seen)} page(s) of memory could not be read and were "
                   f"not searched (the first: {seen[0][1]})")

    pieces = search_dump(source, ranges, [(n.data, n.align) for n in needles], start=start,
                         end=end, interrupted=interrupted)
    try:
        for piece in pieces:
            errors += piece.errors
            for i, hits in enumerate(piece.hits):
                if stop[i] is not None or not hits:
                    continue
                hits = hits[:limit - taken[i]]
                taken[i] += len(hits)
                found[i] += hits
                if taken[i] >= limit:
                    stop[i] = hits[-1] & ~(PAGE_SIZE - 1)
            while current < count:
                for paddr in found[current]:
                    yield _hit(phys, needles[current], paddr, base)
                found[current] = []
                if stop[current] is None:
                    break
                yield from finish(current)
                current += 1
            if current >= count:
                return
    finally:
        pieces.close()
    for i in range(current, count):
        yield from finish(i)


def search_user(pages: Callable[[int, int], Iterable[tuple[int, bytes]]],
                needles: Iterable[Needle], *, start: int, end: int, limit: int,
                check: Callable[[], None] = lambda: None) -> Iterator[SearchHit]:
    """Each needle's hits in the user pages ``pages(start, end)`` gives (virtual
    address, contents), in [start, end)."""
    needles = list(needles)
    for index, needle in enumerate(needles):
        def hits(needle: Needle = needle) -> Iterator[SearchHit]:
            for vaddr, data in search_pages(pages(start, end), needle.data, align=needle.align,
                                            start=start, end=end, check=check):
                shown = printable(data[:CHARS_CONTEXT]) if needle.chars else needle.pattern
                yield SearchHit(vaddr, None, needle.pattern, shown)
        yield from _limited(hits(), limit, _which(index, len(needles)))


# -- vtop --------------------------------------------------------------------------------
@dataclass
class TableEntry:
    """A page-table entry read on the walk: its level, where it is, what it holds."""
    level: str
    entry_address: int
    entry: int


@dataclass
class AddressTranslation:
    """How a virtual address translates: the arithmetic used (direct map, kernel
    image) or the page tables, and the walk of the tables in every case."""
    virtual: int
    #: the physical address (a Xen PV guest: pseudo-physical, Unreadable when Xen's
    #: m2p does not give it back); None: not mapped
    physical: int | None | Unreadable
    #: a Xen PV guest: the machine address (what its page tables hold)
    machine: int | None
    method: str
    steps: list[TableEntry]
    error: str | None
    #: the arithmetic of a translation without tables ("0x... - 0x... + phys_base ...")
    notes: list[str] = field(default_factory=list, metadata={"json": False})
    #: the root of the page tables walked (crash's PAGE DIRECTORY)
    root: int | None = field(default=None, metadata={"json": False})
    #: the page the walk ends at
    page: int | None = field(default=None, metadata={"json": False})


def translation(target: Target, vaddr: int,
                space: AddressSpace | None = None) -> AddressTranslation:
    """The translation of ``vaddr`` in the target's (kernel or hypervisor) space, or in
    ``space`` (a task's user memory)."""
    from .xen.guests import PvLinuxTarget
    space = space if space is not None else target.space
    tr = space.explain(vaddr)
    physical: int | None | Unreadable = tr.paddr
    machine = None
    if tr.paddr is not None and isinstance(target, PvLinuxTarget):
        # a Xen PV guest: the walk gives machine addresses; PHYSICAL is the guest's
        # pseudo-physical one (Xen's m2p), MACHINE the frame in the dump
        machine = tr.paddr
        pseudo = target.pseudo_physical(tr.paddr)
        if pseudo is None:
            caveat(f"machine address {tr.paddr:x} has no pseudo-physical address in "
                   f"{target.name} (Xen's m2p): PHYSICAL shown as ?")
            physical = Unreadable("not in Xen's m2p")
        else:
            physical = pseudo
    notes = [s.note for s in tr.steps] if tr.method not in ("page table", "identity") else []
    walk = space.walk(vaddr) if isinstance(space, PageTableSpace) else tr
    return AddressTranslation(
        vaddr, physical, machine, tr.method,
        [TableEntry(s.what, s.address, s.value) for s in walk.steps
         if s.address is not None and s.value is not None],
        walk.error, notes, space.root if isinstance(space, PageTableSpace) else None,
        walk.paddr & ~(PAGE_SIZE - 1) if walk.paddr is not None else None)
