"""Searching physical memory page by page (what `search` builds on)."""
from __future__ import annotations

from collections.abc import Callable, Iterator

from ..errors import MemoryError_
from ..arch import PAGE_SIZE


def search_physical(phys: object, ranges: list[tuple[int, int]], needle: bytes, *,
                    align: int = 1, start: int = 0, end: int = 1 << 64,
                    interrupted: Callable[[], bool] = lambda: False) -> Iterator[int]:
    """Physical addresses where ``needle`` starts, in address order.

    Each page is read once, with the few bytes of the next page that a match
    crossing the boundary needs; pages that cannot be read (excluded, not in
    the dump) are skipped.
    """
    overlap = len(needle) - 1
    for lo, hi in ranges:
        lo, hi = max(lo, start), min(hi, end)
        page = lo & ~(PAGE_SIZE - 1)
        while page < hi:
            if interrupted():
                raise KeyboardInterrupt
            try:
                data = phys.read(page, PAGE_SIZE)  # type: ignore[attr-defined]
            except MemoryError_:
                # a page the dump does not hold cannot match: crash skips it the same way
                page += PAGE_SIZE
                continue
            if overlap:
                try:
                    data += phys.read(page + PAGE_SIZE, overlap)  # type: ignore[attr-defined]
                except MemoryError_:
                    pass        # no next page: a match cannot run across into it
            pos = data.find(needle)
            while 0 <= pos < PAGE_SIZE:
                addr = page + pos
                if addr % align == 0 and lo <= addr < hi:
                    yield addr
                pos = data.find(needle, pos + 1)
            page += PAGE_SIZE
