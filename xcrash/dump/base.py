"""What every dump reader offers: physical (or, on Xen, machine) memory plus facts."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from .. import trace
from ..errors import MemoryError_, PageNotInDump
from .notes import (Note, PrStatus, QemuCpuState, XenNotes, find_vmcoreinfo, prstatus_notes,
                    qemu_notes, xen_notes)
from .vmcoreinfo import VmcoreInfo

from ..arch import PAGE_MASK, PAGE_SHIFT, PAGE_SIZE


@dataclass
class DumpHeader:
    """Facts from the container's own header (kdump-compressed only, mostly)."""
    utsname: dict[str, str] = field(default_factory=dict)   # sysname, nodename, release, ...
    timestamp: float | None = None
    dump_level: int | None = None
    nr_cpus: int | None = None
    incomplete: bool = False          # the dump says (or its size shows) data is missing
    compression: str | None = None    # "zlib", "lzo", "snappy", "zstd", None (raw/ELF)
    header_version: int | None = None
    split_parts: int = 1
    phys_base: int | None = None      # kdump sub-header, signed
    wrappers: tuple[str, ...] = ()    # what was unwrapped to reach the dump: "xz", "flattened"


class Dump:
    """Base class of the readers.  Addresses are physical (machine on Xen hosts).

    Subclasses fill :attr:`notes`, :attr:`header`, :attr:`max_pfn` and
    implement :meth:`_page` (one whole page) or override :meth:`_read`, plus
    :meth:`is_readable` and :meth:`ranges`.
    """

    format_name = "?"
    page_size = PAGE_SIZE
    page_shift = PAGE_SHIFT

    def __init__(self, path: str) -> None:
        self.path = path
        self.notes: list[Note] = []
        self.header = DumpHeader()
        self.max_pfn = 0
        self.zero_excluded = False

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.path!r} {self.format_name}>"

    def __enter__(self) -> Dump:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Derived from self.notes, which readers fill once when opening.
    @cached_property
    def prstatus(self) -> list[PrStatus]:
        return prstatus_notes(self.notes)

    @cached_property
    def vmcoreinfo(self) -> VmcoreInfo | None:
        return find_vmcoreinfo(self.notes)

    @cached_property
    def xen(self) -> XenNotes | None:
        return xen_notes(self.notes, self._cstring)

    @cached_property
    def qemu_cpus(self) -> list[QemuCpuState]:
        return qemu_notes(self.notes)

    def read(self, paddr: int, size: int) -> bytes:
        """Read ``size`` bytes of physical memory.

        Raises PageNotInDump / PageExcluded naming the first address that
        failed if any page of the range cannot be read.
        """
        if size < 0:
            raise ValueError(f"negative read size {size}")
        if trace._active is not None:
            trace.record("read", f"phys {paddr:#x} +{size}", dump=self.path)
        if paddr < 0:
            raise PageNotInDump(paddr, "negative physical address")
        if size == 0:
            return b""
        return self._read(paddr, size)

    def _read(self, paddr: int, size: int) -> bytes:
        end = paddr + size
        off = paddr & PAGE_MASK
        if off + size <= PAGE_SIZE:
            return self._page(paddr >> PAGE_SHIFT, paddr)[off:off + size]
        parts = []
        addr = paddr
        while addr < end:
            off = addr & PAGE_MASK
            n = min(end - addr, PAGE_SIZE - off)
            page = self._page(addr >> PAGE_SHIFT, addr)
            parts.append(page[off:off + n] if n < PAGE_SIZE else page)
            addr += n
        return b"".join(parts)

    def _page(self, pfn: int, addr: int) -> bytes:
        """The whole page ``pfn``; errors name ``addr`` (inside that page)."""
        raise NotImplementedError

    def is_readable(self, paddr: int) -> bool:
        """Would a one-byte read at ``paddr`` succeed?  (Never decompresses.)"""
        raise NotImplementedError

    def ranges(self) -> list[tuple[int, int]]:
        """Physical RAM as sorted, merged ``[start, end)`` ranges (excluded pages included)."""
        raise NotImplementedError

    def close(self) -> None:
        pass

    def file_read(self, offset: int, size: int) -> bytes:
        """Bytes of the dump file itself at ``offset`` (crash's ``-f``: a dump file
        offset); MemoryError_ past its end, or for a dump read from several files."""
        mf = getattr(self, "_mf", None)
        if mf is None:
            raise MemoryError_(f"dump file offset {offset:#x}: this dump is not one file",
                               offset)
        if offset < 0 or offset + size > mf.size:
            raise MemoryError_(f"dump file offset {offset:#x}: beyond the end of the file",
                               offset)
        return bytes(mf.map[offset:offset + size])

    def _cstring(self, paddr: int, limit: int = 256) -> str | None:
        """A NUL-terminated string in dump memory (at most ``limit`` bytes), None if unreadable."""
        raw = b""
        while len(raw) < limit:
            addr = paddr + len(raw)
            try:
                chunk = self.read(addr, min(limit - len(raw), PAGE_SIZE - (addr & PAGE_MASK)))
            except PageNotInDump:
                break
            nul = chunk.find(b"\0")
            if nul >= 0:
                return (raw + chunk[:nul]).decode("latin-1")
            raw += chunk
        return raw.decode("latin-1") if raw else None
