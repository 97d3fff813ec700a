"""What every dump reader offers: physical (or, on Xen, machine) memory plus facts."""
from __future__ import annotations

from dataclasses import dataclass, field

from .notes import Note, PrStatus, QemuCpuState, XenNotes
from .vmcoreinfo import VmcoreInfo


@dataclass
class DumpHeader:
    """Facts from the container's own header (kdump-compressed only, mostly)."""
    utsname: dict[str, str] = field(default_factory=dict)   # sysname, nodename, release, ...
    timestamp: float | None = None
    dump_level: int | None = None
    nr_cpus: int | None = None
    incomplete: bool = False
    compression: str | None = None   # "zlib", "lzo", "snappy", "zstd", None (raw/ELF)
    header_version: int | None = None
    split_parts: int = 1


class Dump:
    """Base class of the readers.  Addresses are physical (machine on Xen hosts).

    Subclasses implement :meth:`_read_page` (one page, whole) and fill
    :attr:`notes`, :attr:`header`, :attr:`max_pfn`.
    """

    format_name = "?"
    page_size = 4096
    page_shift = 12

    def __init__(self, path: str) -> None:
        self.path = path
        self.notes: list[Note] = []
        self.header = DumpHeader()
        self.max_pfn = 0
        self.zero_excluded = False

    # Subclasses fill self.notes; these views are derived from them.
    @property
    def prstatus(self) -> list[PrStatus]:
        from .notes import prstatus_notes
        return prstatus_notes(self.notes)

    @property
    def vmcoreinfo(self) -> VmcoreInfo | None:
        from .notes import find_vmcoreinfo
        return find_vmcoreinfo(self.notes)

    @property
    def xen(self) -> XenNotes | None:
        from .notes import xen_notes
        return xen_notes(self.notes)

    @property
    def qemu_cpus(self) -> list[QemuCpuState]:
        from .notes import qemu_notes
        return qemu_notes(self.notes)

    def read(self, paddr: int, size: int) -> bytes:
        """Read ``size`` bytes of physical memory.

        Raises PageNotInDump / PageExcluded (naming the first address that
        failed) if any page of the range cannot be read.
        """
        raise NotImplementedError

    def close(self) -> None:
        pass
