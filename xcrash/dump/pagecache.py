"""A small LRU cache of decoded pages, keyed by where their data lies in the file.

Keying by file offset rather than PFN lets the pages that share one
descriptor (makedumpfile stores all zero pages once) share one entry.
"""
from __future__ import annotations

from collections import OrderedDict


class PageCache:
    def __init__(self, capacity: int = 512) -> None:
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
