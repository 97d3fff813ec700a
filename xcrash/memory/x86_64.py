"""x86_64 4- and 5-level page-table walks over a physical (or machine) reader.

The same walk serves a bare-metal kernel (entries hold physical frames) and a
Xen PV guest (entries hold machine frames, read from machine memory): only
the reader underneath differs.
"""
from __future__ import annotations

import struct
from collections.abc import Iterator

from ..errors import MemoryError_, TranslationError
from ..arch import PAGE_MASK
from .space import AddressSpace, PhysicalReader, Step, Translation

FRAME_MASK = 0x000FFFFFFFFFF000
LARGE_2M_MASK = 0x000FFFFFFFE00000
LARGE_1G_MASK = 0x000FFFFFC0000000
PRESENT = 0x1
PSE = 0x80

#: a page-table entry's flag bits, in the order crash names them; PSE counts only in a
#: present entry, PROTNONE (the GLOBAL bit reused) only in a non-present one
PTE_FLAGS = ((0x1, "PRESENT"), (0x2, "RW"), (0x4, "USER"), (0x8, "PWT"), (0x10, "PCD"),
             (0x20, "ACCESSED"), (0x40, "DIRTY"), (0x80, "PSE"), (0x100, "PROTNONE"),
             (0x100, "GLOBAL"), (1 << 63, "NX"))


def pte_flag_names(pte: int) -> list[str]:
    """The flags set in an x86_64 page-table entry, crash's names and order."""
    present = bool(pte & PRESENT)
    names = []
    for bit, name in PTE_FLAGS:
        if not pte & bit or name == "PSE" and not present or name == "PROTNONE" and present:
            continue
        names.append(name)
    return names


_LEVELS_4 = (("PGD", 39), ("PUD", 30), ("PMD", 21), ("PTE", 12))
_LEVELS_5 = (("PML5", 48), ("P4D", 39), ("PUD", 30), ("PMD", 21), ("PTE", 12))
_U64 = struct.Struct("<Q")

#: translations remembered per space before the cache is emptied
_CACHE_LIMIT = 1 << 16


def canonical(vaddr: int, levels: int = 4) -> bool:
    top = 47 if levels == 4 else 56
    high = vaddr >> top
    return high == 0 or high == (1 << (64 - top)) - 1


class PageTableSpace(AddressSpace):
    """Virtual memory described by an x86_64 page-table root (CR3-like)."""

    def __init__(self, phys: PhysicalReader, root: int, *, levels: int = 4,
                 entry_mask: int = 0, name: str = "virtual") -> None:
        self.phys = phys
        self.root = root & FRAME_MASK
        self.levels = levels
        #: bits to clear from every entry (AMD SME C-bit)
        self.entry_mask = ~entry_mask & 0xFFFFFFFFFFFFFFFF
        self.name = name
        self._cache: dict[int, int] = {}
        #: the 2 MiB and 1 GiB mappings met on walks (by vaddr >> 21, vaddr >> 30): the
        #: other pages they map translate without a walk (vmemmap, the direct map)
        self._large: dict[int, int] = {}
        self._huge: dict[int, int] = {}

    def forget(self) -> None:
        """Drop the translations remembered (the tables' meaning changed)."""
        self._cache.clear()
        self._large.clear()
        self._huge.clear()

    def _entry(self, table: int, vaddr: int, shift: int) -> tuple[int, int]:
        addr = table + 8 * ((vaddr >> shift) & 0x1FF)
        return addr, _U64.unpack(self.phys.read(addr, 8))[0] & self.entry_mask

    def _translate_page(self, vaddr: int) -> int:
        hit = self._cache.get(vaddr)
        if hit is not None:
            return hit
        large = self._large.get(vaddr >> 21)
        if large is not None:
            paddr = large | (vaddr & 0x1FF000)
        else:
            huge = self._huge.get(vaddr >> 30)
            paddr = (huge | (vaddr & 0x3FFFF000) if huge is not None
                     else self._walk(vaddr, None))
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[vaddr] = paddr
        return paddr

    def _walk(self, vaddr: int, steps: list[Step] | None) -> int:
        if not canonical(vaddr, self.levels):
            raise TranslationError(vaddr, "not a canonical address")
        table = self.root
        for name, shift in (_LEVELS_5 if self.levels == 5 else _LEVELS_4):
            try:
                addr, entry = self._entry(table, vaddr, shift)
            except MemoryError_ as err:
                raise TranslationError(vaddr, f"{name} table at {table:#x} unreadable ({err})") from None
            if steps is not None:
                steps.append(Step(name, addr, entry))
            if not entry & PRESENT:
                raise TranslationError(vaddr, f"{name} entry not present ({entry:#x})")
            if shift == 30 and entry & PSE:
                if len(self._huge) < _CACHE_LIMIT:
                    self._huge[vaddr >> 30] = entry & LARGE_1G_MASK
                return (entry & LARGE_1G_MASK) | (vaddr & 0x3FFFF000)
            if shift == 21 and entry & PSE:
                if len(self._large) < _CACHE_LIMIT:
                    self._large[vaddr >> 21] = entry & LARGE_2M_MASK
                return (entry & LARGE_2M_MASK) | (vaddr & 0x1FF000)
            table = entry & FRAME_MASK
        return table

    def _arithmetic(self, vaddr: int) -> Translation | None:
        """How ``vaddr`` translates without a walk (a kernel image or direct map that
        subclasses know), or None: the page tables decide."""
        return None

    def explain(self, vaddr: int) -> Translation:
        return self._arithmetic(vaddr) or self.walk(vaddr)

    def walk(self, vaddr: int) -> Translation:
        """The page-table walk, even where arithmetic would do (crash's ``vtop``)."""
        steps: list[Step] = []
        try:
            page = self._walk(vaddr & ~PAGE_MASK, steps)
        except MemoryError_ as err:
            return Translation(vaddr, None, "page table", steps, error=str(err))
        return Translation(vaddr, page | (vaddr & PAGE_MASK), "page table", steps)


