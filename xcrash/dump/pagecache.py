"""A small LRU cache of decoded pages, keyed by page frame number.

A read within one page looks its frame up here before anything else (no page
descriptor, no decompression): the objects a command walks (task_structs, slab
pages, list nodes) are read member by member from a few hot pages.
"""
from __future__ import annotations

from collections import OrderedDict


class PageCache:
    def __init__(self, capacity: int = 2048) -> None:
        self.capacity = capacity
        self._pages: OrderedDict[int, bytes] = OrderedDict()

    def get(self, key: int) -> bytes | None:
        page = self._pages.get(key)
        if page is not None:
            self._pages.move_to_end(key)
        return page

    def put(self, key: int, page: bytes) -> None:
        self._pages[key] = page
        self._pages.move_to_end(key)
        if len(self._pages) > self.capacity:
            self._pages.popitem(last=False)

    def clear(self) -> None:
        self._pages.clear()
