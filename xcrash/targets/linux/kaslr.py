"""Where the kernel ran when the dump has no VMCOREINFO (damaged note, QEMU dumps
without the vmcoreinfo device): find ``linux_banner`` in physical memory.

The banner's bytes are known from the vmlinux.  Its physical address, with
``phys_base`` (kdump sub-header, or the ELF kernel-text segment), gives its
run-time virtual address through the kernel-image mapping, hence the KASLR
offset — which must be a multiple of 2 MiB (CONFIG_PHYSICAL_ALIGN), a check
that rules out the copies of the banner in the log buffer.
"""
from __future__ import annotations

from typing import Any

from ...arch import START_KERNEL_MAP
from ...errors import XcrashError
from ...memory.search import search_physical

KASLR_ALIGN = 2 << 20
#: bytes of the banner to look for: long enough to be unique
NEEDLE = 48


def kaslr_offset_from_banner(dump: Any, symfile: Any, phys_base: int) -> int | None:
    """The KASLR offset, or None when the banner is not found where it could be (the
    caller says so: the layout's source names what was used instead)."""
    sym = symfile.symbols.get("linux_banner")
    if sym is None:
        return None
    try:
        needle = symfile.read_static(sym.address, NEEDLE)
    except XcrashError:
        # the file lacks the banner's bytes (a debuginfo-only vmlinux): no answer, and
        # the caller says the KASLR offset is unknown
        return None
    for paddr in search_physical(dump, dump.ranges(), needle):
        if (paddr ^ sym.address) & 0xFFF:
            continue
        vaddr = (paddr - phys_base + START_KERNEL_MAP) & 0xFFFFFFFFFFFFFFFF
        offset = (vaddr - sym.address) & 0xFFFFFFFFFFFFFFFF
        if offset >= 1 << 63:
            offset -= 1 << 64
        if offset % KASLR_ALIGN == 0 and 0 <= offset < 1 << 31:
            return offset
    return None
