"""Xen PV guests: the guest's pseudo-physical memory and its kernel space.

A PV guest's page tables hold *machine* frames, so its virtual addresses are
translated by walking them in machine memory (address-translation.md §4.1).
Its pseudo-physical ("guest-physical") addresses go through the guest's own
p2m, published for tools as a 3-level tree of MFNs, the frame-list-list
(§4.4): dom0's root is in Xen's crash note, a domU's in its
``shared_info->arch.pfn_to_mfn_frame_list_list``.

:class:`P2m` reads that tree; it is a *physical reader* (``read(gpaddr, n)``)
for guest-physical addresses, so a ``PhysicalSpace`` over it is the guest's
physical view.  :class:`PvKernelSpace` is a Linux kernel space whose fast
paths (kernel image, direct map) give pseudo-physical addresses turned into
machine addresses by the p2m, and whose other addresses walk the guest's
page tables in machine memory: every address it returns is a machine address.
"""
from __future__ import annotations

import struct
from collections.abc import Iterator

from ..errors import MemoryError_, TranslationError
from ..arch import PAGE_MASK, PAGE_SHIFT, PAGE_SIZE, START_KERNEL_MAP
from .linux import LinuxKernelSpace
from .space import PhysicalReader, Step, Translation

INVALID_P2M_ENTRY = 0xFFFFFFFFFFFFFFFF
FOREIGN_FRAME_BIT = 1 << 63
IDENTITY_FRAME_BIT = 1 << 62
#: MFNs per p2m page (x86_64)
PER_PAGE = 512
#: the tree covers 512**3 PFNs
MAX_PFN = PER_PAGE ** 3
_PAGE_U64 = struct.Struct(f"<{PER_PAGE}Q")


class P2mUnavailable(MemoryError_):
    """A guest's p2m cannot be read at all (no frame-list-list)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, 0)


class P2m:
    """A PV guest's pseudo-physical → machine map, read from its frame-list-list.

    ``machine`` reads machine memory (the dump).  Leaf pages are read once and
    kept; ``max_pfn`` (``shared_info->arch.max_pfn``) bounds lookups when known.
    """

    def __init__(self, machine: PhysicalReader, fll_mfn: int, *, max_pfn: int | None = None,
                 name: str = "p2m") -> None:
        if not fll_mfn or fll_mfn == INVALID_P2M_ENTRY:
            raise P2mUnavailable(f"{name}: no frame-list-list (pfn_to_mfn_frame_list_list "
                                 f"{fll_mfn:#x})")
        self.machine = machine
        self.fll_mfn = fll_mfn
        self.max_pfn = max_pfn if max_pfn else MAX_PFN
        self.name = name
        self._pages: dict[int, tuple[int, ...] | None] = {}

    def _page(self, mfn: int) -> tuple[int, ...] | None:
        if mfn in self._pages:
            return self._pages[mfn]
        try:
            page = _PAGE_U64.unpack(self.machine.read(mfn << PAGE_SHIFT, PAGE_SIZE))
        except MemoryError_:
            page = None     # kept as absent: mfn() then says the p2m lacks the frame
        self._pages[mfn] = page
        return page

    def leaf(self, pfn: int) -> tuple[int, ...] | None:
        """The p2m page holding ``pfn``'s entry (512 raw entries), or None."""
        top = self._page(self.fll_mfn)
        if top is None:
            return None
        mid_mfn = top[(pfn >> 18) & 0x1FF]
        if not mid_mfn or mid_mfn == INVALID_P2M_ENTRY:
            return None
        mid = self._page(mid_mfn & ~(FOREIGN_FRAME_BIT | IDENTITY_FRAME_BIT))
        if mid is None:
            return None
        leaf_mfn = mid[(pfn >> 9) & 0x1FF]
        if not leaf_mfn or leaf_mfn == INVALID_P2M_ENTRY:
            return None
        return self._page(leaf_mfn & ~(FOREIGN_FRAME_BIT | IDENTITY_FRAME_BIT))

    def mfn(self, pfn: int) -> int | None:
        """The machine frame of a guest frame, None when it has none."""
        if not 0 <= pfn < self.max_pfn:
            return None
        leaf = self.leaf(pfn)
        if leaf is None:
            return None
        entry = leaf[pfn & 0x1FF]
        if entry == INVALID_P2M_ENTRY or entry & IDENTITY_FRAME_BIT:
            return None
        return entry & ~(FOREIGN_FRAME_BIT | IDENTITY_FRAME_BIT)

    def machine_address(self, gpaddr: int) -> int:
        mfn = self.mfn(gpaddr >> PAGE_SHIFT)
        if mfn is None:
            raise TranslationError(gpaddr, f"{self.name}: guest frame {gpaddr >> PAGE_SHIFT:#x} "
                                   "has no machine frame")
        return (mfn << PAGE_SHIFT) | (gpaddr & PAGE_MASK)

    # -- a physical reader over guest-physical addresses -------------------------------
    def read(self, gpaddr: int, size: int) -> bytes:
        offset = gpaddr & PAGE_MASK
        if offset + size <= PAGE_SIZE:
            return self.machine.read(self.machine_address(gpaddr), size)
        chunks = []
        while size > 0:
            n = min(size, PAGE_SIZE - (gpaddr & PAGE_MASK))
            chunks.append(self.machine.read(self.machine_address(gpaddr), n))
            gpaddr += n
            size -= n
        return b"".join(chunks)

    def frames(self) -> Iterator[tuple[int, int]]:
        """(pfn, mfn) of every guest frame that has a machine frame, in PFN order."""
        top = self._page(self.fll_mfn)
        if top is None:
            return
        seen_leaf: set[int] = set()
        for t, mid_mfn in enumerate(top):
            if t << 18 >= self.max_pfn:
                return
            if not mid_mfn or mid_mfn == INVALID_P2M_ENTRY:
                continue
            mid = self._page(mid_mfn & ~(FOREIGN_FRAME_BIT | IDENTITY_FRAME_BIT))
            if mid is None:
                continue
            for m, leaf_mfn in enumerate(mid):
                base = (t << 18) | (m << 9)
                if base >= self.max_pfn:
                    return
                if not leaf_mfn or leaf_mfn == INVALID_P2M_ENTRY:
                    continue
                leaf = self._page(leaf_mfn & ~(FOREIGN_FRAME_BIT | IDENTITY_FRAME_BIT))
                if leaf is None:
                    continue
                # the shared "missing" leaf (all ~0) recurs: skip it quickly
                if leaf_mfn in seen_leaf and leaf[0] == INVALID_P2M_ENTRY:
                    continue
                seen_leaf.add(leaf_mfn)
                for i, e in enumerate(leaf):
                    if e == INVALID_P2M_ENTRY or e & IDENTITY_FRAME_BIT:
                        continue
                    pfn = base | i
                    if pfn >= self.max_pfn:
                        return
                    yield pfn, e & ~(FOREIGN_FRAME_BIT | IDENTITY_FRAME_BIT)

    def ranges(self) -> list[tuple[int, int]]:
        """Guest-physical [start, end) ranges that have machine frames."""
        out: list[tuple[int, int]] = []
        for pfn, _mfn in self.frames():
            lo = pfn << PAGE_SHIFT
            if out and out[-1][1] == lo:
                out[-1] = (out[-1][0], lo + PAGE_SIZE)
            else:
                out.append((lo, lo + PAGE_SIZE))
        return out

    def page_count(self) -> int:
        return sum(1 for _ in self.frames())


