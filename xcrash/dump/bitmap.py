"""The kdump page bitmaps: bit tests, rank (set bits before a PFN) and runs.

Bit ``n`` is bit ``n & 7`` of byte ``n >> 3``.  ``rank`` answers "how many
dumpable pages precede this PFN", i.e. the index of its page descriptor.  A
prefix table of set-bit counts per 512-bit block, built on first use, makes
each rank one table look-up plus one popcount inside a block (512 bits: a page
read of a large dump ranks once, and a smaller block is a smaller popcount).
"""
from __future__ import annotations

import re
from array import array
from itertools import accumulate

_BLOCK_BYTES = 64
_BLOCK_SHIFT = 9           # bits per block = 512
_NONZERO = re.compile(rb"[^\x00]+")


class Bitmap:
    def __init__(self, data: memoryview | bytes, nbits: int) -> None:
        self._data = data
        self.nbits = min(nbits, len(data) * 8)
        self._prefix: array[int] | None = None

    def __getitem__(self, n: int) -> bool:
        return 0 <= n < self.nbits and bool(self._data[n >> 3] >> (n & 7) & 1)

    def rank(self, n: int) -> int:
        """Number of set bits in ``[0, n)``; ``n`` must be within ``[0, nbits]``."""
        prefix = self._prefix
        if prefix is None:
            prefix = self._prefix = self._build_prefix()
        block = n >> _BLOCK_SHIFT
        lo, hi = block * _BLOCK_BYTES, n >> 3
        count = prefix[block] + int.from_bytes(self._data[lo:hi], "little").bit_count()
        if n & 7:
            count += (self._data[hi] & ((1 << (n & 7)) - 1)).bit_count()
        return count

    def _build_prefix(self) -> array[int]:
        data = self._data
        nbytes = (self.nbits + 7) >> 3
        counts = (int.from_bytes(data[i:min(i + _BLOCK_BYTES, nbytes)], "little").bit_count()
                  for i in range(0, nbytes, _BLOCK_BYTES))
        return array("Q", accumulate(counts, initial=0))

    def runs(self) -> list[tuple[int, int]]:
        """Maximal runs of set bits as ``[start, end)`` bit numbers."""
        result: list[tuple[int, int]] = []
        nbytes = (self.nbits + 7) >> 3
        for match in _NONZERO.finditer(self._data, 0, nbytes):
            a, b = match.span()
            for chunk in range(a, b, 4096):   # bounded int sizes keep this linear
                x = int.from_bytes(self._data[chunk:min(chunk + 4096, b)], "little")
                bit = chunk * 8
                while x:
                    zeros = (x & -x).bit_length() - 1
                    x >>= zeros
                    ones = (~x & (x + 1)).bit_length() - 1
                    x >>= ones
                    start, end = bit + zeros, min(bit + zeros + ones, self.nbits)
                    bit += zeros + ones
                    if start >= end:
                        continue
                    if result and result[-1][1] == start:
                        result[-1] = (result[-1][0], end)
                    else:
                        result.append((start, end))
        return result
