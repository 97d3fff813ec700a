"""A minimal read-only ELF64 reader over an mmap: header, sections, notes.

Only what the symbol layer needs, parsed from raw bytes (pyelftools' objects
cost more than the whole answer here).  Every malformation is reported as
:class:`~xcrash.errors.BadSymbolFile` with one line saying what is wrong.
"""
from __future__ import annotations

import contextlib
import mmap
import os
import struct
from dataclasses import dataclass
from collections.abc import Iterator

from ..errors import BadSymbolFile, XcrashError

SHT_SYMTAB = 2
SHT_NOTE = 7
SHT_NOBITS = 8

SHF_WRITE = 0x1
SHF_ALLOC = 0x2
SHF_EXECINSTR = 0x4

EM_X86_64 = 62
NT_GNU_BUILD_ID = 3

_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
_SHDR = struct.Struct("<IIQQQQIIQQ")
_NHDR = struct.Struct("<III")


class AddressNotInFile(XcrashError):
    """A link-time address is not inside any allocated section of the file."""

    def __init__(self, path: str, address: int, size: int) -> None:
        super().__init__(f"{path}: {size} bytes at {address:#x} are not in any section")
        self.address = address
        self.size = size


@dataclass(frozen=True)
class Section:
    index: int
    name: str
    type: int
    flags: int
    address: int
    offset: int
    size: int
    link: int
    entsize: int

    @property
    def allocated(self) -> bool:
        return bool(self.flags & SHF_ALLOC)

    @property
    def end(self) -> int:
        return self.address + self.size


class ElfImage:
    """An x86_64 ELF file mapped read-only."""

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            with open(path, "rb") as f:
                st = os.fstat(f.fileno())
                if st.st_size < _EHDR.size:
                    raise BadSymbolFile(path, "too short to be an ELF file")
                self.data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except OSError as e:
            raise BadSymbolFile(path, e.strerror or str(e)) from None
        # Most reads are small and scattered (a DIE, a line program): without
        # this, read-ahead maps most of a 100 MB file into the process.
        if hasattr(mmap, "MADV_RANDOM"):
            self.data.madvise(mmap.MADV_RANDOM)
        self.size = st.st_size
        self.mtime_ns = st.st_mtime_ns
        self.sections = self._read_sections()
        self._by_name: dict[str, Section] = {}
        for s in self.sections:
            self._by_name.setdefault(s.name, s)

    def _read_sections(self) -> list[Section]:
        path, data = self.path, self.data
        (ident, _type, machine, _version, _entry, _phoff, shoff, _flags, _ehsize, _phentsize,
         _phnum, shentsize, shnum, shstrndx) = _EHDR.unpack_from(data, 0)
        if ident[:4] != b"\x7fELF":
            raise BadSymbolFile(path, "not an ELF file")
        if ident[4] != 2 or ident[5] != 1:
            raise BadSymbolFile(path, "not a 64-bit little-endian ELF file")
        if machine != EM_X86_64:
            raise BadSymbolFile(path, f"ELF machine {machine} is not x86_64")
        if shnum == 0 or shentsize < _SHDR.size:
            raise BadSymbolFile(path, "ELF file has no section headers")
        if shoff + shnum * shentsize > self.size:
            raise BadSymbolFile(path, "truncated: section headers lie beyond the end of the file")
        raw = [_SHDR.unpack_from(data, shoff + i * shentsize) for i in range(shnum)]
        if shstrndx >= shnum:
            raise BadSymbolFile(path, "bad section name table index")
        _n, _t, _f, _a, str_off, str_size, *_ = raw[shstrndx]
        if str_off + str_size > self.size:
            raise BadSymbolFile(path, "truncated: section names lie beyond the end of the file")
        names = bytes(data[str_off:str_off + str_size])
        sections = []
        for i, (name_off, stype, flags, addr, off, size, link, _info, _align,
                entsize) in enumerate(raw):
            end = names.find(b"\0", name_off)
            name = names[name_off:end if end >= 0 else len(names)].decode("utf-8", "replace")
            if stype != SHT_NOBITS and off + size > self.size and i != 0:
                raise BadSymbolFile(path, f"truncated: section {name} lies beyond the end "
                                          "of the file")
            sections.append(Section(i, name, stype, flags, addr, off, size, link, entsize))
        return sections

    # -- sections ---------------------------------------------------------
    def section_by_name(self, name: str) -> Section | None:
        return self._by_name.get(name)

    def contents(self, section: Section) -> memoryview:
        """The section's bytes in the file (empty for NOBITS)."""
        if section.type == SHT_NOBITS:
            return memoryview(b"")
        return memoryview(self.data)[section.offset:section.offset + section.size]

    @contextlib.contextmanager
    def reading(self, offset: int, size: int) -> Iterator[None]:
        """Around a sequential read of ``size`` bytes of the file at ``offset``:
        read them ahead, and afterwards unmap their pages from the process
        (they stay in the page cache)."""
        start = offset - offset % mmap.PAGESIZE
        length = min(offset + size, self.size) - start
        usable = hasattr(mmap, "MADV_WILLNEED") and length > 0
        if usable:
            self.data.madvise(mmap.MADV_WILLNEED, start, length)
        try:
            yield
        finally:
            if usable:
                self.data.madvise(mmap.MADV_DONTNEED, start, length)

    # -- notes ------------------------------------------------------------
    def build_id(self) -> str | None:
        """The GNU build-id as hex, from any SHT_NOTE section."""
        for s in self.sections:
            if s.type != SHT_NOTE:
                continue
            note = self.contents(s)
            pos = 0
            while pos + _NHDR.size <= len(note):
                namesz, descsz, ntype = _NHDR.unpack_from(note, pos)
                name_at = pos + _NHDR.size
                desc_at = name_at + ((namesz + 3) & ~3)
                end = desc_at + ((descsz + 3) & ~3)
                if end > len(note):
                    break
                if ntype == NT_GNU_BUILD_ID and bytes(note[name_at:name_at + namesz]) == b"GNU\0":
                    return bytes(note[desc_at:desc_at + descsz]).hex()
                pos = end
        return None

    # -- static data ------------------------------------------------------
    def read_static(self, address: int, size: int) -> bytes:
        """Bytes at a link-time address from an allocated section (zeros for .bss)."""
        for s in self.sections:
            if s.allocated and s.address <= address and address + size <= s.end and s.size:
                if s.type == SHT_NOBITS:
                    return bytes(size)
                start = s.offset + address - s.address
                return bytes(self.data[start:start + size])
        raise AddressNotInFile(self.path, address, size)
