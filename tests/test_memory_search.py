"""memory/search.py's search_mapped: pages mapped in runs, searched in pieces (on every
CPU), give the hits search_stream gives over the same pages read one by one."""
from __future__ import annotations

import random

import pytest

from xcrash.errors import PageNotInDump
from xcrash.memory import search as msearch
from xcrash.memory.search import Pattern, search_mapped, search_stream

PAGE = 4096


class Phys:
    """Physical pages by frame; a frame missing raises as a dump's excluded page."""

    def __init__(self, pages: dict[int, bytes]) -> None:
        self.pages = pages

    def read(self, paddr: int, size: int) -> bytes:
        page = self.pages.get(paddr // PAGE)
        if page is None:
            raise PageNotInDump(paddr)
        return page[paddr % PAGE:paddr % PAGE + size]


@pytest.mark.parametrize("workers", [1, 2])
def test_search_mapped_matches_search_stream(monkeypatch: pytest.MonkeyPatch,
                                             workers: int) -> None:
    monkeypatch.setattr(msearch, "CHUNK_PAGES", 3)      # pieces end inside runs and between
    rng = random.Random(17)
    needle = b"xc-needle"
    frames = {pfn: bytearray(rng.randbytes(PAGE)) for pfn in range(100, 140)}
    # runs: contiguous in both, contiguous in virtual memory only, a gap, a missing frame
    runs = [(0xFFFFC90000000000, 100 * PAGE, 5), (0xFFFFC90000005000, 120 * PAGE, 4),
            (0xFFFFC90000010000, 130 * PAGE, 6), (0xFFFFC90000016000, 150 * PAGE, 1),
            (0xFFFFC90000017000, 110 * PAGE, 3)]
    pages = [(va + i * PAGE, pa + i * PAGE) for va, pa, n in runs for i in range(n)]
    # matches: inside pages, across every page boundary (piece ends too), at a page's end
    for k, (_va, pa) in enumerate(pages):
        frame = frames.get(pa // PAGE)
        if frame is None:
            continue
        frame[100 + k:100 + k + len(needle)] = needle
        frame[PAGE - 4:] = needle[:4]
        nxt = frames.get(pa // PAGE + 1)
        if nxt is not None:
            nxt[:len(needle) - 4] = needle[4:]
    phys = Phys({pfn: bytes(f) for pfn, f in frames.items()})
    patterns = [Pattern(needle), Pattern(b"-nee", 1), Pattern(needle[:8], 8)]

    def serial() -> list[tuple[int, int, bytes]]:
        def contents():
            for va, pa in pages:
                try:
                    yield va, phys.read(pa, PAGE)
                except PageNotInDump:
                    continue
        return list(search_stream(contents(), patterns, start=0xFFFFC90000001000,
                                  context=64))
    expected = serial()
    found = [hit for piece in search_mapped(phys, runs, patterns, start=0xFFFFC90000001000,
                                            context=64, workers=workers) for hit in piece]
    assert found == expected
    crossing = [h for h in expected if h[0] % PAGE > PAGE - len(needle) and h[1] == 0]
    assert len(crossing) >= 8           # the boundaries were tested
