"""Searching memory page by page (what `search` builds on)."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from ..arch import PAGE_SIZE
from ..errors import MemoryError_, PageExcluded
from .space import PhysicalReader


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
