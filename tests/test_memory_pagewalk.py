"""x86_64 page walks over a synthetic physical memory (unit tests of the walk)."""
from __future__ import annotations

import struct

import pytest

from xcrash.errors import PageNotInDump, TranslationError
from xcrash.memory.linux import START_KERNEL_MAP, LinuxKernelSpace
from xcrash.memory.x86_64 import PageTableSpace


class FakePhys:
    """Sparse physical memory: pages created on write, unknown pages missing."""

    def __init__(self) -> None:
        self.pages: dict[int, bytearray] = {}

    def write_u64(self, paddr: int, value: int) -> None:
        page = self.pages.setdefault(paddr >> 12, bytearray(4096))
        struct.pack_into("<Q", page, paddr & 0xFFF, value)

    def write(self, paddr: int, data: bytes) -> None:
        for i, b in enumerate(data):
            self.pages.setdefault((paddr + i) >> 12, bytearray(4096))[(paddr + i) & 0xFFF] = b

    def read(self, paddr: int, size: int) -> bytes:
        out = bytearray()
        while size:
            n = min(size, 4096 - (paddr & 0xFFF))
            page = self.pages.get(paddr >> 12)
            if page is None:
                raise PageNotInDump(paddr)
            out += page[paddr & 0xFFF:(paddr & 0xFFF) + n]
            paddr += n
            size -= n
        return bytes(out)


def idx(va: int, shift: int) -> int:
    return (va >> shift) & 0x1FF


def map_4k(phys: FakePhys, root: int, va: int, pa: int, tables: list[int], levels: int = 4) -> None:
    """Map one 4 KiB page using the given table pages (one per lower level)."""
    shifts = [48, 39, 30, 21][-(levels - 1):] if levels == 5 else [39, 30, 21]
    table = root
    for shift, nxt in zip(shifts, tables):
        phys.write_u64(table + 8 * idx(va, shift), nxt | 0x63)
        table = nxt
    phys.write_u64(table + 8 * idx(va, 12), pa | 0x63)


def test_4level_4k_page() -> None:
    phys = FakePhys()
    va = 0xFFFFC90000123000
    map_4k(phys, 0x1000, va, 0x777000, [0x2000, 0x3000, 0x4000])
    phys.write(0x777010, b"hello")
    space = PageTableSpace(phys, 0x1000)
    assert space.translate(va + 0x10) == 0x777010
    assert space.read(va + 0x10, 5) == b"hello"
    steps = space.explain(va).steps
    assert [s.what for s in steps] == ["PGD", "PUD", "PMD", "PTE"]


def test_5level_walk() -> None:
    phys = FakePhys()
    va = 0xFF11000000400000
    map_4k(phys, 0x1000, va, 0x999000, [0x2000, 0x3000, 0x4000, 0x5000], levels=5)
    space = PageTableSpace(phys, 0x1000, levels=5)
    assert space.translate(va + 1) == 0x999001


def test_large_pages_mask_pat_bit() -> None:
    phys = FakePhys()
    va2m = 0xFFFFFFFF81200000
    phys.write_u64(0x1000 + 8 * idx(va2m, 39), 0x2000 | 0x63)
    phys.write_u64(0x2000 + 8 * idx(va2m, 30), 0x3000 | 0x63)
    # 2 MiB page with the large-page PAT bit (bit 12) set: it must not leak in
    phys.write_u64(0x3000 + 8 * idx(va2m, 21), 0x40000000 | 0x1000 | 0xE3)
    va1g = 0xFFFF888040000000
    phys.write_u64(0x1000 + 8 * idx(va1g, 39), 0x5000 | 0x63)
    phys.write_u64(0x5000 + 8 * idx(va1g, 30), 0x80000000 | 0xE3)
    space = PageTableSpace(phys, 0x1000)
    assert space.translate(va2m + 0x12345) == 0x40012345
    assert space.translate(va1g + 0x1234567) == 0x81234567


def test_not_present_and_noncanonical_are_typed_errors() -> None:
    phys = FakePhys()
    phys.write_u64(0x1000, 0)
    space = PageTableSpace(phys, 0x1000)
    with pytest.raises(TranslationError, match="not present"):
        space.read(0x0000000000001000, 8)
    with pytest.raises(TranslationError, match="canonical"):
        space.translate(0x0000900000000000)
    # a table page missing from the dump is a translation error, not a crash
    with pytest.raises(TranslationError, match="unreadable"):
        PageTableSpace(phys, 0x9000).translate(0xFFFF888000000000)


def test_sme_mask_is_cleared() -> None:
    phys = FakePhys()
    c_bit = 1 << 47
    va = 0xFFFFC90000000000
    for table, shift, entry in ((0x1000, 39, 0x2000), (0x2000, 30, 0x3000), (0x3000, 21, 0x4000),
                                (0x4000, 12, 0x777000)):
        phys.write_u64(table + 8 * idx(va, shift), entry | c_bit | 0x63)
    space = PageTableSpace(phys, 0x1000, entry_mask=c_bit)
    assert space.translate(va) == 0x777000