def mapped_pages(space: PageTableSpace, lo: int = 0, hi: int = 1 << 47,
                 limit: int = 1 << 22) -> Iterator[tuple[int, int, int]]:
    """(virtual address, physical address, size) of every present leaf mapping in
    [lo, hi) of a 4- or 5-level table, in address order (kernel addresses
    sign-extended); unreadable tables are skipped.
    At most ``limit`` mappings (a bound against corrupt tables).  Only the entries
    that meet [lo, hi) are looked at: a small range costs a table read per level."""
    if space.levels not in (4, 5):
        raise TranslationError(lo, f"page enumeration of {space.levels}-level tables")
    count = 0
    bits = 57 if space.levels == 5 else 48
    levels = [(shift, 1 << shift) for shift in (48, 39, 30, 21, 12)][5 - space.levels:]
    leaf = len(levels) - 1
    half, sign = 1 << (bits - 1), (_MASK64 >> bits) << bits
    # in the linear space the tables index (the upper half's addresses without their
    # sign extension); an address in the non-canonical hole bounds either half
    first_lin, end_lin = _linear(lo, bits), _linear(hi, bits)

    def walk(table: int, depth: int, base: int) -> Iterator[tuple[int, int, int]]:
        nonlocal count
        shift, span = levels[depth]
        first = max(0, (first_lin - base) // span)
        last = min(511, (end_lin - 1 - base) // span)
        if last < first:
            return
        try:
            raw = space.phys.read(table, 4096)
        except MemoryError_:
            return      # a table the dump lacks maps nothing the dump holds (docstring)
        entries = struct.unpack_from(f"<{last - first + 1}Q", raw, first * 8)
        for i, entry in enumerate(entries, first):
            if not entry & PRESENT:
                continue
            lin = base + i * span
            va = lin | sign if lin >= half else lin
            entry &= space.entry_mask
            if count >= limit:
                return
            if depth == leaf:
                count += 1
                yield va, entry & FRAME_MASK, span
            elif depth in (leaf - 2, leaf - 1) and entry & PSE:
                count += 1
                yield va, entry & (LARGE_1G_MASK if depth == leaf - 2 else LARGE_2M_MASK), span
            else:
                yield from walk(entry & FRAME_MASK, depth + 1, lin)

    yield from walk(space.root, 0, 0)


_MASK64 = 0xFFFFFFFFFFFFFFFF


def _linear(address: int, bits: int = 48) -> int:
    """Where a (canonical) address is in the 2**bits space a 4-level (48) or 5-level
    (57) table maps: the upper half without its sign extension; the non-canonical hole
    at the halves' meeting point, the end of the address space at 2**bits."""
    half, sign = 1 << (bits - 1), (_MASK64 >> bits) << bits
    if address >= 1 << 64:
        return 1 << bits
    if address >= sign | half:
        return address - sign
    return min(address, half)
