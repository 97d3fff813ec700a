"""The Xen hypervisor's virtual memory over machine memory (the dump).

Xen virtual addresses become machine addresses by three rules (xen-dumps.md §5):
the image ``[XEN_VIRT_START, _end)`` is linear at ``xen_phys_start``; the direct
map is ``DIRECTMAP_VIRT_START + ma``, compressed by PDX when
``pfn_pdx_hole_shift`` is set; everything else (frame table, vmap, per-CPU stubs,
M2P) walks Xen's own page table ``idle_pg_table``.  Where the image and the direct
map are is the hypervisor target's to find (``targets/xen/hypervisor.py``).
"""
from __future__ import annotations

from ..arch import PAGE_MASK
from .space import PhysicalReader, Step, Translation
from .x86_64 import PageTableSpace

MASK = 0xFFFFFFFFFFFFFFFF
DIRECTMAP_VIRT_START = 0xFFFF830000000000
#: the direct map of a BIGMEM build (its frame table where the direct map would start)
DIRECTMAP_VIRT_START_BIGMEM = 0xFFFF848000000000
DIRECTMAP_VIRT_END = 0xFFFFFF8000000000


class XenSpace(PageTableSpace):
    """Xen's virtual memory over machine memory."""

    def __init__(self, phys: PhysicalReader, root: int, *, virt_start: int, image_end: int,
                 xen_phys_start: int, directmap_start: int = DIRECTMAP_VIRT_START) -> None:
        super().__init__(phys, root, name="xen")
        self.virt_start = virt_start
        self.image_end = image_end
        self.xen_phys_start = xen_phys_start
        self.directmap_start = directmap_start
        self.directmap_end = DIRECTMAP_VIRT_END
        # PDX compression (pfn_pdx_hole_shift == 0: none)
        self.pdx_hole_shift = 0
        self.ma_va_bottom_mask = MASK
        self.ma_top_mask = 0

    def set_pdx(self, hole_shift: int, bottom_mask: int, top_mask: int) -> None:
        self.pdx_hole_shift = hole_shift
        self.ma_va_bottom_mask = bottom_mask
        self.ma_top_mask = top_mask
        self.forget()

    # -- the two arithmetic rules ----------------------------------------------------
    def directmap_to_machine(self, vaddr: int) -> int:
        off = vaddr - self.directmap_start
        if not self.pdx_hole_shift:
            return off
        return (off & self.ma_va_bottom_mask) | ((off << self.pdx_hole_shift) & self.ma_top_mask)

    def machine_to_directmap(self, maddr: int) -> int:
        """``__maddr_to_virt``: the direct-map address of a machine address."""
        if self.pdx_hole_shift:
            maddr = (maddr & self.ma_va_bottom_mask) | \
                ((maddr & self.ma_top_mask) >> self.pdx_hole_shift)
        return self.directmap_start + maddr

    def _translate_page(self, vaddr: int) -> int:
        if self.virt_start <= vaddr < self.image_end:
            return vaddr - self.virt_start + self.xen_phys_start
        if self.directmap_start <= vaddr < self.directmap_end:
            return self.directmap_to_machine(vaddr)
        return super()._translate_page(vaddr)

    def _arithmetic(self, vaddr: int) -> Translation | None:
        page = vaddr & ~PAGE_MASK
        if self.virt_start <= page < self.image_end:
            method = "xen image"
            machine = page - self.virt_start + self.xen_phys_start
            note = f"{vaddr:#x} - XEN_VIRT_START {self.virt_start:#x} + xen_phys_start " \
                   f"{self.xen_phys_start:#x}"
        elif self.directmap_start <= page < self.directmap_end:
            method = "direct map"
            machine = self.directmap_to_machine(page)
            note = f"{vaddr:#x} - DIRECTMAP_VIRT_START {self.directmap_start:#x}" + \
                (f", PDX hole shift {self.pdx_hole_shift}" if self.pdx_hole_shift else "")
        else:
            return None
        return Translation(vaddr, machine | (vaddr & PAGE_MASK), method,
                           [Step(method, None, None, note)])