def test_linux_fast_paths_and_page_crossing_read() -> None:
    phys = FakePhys()
    phys.write(0x1000FFE, b"abcd")
    space = LinuxKernelSpace(phys, 0x1000, phys_base=0x1000000, page_offset=0xFFFF888000000000)
    assert space.read(START_KERNEL_MAP + 0xFFE, 4) == b"abcd"
    assert space.read(0xFFFF888001000FFE, 4) == b"abcd"
    assert space.explain(START_KERNEL_MAP + 0xFFE).method == "kernel image"
    space.set_page_offset(0xFFFFA1C000000000)
    assert space.translate(0xFFFFA1C000000010) == 0x10


def test_5level_direct_map_never_covers_the_kernel_image() -> None:
    """Debian 6.1 with LA57 before page_offset_base is read: the 5-level direct map's
    4 PiB from the 4-level base reached past __START_KERNEL_map and took the image's
    addresses (page_offset_base itself) for direct-map ones."""
    phys = FakePhys()
    phys.write(0x1a200010, b"image")
    space = LinuxKernelSpace(phys, 0x1000, phys_base=(0x1a200000 - 0x2fc00000) & (2**64 - 1),
                             levels=5)
    assert space.page_offset == 0xFF11000000000000
    kernel_text = START_KERNEL_MAP + 0x2fc00010
    assert space.read(kernel_text, 5) == b"image"
    assert space.explain(kernel_text).method == "kernel image"
    space.set_page_offset(0xFFFF888000000000, 1 << 52)
    assert space.read(kernel_text, 5) == b"image"


def test_mapped_pages_bounded_ranges() -> None:
    """mapped_pages: the mappings that meet [lo, hi), in address order, kernel addresses
    sign-extended, a 2 MiB page met in part, ranges in either half or across the hole."""
    from xcrash.memory.x86_64 import mapped_pages
    phys = FakePhys()
    user, k1, k2 = 0x00007F0000001000, 0xFFFFC90000123000, 0xFFFFC90000125000
    map_4k(phys, 0x1000, user, 0x111000, [0x2000, 0x3000, 0x4000])
    map_4k(phys, 0x1000, k1, 0x222000, [0x5000, 0x6000, 0x7000])
    map_4k(phys, 0x1000, k2, 0x333000, [0x5000, 0x6000, 0x7000])
    big = 0xFFFFFFFF81200000
    phys.write_u64(0x1000 + 8 * idx(big, 39), 0x8000 | 0x63)
    phys.write_u64(0x8000 + 8 * idx(big, 30), 0x9000 | 0x63)
    phys.write_u64(0x9000 + 8 * idx(big, 21), 0x40000000 | 0xE3)
    space = PageTableSpace(phys, 0x1000)
    every = [(user, 0x111000, 4096), (k1, 0x222000, 4096), (k2, 0x333000, 4096),
             (big, 0x40000000, 1 << 21)]
    assert list(mapped_pages(space, 0, 1 << 64)) == every
    assert list(mapped_pages(space)) == every[:1]                  # the user half
    assert list(mapped_pages(space, k1, k2)) == every[1:2]         # hi is exclusive
    assert list(mapped_pages(space, k1 + 1, k2 + 1)) == every[1:3]
    assert list(mapped_pages(space, k1 + 0x1000, k2)) == []
    assert list(mapped_pages(space, big + 0x1000, big + 0x2000)) == every[3:]
    assert list(mapped_pages(space, 1 << 47, 0xFFFFC90000124000)) == every[1:2]  # from the hole
    assert list(mapped_pages(space, user, 0xFFFF900000000000)) == every[:1]      # into the hole
    assert list(mapped_pages(space, 0, 1 << 64, limit=2)) == every[:2]


def test_mapped_pages_on_5level_tables() -> None:
    """Debian 6.1 with LA57: search enumerates a 5-level table's pages (it stopped with
    'page enumeration supports 4-level tables only'), upper-half addresses sign-extended
    from bit 56."""
    from xcrash.memory.x86_64 import mapped_pages
    phys = FakePhys()
    kernel, user = 0xFF11000000400000, 0x00F0000000001000      # user: above 4-level's 2**47
    map_4k(phys, 0x1000, kernel, 0x999000, [0x2000, 0x3000, 0x4000, 0x5000], levels=5)
    map_4k(phys, 0x1000, user, 0x777000, [0x6000, 0x7000, 0x8000, 0x9000], levels=5)
    space = PageTableSpace(phys, 0x1000, levels=5)
    assert list(mapped_pages(space, 0xFF00000000000000, 1 << 64)) == [(kernel, 0x999000, 4096)]
    assert list(mapped_pages(space, 0, 1 << 56)) == [(user, 0x777000, 4096)]
    assert list(mapped_pages(space, kernel + 4096, 1 << 64)) == []
