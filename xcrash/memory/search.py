"""Searching memory page by page (what `search` builds on).

A search over a dump that can hand its pages out in bulk (:class:`PageSource`: a
kdump-compressed file) reads only the pages the dump holds, all patterns at once, in
pieces shared among the CPUs (:func:`search_dump`); any other physical memory is read
page by page (:func:`search_physical`).
"""
from __future__ import annotations

import bisect
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from .. import parallel, progress, trace
from ..arch import PAGE_SHIFT, PAGE_SIZE
from ..errors import MemoryError_, PageExcluded
from .space import PhysicalReader, PhysicalSpace


def search_physical(phys: PhysicalReader, ranges: list[tuple[int, int]], needle: bytes, *,
                    align: int = 1, start: int = 0, end: int = 1 << 64,
                    interrupted: Callable[[], bool] = lambda: False,
                    unreadable: list[MemoryError_] | None = None) -> Iterator[int]:
    """Physical addresses where ``needle`` starts, in address order.

    Each page is read once, with the few bytes of the next page that a match
    crossing the boundary needs.  Pages makedumpfile excluded are skipped (the
    dump was made without them); the errors of the other pages that cannot be
    read are appended to ``unreadable``, and those pages skipped.
    """
    overlap = len(needle) - 1
    for lo, hi in ranges:
        lo, hi = max(lo, start), min(hi, end)
        page = lo & ~(PAGE_SIZE - 1)
        while page < hi:
            if interrupted():
                raise KeyboardInterrupt
            try:
                data = phys.read(page, PAGE_SIZE)
            except PageExcluded:
                page += PAGE_SIZE           # filtered out by the dump level: not there
                continue
            except MemoryError_ as err:
                if unreadable is not None:
                    unreadable.append(err)
                page += PAGE_SIZE
                continue
            if overlap:
                try:
                    data += phys.read(page + PAGE_SIZE, overlap)
                except MemoryError_:
                    pass    # the next page is not there: no match can cross into it
            pos = data.find(needle)
            while 0 <= pos < PAGE_SIZE:
                addr = page + pos
                if addr % align == 0 and lo <= addr < hi:
                    yield addr
                pos = data.find(needle, pos + 1)
            page += PAGE_SIZE


def search_pages(pages: Iterable[tuple[int, bytes]], needle: bytes, *, align: int = 1,
                 start: int = 0, end: int = 1 << 64,
                 check: Callable[[], None] = lambda: None) -> Iterator[tuple[int, bytes]]:
    """(address, the bytes from the match to the end of its page) of each match of
    ``needle`` in the pages given as (address, contents), in [start, end)."""
    for vaddr, data in pages:
        check()
        pos = data.find(needle)
        while pos >= 0:
            if (vaddr + pos) % align == 0 and start <= vaddr + pos < end:
                yield vaddr + pos, data[pos:]
            pos = data.find(needle, pos + 1)


# -- every page a dump holds, on every CPU ----------------------------------------------------
class PageSource(Protocol):
    """A dump that hands out the pages it holds (dump/kdump.py, dump/split.py)."""
    zero_excluded: bool

    def present_runs(self) -> list[tuple[int, int]]: ...

    def pages(self, start: int, end: int) -> Iterator[tuple[int, bytes | MemoryError_ | int]]:
        ...

    def read(self, paddr: int, size: int) -> bytes: ...


def page_source(space: object) -> PageSource | None:
    """The dump under a physical space when it can hand its pages out in bulk (and
    nothing asks for every read to be traced, nor for excluded pages as zeros)."""
    reader = space.phys if isinstance(space, PhysicalSpace) else None
    if not _hands_out_pages(reader) or getattr(reader, "zero_excluded", True):
        return None
    return reader       # type: ignore[return-value]  # checked: it has the methods


def _hands_out_pages(reader: object) -> bool:
    """Whether a dump reader gives its pages in bulk, and no read asks to be traced."""
    return trace._active is None and hasattr(reader, "present_runs") and hasattr(reader, "pages")


def _present_pieces(present: list[tuple[int, int]], starts: list[int], lo: int, hi: int
                    ) -> Iterator[tuple[int, int]]:
    """The frames of [lo, hi) the dump holds (``present``: its runs, ``starts`` their
    first frames), in pieces of at most CHUNK_PAGES."""
    i = max(bisect.bisect_right(starts, lo) - 1, 0)
    while i < len(present) and present[i][0] < hi:
        a, b = max(present[i][0], lo), min(present[i][1], hi)
        while a < b:
            n = min(b - a, CHUNK_PAGES)
            yield a, a + n
            a += n
        i += 1


