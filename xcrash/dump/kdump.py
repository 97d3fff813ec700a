"""kdump-compressed ("diskdump", signature ``KDUMP   ``) vmcores, header versions 1–6.

Layout: block 0 the disk_dump_header; from block 1 the kdump_sub_header
(followed by the ELF notes and VMCOREINFO text); then bitmap 1 (RAM) and
bitmap 2 (dumpable); then one 24-byte page descriptor per dumpable page;
then page data.  A page in bitmap 1 but not bitmap 2 was excluded by the
dump level.  One file of a split dump holds the dumpable pages of its own PFN
range only; its descriptors are counted from the start of that range.
"""
from __future__ import annotations

import struct
from collections.abc import Iterator

from .. import trace
from ..errors import BadDump, MemoryError_, PageExcluded, PageNotInDump
from ..arch import PAGE_SHIFT, PAGE_SIZE
from .base import Dump
from .bitmap import Bitmap
from .compression import INCOMPLETE, CorruptPage, decompress, method_name
from .mapped import MappedFile
from .notes import Note, parse_notes
from .pagecache import PageCache

SIGNATURE = b"KDUMP   "
LEGACY_SIGNATURE = b"DISKDUMP"

# disk_dump_header up to nr_cpus (x86_64 layout)
_HEADER = struct.Struct("<8si390s6xqqIiiIIIIIIi")
# kdump_sub_header, all fields up to version 6
_SUB = struct.Struct("<QiiQQqQqQqQQQQ")
_DESC = struct.Struct("<qIIQ")
_PAGE_MASK = PAGE_SIZE - 1
_ZERO_PAGE = bytes(PAGE_SIZE)
#: the most page data :meth:`KdumpDump.pages` reads at once
_SPAN = 8 << 20