class PvKernelSpace(LinuxKernelSpace):
    """Kernel virtual memory of a Xen PV Linux guest, over machine memory.

    ``root`` is the machine address of the guest's L4 (``guest_table`` MFN << 12).
    """

    def __init__(self, machine: PhysicalReader, root: int, p2m: P2m, *, phys_base: int = 0,
                 levels: int = 4, kernel_image_size: int = 1 << 30, name: str = "kernel") -> None:
        super().__init__(machine, root, phys_base=phys_base, levels=levels,
                         kernel_image_size=kernel_image_size, name=name)
        self.p2m = p2m

    def _translate_page(self, vaddr: int) -> int:
        pa = self.kernel_physical(vaddr)       # pseudo-physical here
        if pa is not None:
            mfn = self.p2m.mfn(pa >> PAGE_SHIFT)
            if mfn is not None:
                return mfn << PAGE_SHIFT
            if not self.root:
                raise TranslationError(vaddr, f"{self.p2m.name}: guest frame "
                                       f"{pa >> PAGE_SHIFT:#x} has no machine frame (or its p2m "
                                       "page is not in the dump)")
        # not in the p2m (or not arithmetic): the guest's page tables decide
        return super(LinuxKernelSpace, self)._translate_page(vaddr)

    def _arithmetic(self, vaddr: int) -> Translation | None:
        pa = self.kernel_physical(vaddr & ~PAGE_MASK)
        mfn = self.p2m.mfn(pa >> PAGE_SHIFT) if pa is not None else None
        if pa is None or mfn is None:
            return None
        method = "kernel image" if vaddr >= START_KERNEL_MAP else "direct map"
        return Translation(vaddr, (mfn << PAGE_SHIFT) | (vaddr & PAGE_MASK), method + " + p2m",
                           [Step(method, None, None, f"pseudo-physical {pa:#x}"),
                            Step("p2m", None, mfn, f"pfn {pa >> PAGE_SHIFT:#x} -> mfn {mfn:#x}")])