#: pages of one piece of work (4 MiB)
CHUNK_PAGES = 1024


def frames_beginning_with(reader: object, frames: Iterable[int], prefix: bytes) -> set[int] | None:
    """Which of the page ``frames`` (physical frame numbers) begin with ``prefix``, read
    in bulk from a dump that hands its pages out (a run of consecutive frames one read
    at a time, not a read per frame); None when the dump cannot (then read each)."""
    if not _hands_out_pages(reader):
        return None
    source: PageSource = reader     # type: ignore[assignment]  # checked: it has the methods
    wanted = sorted(set(frames))
    found: set[int] = set()
    runs: list[tuple[int, int]] = []
    for pfn in wanted:
        if runs and runs[-1][1] == pfn:
            runs[-1] = (runs[-1][0], pfn + 1)
        else:
            runs.append((pfn, pfn + 1))
    present = source.present_runs()
    starts = [a for a, _ in present]
    for lo, hi in runs:
        for a, b in _present_pieces(present, starts, lo, hi):
            for pfn, page in source.pages(a, b):
                if isinstance(page, bytes) and page.startswith(prefix):
                    found.add(pfn)
    return found


@dataclass
class ChunkHits:
    """What a piece of the search found: each pattern's hits (physical addresses, in
    order), the pages that could not be read (address, error), pages searched."""
    hits: list[list[int]]
    errors: list[tuple[int, str]] = field(default_factory=list)
    pages: int = 0


_Job = tuple[PageSource, tuple[bytes, ...], tuple[int, ...]]


def search_dump(source: PageSource, ranges: list[tuple[int, int]],
                needles: Sequence[tuple[bytes, int]], *, start: int = 0, end: int = 1 << 64,
                interrupted: Callable[[], bool] = lambda: False,
                workers: int | None = None) -> Generator[ChunkHits, None, None]:
    """Every pattern (bytes, alignment) searched in the pages the dump holds within the
    physical ``ranges`` and [start, end): what each piece found, in address order,
    as the pieces are done (by ``workers`` processes, default one per CPU).  Matches
    may cross into the next page, as :func:`search_physical`'s."""
    chunks = _chunks(source, ranges, start, end)
    total = sum(b - a for chunk in chunks for a, b, _, _ in chunk) or 1
    job = (source, tuple(n for n, _ in needles), tuple(a for _, a in needles))
    done = 0
    results = parallel.mapped(_scan, job, chunks, workers)
    try:
        for result in results:
            if interrupted():
                raise KeyboardInterrupt
            done += result.pages
            progress.report("searching memory", done / total)
            yield result
    finally:
        results.close()
        progress.report("searching memory", 1.0)


_MappedJob = tuple[PhysicalReader, "list[Pattern]", int, int, int]
#: a piece of a mapped region: its runs of pages (virtual and physical address of the
#: first, how many), and the page after its last when it follows it in virtual memory
#: (a match may cross into it), or None
_MappedPiece = tuple[list[tuple[int, int, int]], "tuple[int, int] | None"]


