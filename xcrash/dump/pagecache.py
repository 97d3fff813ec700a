"""A small cache of decoded pages, keyed by page frame number.

A read within one page looks its frame up here before anything else (no page
descriptor, no decompression): the objects a command walks (task_structs, slab
pages, list nodes) are read member by member from a few hot pages.  The oldest
page goes first (a look-up costs one dict access; a hot page evicted is decoded
again, once per ``capacity`` pages decoded).
"""
from __future__ import annotations


class PageCache:
    def __init__(self, capacity: int = 2048) -> None:
        self.capacity = capacity
        self._pages: dict[int, bytes] = {}
        self.get = self._pages.get

    def put(self, key: int, page: bytes) -> None:
        pages = self._pages
        pages[key] = page
        if len(pages) > self.capacity:
            del pages[next(iter(pages))]

    def clear(self) -> None:
        self._pages.clear()
