"""The kernel virtual address space of an x86_64 Linux kernel.

Two regions translate by arithmetic — the kernel image mapping
(``__START_KERNEL_map`` + ``phys_base``) and the direct map
(``page_offset_base``) — everything else (vmalloc, VMAP stacks, vmemmap,
per-CPU chunks, modules, cpu_entry_area) walks the kernel page tables.
"""
from __future__ import annotations

import struct

from .. import trace
from ..arch import PAGE_MASK, PAGE_SIZE, START_KERNEL_MAP
from .space import PhysicalReader, Step, Translation
from .x86_64 import PageTableSpace

DEFAULT_PAGE_OFFSET = 0xFFFF888000000000
DEFAULT_PAGE_OFFSET_5LEVEL = 0xFF11000000000000
DIRECT_MAP_SIZE_4LEVEL = 1 << 46      # 64 TiB
DIRECT_MAP_SIZE_5LEVEL = 1 << 52      # 4 PiB
DEFAULT_KERNEL_IMAGE_SIZE = 1 << 30   # with RANDOMIZE_BASE
_MASK = 0xFFFFFFFFFFFFFFFF
_U64 = struct.Struct("<Q")


def _direct_map_end(page_offset: int, size: int) -> int:
    """Where the direct map ends: its size from ``page_offset``, never past the kernel
    image mapping (a 5-level direct map's 4 PiB from the 4-level base would cover it)."""
    return min(page_offset + size, START_KERNEL_MAP)


class LinuxKernelSpace(PageTableSpace):
    """Kernel virtual memory of a bare-metal (or HVM) x86_64 Linux kernel."""

    def __init__(self, phys: PhysicalReader, pgd_paddr: int, *, phys_base: int,
                 page_offset: int | None = None, levels: int = 4,
                 kernel_image_size: int = DEFAULT_KERNEL_IMAGE_SIZE, sme_mask: int = 0,
                 name: str = "kernel") -> None:
        super().__init__(phys, pgd_paddr, levels=levels, entry_mask=sme_mask, name=name)
        self.phys_base = phys_base
        if page_offset is None:
            page_offset = DEFAULT_PAGE_OFFSET_5LEVEL if levels == 5 else DEFAULT_PAGE_OFFSET
        self.page_offset = page_offset
        self.image_end = START_KERNEL_MAP + kernel_image_size
        self.direct_map_end = _direct_map_end(page_offset, DIRECT_MAP_SIZE_5LEVEL if levels == 5
                                              else DIRECT_MAP_SIZE_4LEVEL)
        #: this class's own translation (a subclass may translate otherwise: Xen PV)
        self._arithmetic_reads = type(self)._translate_page is LinuxKernelSpace._translate_page

    def set_page_offset(self, page_offset: int, size: int | None = None) -> None:
        """Adopt the direct-map base read from the kernel (``page_offset_base``).

        With CONFIG_RANDOMIZE_MEMORY the vmalloc area may follow the direct map
        closely, so callers pass the real ``size`` (RAM actually mapped) when
        they know it; addresses past it are walked, not computed.
        """
        if size is None:
            size = self.direct_map_end - self.page_offset
        self.page_offset = page_offset
        self.direct_map_end = _direct_map_end(page_offset, size)
        self.forget()

    def kernel_physical(self, vaddr: int) -> int | None:
        """The (pseudo-)physical address of a kernel-image or direct-map address,
        computed; None for the addresses only the page tables know."""
        if START_KERNEL_MAP <= vaddr < self.image_end:
            return (vaddr - START_KERNEL_MAP + self.phys_base) & 0xFFFFFFFFFFFFFFFF
        if self.page_offset <= vaddr < self.direct_map_end:
            return vaddr - self.page_offset
        return None

    def _translate_page(self, vaddr: int) -> int:
        paddr = self.kernel_physical(vaddr)
        return paddr if paddr is not None else super()._translate_page(vaddr)

    def read(self, vaddr: int, size: int) -> bytes:
        # the usual read (within a page of the direct map or the kernel image, nothing
        # traced) computed here: kernel objects are read member by member
        offset = vaddr & PAGE_MASK
        if trace._active is None and offset + size <= PAGE_SIZE and self._arithmetic_reads:
            if self.page_offset <= vaddr < self.direct_map_end:
                return self.phys.read(vaddr - self.page_offset, size)
            if START_KERNEL_MAP <= vaddr < self.image_end:
                page = (vaddr - offset - START_KERNEL_MAP + self.phys_base) & _MASK
                return self.phys.read(page | offset, size)
        return super().read(vaddr, size)

    def read_u64(self, addr: int) -> int:
        # a pointer of the direct map (list and tree walks chase thousands)
        if self.page_offset <= addr < self.direct_map_end and addr & 0xFFF <= 0xFF8 \
                and trace._active is None and self._arithmetic_reads:
            return int(_U64.unpack(self.phys.read(addr - self.page_offset, 8))[0])
        return int(_U64.unpack(self.read(addr, 8))[0])

    def _arithmetic(self, vaddr: int) -> Translation | None:
        page = self.kernel_physical(vaddr & ~PAGE_MASK)
        if page is None:
            return None
        if vaddr >= START_KERNEL_MAP:
            method = "kernel image"
            note = f"{vaddr:#x} - {START_KERNEL_MAP:#x} + phys_base {self.phys_base:#x}"
        else:
            method = "direct map"
            note = f"{vaddr:#x} - {self.page_offset:#x}"
        return Translation(vaddr, page | (vaddr & PAGE_MASK), method,
                           [Step(method, None, None, note)])