def search_mapped(phys: PhysicalReader, runs: Sequence[tuple[int, int, int]],
                  patterns: list[Pattern], *, start: int = 0, end: int = 1 << 64,
                  context: int = 0, interrupted: Callable[[], bool] = lambda: False,
                  workers: int | None = None, label: str = "searching memory"
                  ) -> Generator[list[tuple[int, int, bytes]], None, None]:
    """:func:`search_stream` over pages mapped in runs (virtual address, physical
    address, pages), in virtual order, read from ``phys`` in pieces on every CPU: each
    piece's (address, pattern index, bytes from the match on), in order, as the pieces
    are done.  The same hits as search_stream over the pages read one by one (a page
    that cannot be read is skipped): a piece also reads the page after its last when
    the two are contiguous, for the matches that cross into it, and leaves that page's
    own matches to the next piece."""
    pieces: list[_MappedPiece] = []
    current: list[tuple[int, int, int]] = []
    size = 0
    for va, pa, n in runs:
        while n:
            if size == CHUNK_PAGES:
                pieces.append((current, None))
                current, size = [], 0
            take = min(n, CHUNK_PAGES - size)
            current.append((va, pa, take))
            size += take
            va, pa, n = va + take * PAGE_SIZE, pa + take * PAGE_SIZE, n - take
    if current:
        pieces.append((current, None))
    for i in range(len(pieces) - 1):
        (own, _), (nxt, _) = pieces[i], pieces[i + 1]
        last, first = own[-1], nxt[0]
        if first[0] == last[0] + last[2] * PAGE_SIZE:
            pieces[i] = (own, (first[0], first[1]))
    total = sum(n for own, _ in pieces for _, _, n in own) or 1
    job = (phys, patterns, start, end, context)
    done = 0
    results = parallel.mapped(_scan_mapped, job, pieces, workers)
    try:
        for result, (own, _after) in zip(results, pieces):
            if interrupted():
                raise KeyboardInterrupt
            done += sum(n for _, _, n in own)
            progress.report(label, done / total)
            yield result
    finally:
        results.close()
        progress.report(label, 1.0)


def _scan_mapped(job: _MappedJob, piece: _MappedPiece) -> list[tuple[int, int, bytes]]:
    phys, patterns, start, end, context = job
    own, after = piece
    va, _pa, n = own[-1]
    limit = va + n * PAGE_SIZE              # matches from here on are the next piece's
    pages = [(va + i * PAGE_SIZE, pa + i * PAGE_SIZE) for va, pa, n in own for i in range(n)]
    if after is not None:
        pages.append(after)

    def contents() -> Iterator[tuple[int, bytes]]:
        for vaddr, paddr in pages:
            try:
                yield vaddr, phys.read(paddr, PAGE_SIZE)
            except MemoryError_:
                continue        # not in the dump: nothing there to search
    return list(search_stream(contents(), patterns, start=start, end=min(end, limit),
                              context=context))


def _chunks(source: PageSource, ranges: list[tuple[int, int]], start: int, end: int
            ) -> list[list[tuple[int, int, int, int]]]:
    """The work in pieces of about CHUNK_PAGES pages: (first PFN, end PFN, lowest and
    end address a hit may have) of runs of present pages."""
    present = source.present_runs()
    starts = [a for a, _ in present]
    pieces: list[tuple[int, int, int, int]] = []
    for lo, hi in ranges:
        lo, hi = max(lo, start), min(hi, end)
        if lo >= hi:
            continue
        plo, phi = lo >> PAGE_SHIFT, (hi + PAGE_SIZE - 1) >> PAGE_SHIFT
        pieces += [(a, b, lo, hi) for a, b in _present_pieces(present, starts, plo, phi)]
    chunks: list[list[tuple[int, int, int, int]]] = []
    size = CHUNK_PAGES
    for piece in pieces:
        if size + piece[1] - piece[0] > CHUNK_PAGES:
            chunks.append([])
            size = 0
        chunks[-1].append(piece)
        size += piece[1] - piece[0]
    return chunks


def _scan(job: _Job, chunk: list[tuple[int, int, int, int]]) -> ChunkHits:
    source, needles, aligns = job
    out = ChunkHits([[] for _ in needles])
    overlap = max(len(n) for n in needles) - 1
    # a run of zero pages can hold a match of a pattern with a byte that is not zero
    # only where it crosses into the page after the run: its last page is searched,
    # with what follows; an all-zero pattern is searched in every page
    runs = all(n.strip(b"\0") for n in needles)
    for a, b, lo, hi in chunk:
        out.pages += b - a
        prev_pfn, prev = -1, b""
        for pfn, page in source.pages(a, b):
            if isinstance(page, int):                       # a run of zero pages
                zeros = [pfn + page - 1] if runs else list(range(pfn, pfn + page))
                for zero_pfn in zeros:
                    if prev:
                        _match(out.hits, needles, aligns, prev_pfn, prev, _ZEROS[:overlap],
                               lo, hi)
                    prev_pfn, prev = zero_pfn, _ZERO_PAGE
                continue
            if isinstance(page, MemoryError_):
                out.errors.append((pfn << PAGE_SHIFT, str(page)))
                if prev:
                    _match(out.hits, needles, aligns, prev_pfn, prev, b"", lo, hi)
                prev = b""
                continue
            if prev:
                _match(out.hits, needles, aligns, prev_pfn, prev, page[:overlap], lo, hi)
            prev_pfn, prev = pfn, page
        if prev:
            tail = b""
            if overlap:
                try:
                    tail = source.read((prev_pfn + 1) << PAGE_SHIFT, overlap)
                except MemoryError_:
                    pass    # the next page is not there: no match can cross into it
            _match(out.hits, needles, aligns, prev_pfn, prev, tail, lo, hi)
    return out


