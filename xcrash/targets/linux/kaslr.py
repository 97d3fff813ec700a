"""Where the kernel ran when the dump has no VMCOREINFO (damaged note, QEMU dumps
without the vmcoreinfo device): find ``linux_banner`` in physical memory.

The banner's bytes are known from the vmlinux; where they lie in physical memory
is searched for.  With KASLR the kernel's physical and virtual places are chosen
apart, so that address alone does not give the virtual offset.  But the kernel
image is one physically contiguous block: its own top page table
(``init_top_pgt``) lies as far from the banner in physical memory as in the
vmlinux, and of the 2 MiB-aligned offsets it could run at (CONFIG_PHYSICAL_ALIGN),
the KASLR offset is the one those tables map to the banner's page
(:func:`image_from_memory`); ``phys_base`` follows.  Where the tables cannot be
used, the dump's own ``phys_base`` (kdump sub-header, ELF kernel-text segment)
turns the banner's physical address into its virtual one
(:func:`kaslr_offset_from_banner`).
"""
from __future__ import annotations

from typing import Any

from ...arch import START_KERNEL_MAP
from ...errors import MemoryError_, XcrashError
from ...memory.search import search_physical
from ...memory.x86_64 import PageTableSpace

KASLR_ALIGN = 2 << 20
#: bytes of the banner to look for: long enough to be unique
NEEDLE = 48
#: the kernel image's virtual span: KASLR offsets lie below it
IMAGE_SPAN = 1 << 30
#: the names of the kernel's top page table over the years
TOP_TABLES = ("init_top_pgt", "init_level4_pgt", "swapper_pg_dir")


def _banner_copies(dump: Any, symfile: Any) -> tuple[int, list[int]] | None:
    """(linux_banner's link-time address, the physical addresses of its copies at the
    same offset in a page), or None when the file cannot tell the banner's bytes."""
    sym = symfile.symbols.get("linux_banner")
    if sym is None:
        return None
    try:
        needle = symfile.read_static(sym.address, NEEDLE)
    except XcrashError:
        # the file lacks the banner's bytes (a debuginfo-only vmlinux): no answer, and
        # the caller says the KASLR offset is unknown
        return None
    return sym.address, [paddr for paddr in search_physical(dump, dump.ranges(), needle)
                         if not (paddr ^ sym.address) & 0xFFF]


def image_from_memory(dump: Any, symfile: Any) -> tuple[int, int, int] | None:
    """(KASLR offset, phys_base, paging levels) from memory alone, or None: the banner's
    copy whose image's own page tables map the banner's virtual address to it."""
    found = _banner_copies(dump, symfile)
    table = next((t for t in (symfile.symbols.get(n) for n in TOP_TABLES) if t is not None),
                 None)
    if found is None or table is None:
        return None
    banner, copies = found
    for paddr in copies:
        root = paddr + table.address - banner
        for levels in (4, 5):
            space = PageTableSpace(dump, root, levels=levels)
            for kaslr in range(0, IMAGE_SPAN, KASLR_ALIGN):
                try:
                    if space.translate(banner + kaslr) == paddr:
                        return kaslr, paddr - (banner + kaslr - START_KERNEL_MAP), levels
                except MemoryError_:
                    continue        # not mapped there: not this offset
    return None


def kaslr_offset_from_banner(dump: Any, symfile: Any, phys_base: int) -> int | None:
    """The KASLR offset, given ``phys_base``, or None when the banner is not found
    where it could be (the caller says so: the layout's source names what was used
    instead)."""
    found = _banner_copies(dump, symfile)
    if found is None:
        return None
    banner, copies = found
    for paddr in copies:
        vaddr = (paddr - phys_base + START_KERNEL_MAP) & 0xFFFFFFFFFFFFFFFF
        offset = (vaddr - banner) & 0xFFFFFFFFFFFFFFFF
        if offset >= 1 << 63:
            offset -= 1 << 64
        if offset % KASLR_ALIGN == 0 and 0 <= offset < 1 << 31:
            return offset
    return None
