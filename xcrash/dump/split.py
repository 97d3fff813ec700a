"""A kdump-compressed dump split over several files (``makedumpfile --split``).

Each part holds the pages of one PFN range; together the parts must cover
``[0, max_mapnr)`` without gaps or overlaps, and describe the same machine.
"""
from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import replace

from ..errors import BadDump, MemoryError_
from .base import Dump
from .kdump import KdumpDump


class SplitDump(Dump):
    def __init__(self, parts: list[KdumpDump]) -> None:
        parts = sorted(parts, key=lambda p: p.start_pfn)
        _check_parts(parts)
        self._parts = parts
        self._starts = [p.start_pfn for p in parts]
        first = parts[0]
        super().__init__(first.path)
        self.format_name = first.format_name
        self.notes = first.notes
        self.header = replace(first.header, split_parts=len(parts),
                              incomplete=any(p.header.incomplete for p in parts))
        self.max_pfn = first.max_pfn

    @property
    def zero_excluded(self) -> bool:
        return self._parts[0].zero_excluded

    @zero_excluded.setter
    def zero_excluded(self, value: bool) -> None:
        for part in self._parts:
            part.zero_excluded = value

    @property
    def parts(self) -> list[KdumpDump]:
        return list(self._parts)

    def _part(self, pfn: int) -> KdumpDump:
        return self._parts[max(0, bisect.bisect_right(self._starts, pfn) - 1)]

    def _page(self, pfn: int, addr: int) -> bytes:
        return self._part(pfn)._page(pfn, addr)

    def is_readable(self, paddr: int) -> bool:
        return self._part(paddr >> self.page_shift).is_readable(paddr)

    def present_runs(self) -> list[tuple[int, int]]:
        """Every part's runs of frames it holds (each part its own range), in order."""
        return [run for part in self._parts for run in part.present_runs()]

    def pages(self, start: int, end: int) -> Iterator[tuple[int, bytes | MemoryError_ | int]]:
        """As KdumpDump.pages; ``[start, end)`` lies in one part (a piece of a run)."""
        return self._part(start).pages(start, end)

    def ranges(self) -> list[tuple[int, int]]:
        return self._parts[0].ranges()

    def close(self) -> None:
        for part in self._parts:
            part.close()


def _check_parts(parts: list[KdumpDump]) -> None:
    first = parts[0]
    for part in parts:
        if not part.is_split:
            raise BadDump(part.path, "not a part of a split dump, but opened with other files")
        if (part.max_pfn, part.header.header_version, part.header.utsname) != (
                first.max_pfn, first.header.header_version, first.header.utsname):
            raise BadDump(part.path, f"not a part of the same split dump as {first.path}")
    expected = 0
    for part in parts:
        if part.start_pfn > expected:
            raise BadDump(first.path, f"split dump incomplete: no file given holds PFNs "
                                      f"{expected:#x}-{part.start_pfn - 1:#x}")
        if part.start_pfn < expected:
            raise BadDump(part.path, "split dump parts overlap (a part given twice?)")
        expected = part.end_pfn
    if expected < first.max_pfn:
        raise BadDump(first.path, f"split dump incomplete: no file given holds PFNs "
                                  f"{expected:#x}-{first.max_pfn - 1:#x}")