_ZERO_PAGE = bytes(PAGE_SIZE)
_ZEROS = bytes(PAGE_SIZE)


def _match(hits: list[list[int]], needles: tuple[bytes, ...], aligns: tuple[int, ...],
           pfn: int, page: bytes, tail: bytes, lo: int, hi: int) -> None:
    base = pfn << PAGE_SHIFT
    if page is _ZERO_PAGE and all(n.strip(b"\0") for n in needles):
        # a zero page: only a match crossing into the next page, in its last bytes
        keep = max(len(n) for n in needles) - 1
        base += PAGE_SIZE - keep
        data = _ZEROS[:keep] + tail
        end = keep
    else:
        data = page + tail if tail else page
        end = PAGE_SIZE
    for found, needle, align in zip(hits, needles, aligns):
        pos = data.find(needle)
        while 0 <= pos < end:
            addr = base + pos
            if addr % align == 0 and lo <= addr < hi:
                found.append(addr)
            pos = data.find(needle, pos + 1)


class Pattern:
    """What a search looks for: ``data`` at addresses aligned to ``align``; a numeric
    pattern's ``mask`` (crash's -m) sets the bits that do not matter."""

    __slots__ = ("data", "align", "mask")

    def __init__(self, data: bytes, align: int = 1, mask: bytes | None = None) -> None:
        self.data = data
        self.align = align
        self.mask = mask

    def _masked(self, chunk: bytes) -> bytes:
        """``chunk`` (aligned at its start) with the mask's bits set in every unit."""
        assert self.mask is not None
        repeat = (self.mask * (len(chunk) // len(self.mask) + 1))[:len(chunk)]
        return (int.from_bytes(chunk, "little") | int.from_bytes(repeat, "little")).to_bytes(
            len(chunk), "little")

    def find(self, buf: bytes, base: int, first: int, last: int) -> Iterator[int]:
        """Offsets in ``buf`` (at address ``base``) where the pattern starts, from
        ``first`` up to (not including) ``last``, aligned."""
        data = self.data
        if self.mask is not None:
            skew = (-base) % len(self.mask)        # buf starts mid-unit after a carry
            head = buf[:skew]
            buf = head + self._masked(buf[skew:])
            data = self._masked(data)
        pos = buf.find(data, first)
        while 0 <= pos < last:
            if (base + pos) % self.align == 0:
                yield pos
            pos = buf.find(data, pos + 1)


def search_stream(pages: Iterable[tuple[int, bytes]], patterns: list[Pattern], *,
                  start: int = 0, end: int = 1 << 64, context: int = 0,
                  check: Callable[[], None] = lambda: None
                  ) -> Iterator[tuple[int, int, bytes]]:
    """(address, pattern index, bytes from the match on) of every match in the pages
    given as (virtual address, contents) in address order, within [start, end).  A
    match that crosses from one page into the next is found when the pages are
    contiguous (crash's cross-page matches); matches are produced in address order,
    the patterns' in their order at one address.  The bytes from a match run to the
    end of its page, or ``context`` bytes on when the match crosses into the next."""
    longest = max((len(p.data) for p in patterns), default=1)
    carry, carry_end = b"", None
    for vaddr, data in pages:
        check()
        if vaddr != carry_end:
            carry = b""
        buf = carry + data
        base = vaddr - len(carry)
        found: list[tuple[int, int]] = []
        for index, p in enumerate(patterns):
            first = max(len(carry) - (len(p.data) - 1), 0)
            for pos in p.find(buf, base, first, len(buf) - len(p.data) + 1):
                if start <= base + pos < end:
                    found.append((pos, index))
        found.sort()
        for pos, index in found:
            stop = len(buf) if pos >= len(carry) else pos + max(context, len(patterns[index].data))
            yield base + pos, index, buf[pos:stop]
        carry = buf[-(longest - 1):] if longest > 1 else b""
        carry_end = vaddr + len(data)