def _intersect(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The intersection of two sorted lists of disjoint ``[start, end)`` runs."""
    out: list[tuple[int, int]] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo < hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out
_UTS_FIELDS = ("sysname", "nodename", "release", "version", "machine", "domainname")


class KdumpDump(Dump):
    def __init__(self, path: str, shown: str | None = None) -> None:
        super().__init__(shown or path)
        self._mf = MappedFile(path, self.path)
        self._cache = PageCache()
        self._views: tuple[memoryview, ...] = ()
        self._present: list[tuple[int, int]] | None = None
        #: where the one copy of the zero pages' data is (see _note_zero)
        self._zero_data: set[tuple[int, int, int]] = set()
        try:
            self._parse()
        except BaseException:
            self.close()
            raise

    def _bad(self, problem: str) -> BadDump:
        return BadDump(self.path, problem)

    def _parse(self) -> None:
        mf = self._mf
        (signature, version, uts, tv_sec, tv_usec, status, block_size, sub_hdr_size,
         bitmap_blocks, max_mapnr32, _, _, _, _, nr_cpus) = mf.unpack(_HEADER, 0, "kdump header")
        if signature == LEGACY_SIGNATURE:
            raise self._bad("legacy diskdump format (DISKDUMP) is not supported")
        if signature != SIGNATURE:
            raise self._bad("not a kdump-compressed file")
        if not 1 <= version <= 6:
            raise self._bad(f"unsupported kdump header version {version} (1 to 6 are known)")
        if block_size != PAGE_SIZE:
            raise self._bad(f"block size {block_size} (only 4096-byte pages are supported)")
        if sub_hdr_size < 1 or bitmap_blocks < 1:
            raise self._bad(f"damaged header: sub_hdr_size {sub_hdr_size}, "
                            f"bitmap_blocks {bitmap_blocks}")

        # Fields a version does not have are zero-filled, not read from the file.
        sub_bytes = mf.bytes_at(block_size, 12 if version < 2 else 32 if version < 3 else
                                48 if version < 4 else 64 if version < 5 else
                                80 if version < 6 else _SUB.size, "kdump sub-header")
        (phys_base, dump_level, split, start_pfn, end_pfn, off_vmcoreinfo, size_vmcoreinfo,
         off_note, size_note, _, _, start_pfn64, end_pfn64, max_mapnr64) = _SUB.unpack(
            sub_bytes.ljust(_SUB.size, b"\0"))
        max_mapnr = max_mapnr64 if version >= 6 else max_mapnr32
        if version >= 6:
            start_pfn, end_pfn = start_pfn64, end_pfn64

        bitmap_off = block_size * (1 + sub_hdr_size)
        bitmap_len = block_size * bitmap_blocks
        mf.check(bitmap_off, bitmap_len, "page bitmaps")
        if max_mapnr > bitmap_len * 8:
            raise self._bad(f"damaged header: max_mapnr {max_mapnr} exceeds the bitmap size")
        # Two bitmaps when there is room for two of max_mapnr bits, else one serves both.
        half = bitmap_len // 2
        if (max_mapnr + 7) // 8 <= half:
            ram = mf.view[bitmap_off:bitmap_off + half]
            dumpable = mf.view[bitmap_off + half:bitmap_off + bitmap_len]
        else:
            ram = dumpable = mf.view[bitmap_off:bitmap_off + bitmap_len]
        self._views = (ram, dumpable)
        self._ram = Bitmap(ram, max_mapnr)
        self._dumpable = Bitmap(dumpable, max_mapnr)
        self._data_offset = bitmap_off + bitmap_len

        self.is_split = version >= 2 and split != 0
        if self.is_split:
            if not start_pfn <= end_pfn <= max_mapnr:
                raise self._bad(f"damaged header: split range {start_pfn:#x}-{end_pfn:#x}")
        else:
            start_pfn, end_pfn = 0, max_mapnr
        self.start_pfn, self.end_pfn = start_pfn, end_pfn
        self._first_index = self._dumpable.rank(start_pfn) if start_pfn else 0
        self.max_pfn = max_mapnr

        if version >= 4 and size_note:
            mf.check(off_note, size_note, "ELF note area")
            self.notes = parse_notes(mf.view[off_note:off_note + size_note])
        if version >= 3 and size_vmcoreinfo and not any(n.name == "VMCOREINFO" for n in self.notes):
            text = mf.bytes_at(off_vmcoreinfo, size_vmcoreinfo, "VMCOREINFO")
            self.notes.append(Note("VMCOREINFO", 0, text))

        compression = method_name(status)
        self.format_name = f"kdump-compressed ({compression or 'uncompressed'})"
        h = self.header
        h.utsname = {name: uts[i * 65:(i + 1) * 65].split(b"\0", 1)[0].decode("utf-8", "replace")
                     for i, name in enumerate(_UTS_FIELDS)}
        h.timestamp = tv_sec + tv_usec / 1e6
        h.dump_level = dump_level
        h.nr_cpus = nr_cpus
        h.incomplete = bool(status & INCOMPLETE)
        h.compression = compression
        h.header_version = version
        h.phys_base = phys_base - (1 << 64) if phys_base >> 63 else phys_base

    # ---------------------------------------------------------------- pages

    def _descriptor(self, pfn: int, addr: int) -> tuple[int, int, int] | None:
        """(file offset, size, flags) of a dumpable page; None if excluded."""
        if not self._ram[pfn]:
            raise PageNotInDump(addr, "not RAM in the dump (no such page frame)")
        if not self._dumpable[pfn]:
            return None
        if not self.start_pfn <= pfn < self.end_pfn:
            raise PageNotInDump(addr, "page belongs to another part of the split dump")
        pos = self._data_offset + (self._dumpable.rank(pfn) - self._first_index) * _DESC.size
        if pos + _DESC.size > self._mf.size:
            raise PageNotInDump(addr, "page descriptor beyond the end of the file (incomplete dump)")
        offset, size, flags, _ = _DESC.unpack_from(self._mf.map, pos)
        return offset, size, flags

    def read(self, paddr: int, size: int) -> bytes:
        off = paddr & _PAGE_MASK
        if 0 < size and off + size <= PAGE_SIZE and paddr >= 0 and trace._active is None:
            # the usual read, within one page, maybe cached: straight here
            page = self._cache.get(paddr >> PAGE_SHIFT)
            if page is None:
                page = self._page(paddr >> PAGE_SHIFT, paddr)
            return page[off:off + size]
        return super().read(paddr, size)

    def _read(self, paddr: int, size: int) -> bytes:
        off = paddr & _PAGE_MASK
        if off + size <= PAGE_SIZE:         # the usual read: within one page, maybe cached
            page = self._cache.get(paddr >> PAGE_SHIFT)
            if page is None:
                page = self._page(paddr >> PAGE_SHIFT, paddr)
            return page[off:off + size]
        return super()._read(paddr, size)

    def _page(self, pfn: int, addr: int) -> bytes:
        page = self._cache.get(pfn)
        if page is not None:
            return page
        desc = self._descriptor(pfn, addr)
        if desc is None:
            if self.zero_excluded:
                return _ZERO_PAGE
            raise PageExcluded(addr)
        offset, size, flags = desc
        if offset == 0 and self.zero_excluded:
            return _ZERO_PAGE
        self._check_data(addr, offset, size)
        if (offset, size, flags) in self._zero_data:
            return _ZERO_PAGE
        # read, not sliced from the mapping: pages read once do not stay in the
        # process's resident set (a search reads every page of the dump)
        page = self._decode(addr, self._mf.pread(offset, size), flags)
        self._note_zero((offset, size, flags), page)
        self._cache.put(pfn, page)
        return page

    def _note_zero(self, desc: tuple[int, int, int], page: bytes) -> None:
        """makedumpfile writes the data of a zero page once and points every zero
        page's descriptor at it (dump level without 1): such data is not decoded
        again."""
        if page == _ZERO_PAGE and len(self._zero_data) < 16:
            self._zero_data.add(desc)

    def _check_data(self, addr: int, offset: int, size: int) -> None:
        """Raise what is wrong with a dumpable page's descriptor, if anything."""
        if offset == 0:
            raise PageNotInDump(addr, "page data missing (incomplete dump)")
        if offset < 0 or size == 0 or size > PAGE_SIZE:
            raise PageNotInDump(addr, f"corrupt page descriptor (offset {offset:#x}, size {size})")
        if offset + size > self._mf.size:
            raise PageNotInDump(addr, "page data beyond the end of the file (incomplete dump)")

    @staticmethod
    def _decode(addr: int, data: bytes, flags: int) -> bytes:
        try:
            return decompress(data, flags, PAGE_SIZE)
        except CorruptPage as e:
            raise PageNotInDump(addr, f"corrupt page data: {e}") from None

    # ---------------------------------------------------------------- every page (search)

    def present_runs(self) -> list[tuple[int, int]]:
        """``[start, end)`` runs of the page frames whose data this file holds (RAM,
        dumpable, in this part's range), in order."""
        if self._present is None:
            ram = [(max(a, self.start_pfn), min(b, self.end_pfn)) for a, b in self._ram.runs()
                   if a < self.end_pfn and b > self.start_pfn]
            self._present = _intersect(ram, self._dumpable.runs())
        return self._present

    def pages(self, start: int, end: int) -> Iterator[tuple[int, bytes | MemoryError_ | int]]:
        """(PFN, its page or the error reading it raises) of every frame of ``[start,
        end)``, a piece of one of :meth:`present_runs`: the descriptors read together,
        the page data of the piece with one read where it lies together, nothing
        cached (each page is read once).  A run of pages that all point at the zero
        page's data comes as (first PFN, how many) instead."""
        first = self._data_offset + (self._dumpable.rank(start) - self._first_index) * _DESC.size
        count = end - start
        if first + count * _DESC.size > self._mf.size:      # incomplete: page by page
            for pfn in range(start, end):
                try:
                    yield pfn, self._page(pfn, pfn << PAGE_SHIFT)
                except MemoryError_ as err:
                    yield pfn, err
            return
        descs = list(_DESC.iter_unpack(self._mf.map[first:first + count * _DESC.size]))
        zero = self._zero_data
        good = [(o, o + n) for o, n, f, _ in descs
                if 0 < o and 0 < n <= PAGE_SIZE and (o, n, f) not in zero]
        lo = min((a for a, _ in good), default=0)
        hi = max((b for _, b in good), default=0)
        blob = b""
        if good and hi <= self._mf.size and hi - lo <= _SPAN:
            blob = self._mf.pread(lo, hi - lo)
        zeros = 0           # zero pages met, not said yet
        for i, (offset, size, flags, _) in enumerate(descs):
            pfn = start + i
            addr = pfn << PAGE_SHIFT
            if (offset, size, flags) in zero and 0 < size <= PAGE_SIZE:
                zeros += 1
                continue
            if zeros:
                yield pfn - zeros, zeros
                zeros = 0
            try:
                self._check_data(addr, offset, size)
                data = (blob[offset - lo:offset - lo + size] if blob and lo <= offset < hi
                        else self._mf.pread(offset, size))
                page = self._decode(addr, data, flags)
            except MemoryError_ as err:
                yield pfn, err
                continue
            self._note_zero((offset, size, flags), page)
            yield pfn, page
        if zeros:
            yield end - zeros, zeros

    def is_readable(self, paddr: int) -> bool:
        pfn = paddr >> PAGE_SHIFT
        try:
            desc = self._descriptor(pfn, paddr)
        except PageNotInDump:
            return False    # the answer asked for
        if desc is None:
            return self.zero_excluded
        offset, size, _ = desc
        if offset == 0:
            return self.zero_excluded
        return 0 < size <= PAGE_SIZE and offset + size <= self._mf.size

    def ranges(self) -> list[tuple[int, int]]:
        return [(start << PAGE_SHIFT, end << PAGE_SHIFT) for start, end in self._ram.runs()]

    def close(self) -> None:
        self._cache.clear()
        # The bitmaps are views of the mapping; drop them before unmapping.
        self._ram = self._dumpable = Bitmap(b"", 0)
        for view in self._views:
            view.release()
        self._mf.close()
