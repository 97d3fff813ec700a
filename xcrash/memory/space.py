"""Address spaces: something that turns an address into bytes of a dump.

Every space offers :meth:`AddressSpace.read` and :meth:`AddressSpace.translate`;
subclasses implement only :meth:`_translate_page` (one page's physical frame)
and, for ``vtop``, :meth:`explain`.  Physical reads go to a *physical reader*
(anything with ``read(paddr, size)``: a dump, or a Xen guest's p2m view).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Protocol

from .. import trace
from ..arch import PAGE_MASK, PAGE_SIZE
from ..errors import MemoryError_


_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")


class PhysicalReader(Protocol):
    def read(self, paddr: int, size: int) -> bytes: ...


@dataclass
class Step:
    """One step of a translation, for ``vtop`` and explain mode."""
    what: str            # "PGD", "PUD", "PMD", "PTE", "direct map", "kernel image", "p2m", ...
    address: int | None  # where the entry was read (physical/machine), if any
    value: int | None    # the entry read, if any
    note: str = ""


@dataclass
class Translation:
    vaddr: int
    paddr: int | None
    method: str                       # "page table", "direct map", "kernel image", "identity"
    steps: list[Step] = field(default_factory=list)
    error: str | None = None


class AddressSpace:
    """Base class: reading through a per-page translation."""

    name = "?"
    #: physical memory underneath (the dump, or a machine-memory view)
    phys: PhysicalReader

    def _translate_page(self, vaddr: int) -> int:
        """Physical address of the page holding ``vaddr`` (page aligned).

        Raises TranslationError when unmapped.
        """
        raise NotImplementedError

    def translate(self, vaddr: int) -> int:
        return self._translate_page(vaddr & ~PAGE_MASK) | (vaddr & PAGE_MASK)

    def explain(self, vaddr: int) -> Translation:
        try:
            return Translation(vaddr, self.translate(vaddr), "?")
        except MemoryError_ as err:
            return Translation(vaddr, None, "?", error=str(err))

    def read(self, vaddr: int, size: int) -> bytes:
        if trace._active is not None:
            trace.record("read", f"{self.name} {vaddr:#x} +{size}", space=self.name,
                         address=vaddr, size=size)
            tr = self.explain(vaddr)
            trace.record("translate", f"{vaddr:#x} -> "
                         + (f"{tr.paddr:#x}" if tr.paddr is not None else "unmapped")
                         + f" ({tr.method})", space=self.name, method=tr.method, address=vaddr,
                         steps=[(s.what, s.address, s.value) for s in tr.steps])
        vaddr &= 0xFFFFFFFFFFFFFFFF
        offset = vaddr & PAGE_MASK
        if offset + size <= PAGE_SIZE:
            return self.phys.read(self._translate_page(vaddr - offset) | offset, size)
        chunks = []
        while size > 0:
            offset = vaddr & PAGE_MASK
            n = min(size, PAGE_SIZE - offset)
            chunks.append(self.phys.read(self._translate_page(vaddr - offset) | offset, n))
            vaddr += n
            size -= n
        return b"".join(chunks)

    # -- typed helpers ------------------------------------------------------
    def read_u8(self, addr: int) -> int:
        return self.read(addr, 1)[0]

    def read_u16(self, addr: int) -> int:
        return int(_U16.unpack(self.read(addr, 2))[0])

    def read_u32(self, addr: int) -> int:
        return int(_U32.unpack(self.read(addr, 4))[0])

    def read_u64(self, addr: int) -> int:
        return int(_U64.unpack(self.read(addr, 8))[0])

    read_pointer = read_u64

    def read_int(self, addr: int, size: int, signed: bool = False) -> int:
        return int.from_bytes(self.read(addr, size), "little", signed=signed)

    def read_cstring(self, addr: int, limit: int = 4096) -> bytes:
        """Bytes up to (not including) the first NUL, at most ``limit`` bytes.

        Reads page by page so that a string ending before an unreadable page
        still reads.
        """
        out = bytearray()
        while len(out) < limit:
            n = min(limit - len(out), PAGE_SIZE - (addr & PAGE_MASK))
            chunk = self.read(addr, n)
            nul = chunk.find(b"\0")
            if nul >= 0:
                out += chunk[:nul]
                break
            out += chunk
            addr += n
        return bytes(out)

    def is_readable(self, addr: int, size: int = 1) -> bool:
        try:
            self.read(addr, size)
            return True
        except MemoryError_:
            return False    # the answer asked for


class PhysicalSpace(AddressSpace):
    """Physical (or machine) memory as an address space: the identity map."""

    name = "physical"

    def __init__(self, phys: PhysicalReader, name: str = "physical") -> None:
        self.phys = phys
        self.name = name

    def _translate_page(self, vaddr: int) -> int:
        return vaddr

    def read(self, vaddr: int, size: int) -> bytes:
        if trace._active is not None:
            trace.record("read", f"{self.name} {vaddr:#x} +{size}", space=self.name,
                         address=vaddr, size=size)
        return self.phys.read(vaddr, size)

    def explain(self, vaddr: int) -> Translation:
        return Translation(vaddr, vaddr, "identity")
