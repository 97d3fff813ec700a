"""A kernel module's object file (``.ko``) linked where the module was loaded.

A ``.ko`` is a relocatable ELF file: its sections start at 0, and its DWARF
names code and data through relocations against section symbols
(``.rela.debug_info`` and friends).  To read it as any other symbol file, a
copy is made once in the cache (``cache.derived_file``, keyed by the file and
the load addresses) with every allocated section given the address the kernel
loaded it at, every defined symbol moved with its section, and the DWARF
sections' relocations applied.  The copy is then an ordinary
:class:`~xcrash.symbols.symbolfile.SymbolFile` whose link-time addresses are
the run-time ones: types, variables and line tables work unchanged.
"""
from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Iterator, Mapping
from typing import BinaryIO

from ..cache import decompressed_path, derived_file
from ..errors import BadSymbolFile, FileError
from .elffile import SHT_NOBITS, SHT_SYMTAB, ElfImage, Section
from .symbolfile import SymbolFile

SHT_RELA = 4
ET_REL = 1
_SYM = struct.Struct("<IBBHQQ")
_RELA = struct.Struct("<QQq")
_SHDR = struct.Struct("<IIQQQQIIQQ")
SHN_LORESERVE = 0xFF00
# x86-64 relocation types found in DWARF sections
R_X86_64_64, R_X86_64_PC32, R_X86_64_32, R_X86_64_32S, R_X86_64_PC64 = 1, 2, 10, 11, 24


def is_relocatable(path: str) -> bool:
    """Whether ``path`` is an ELF relocatable object (a ``.ko``), by its header."""
    try:
        with open(path, "rb") as f:
            head = f.read(18)
    except OSError:
        return False        # unreadable: no object file (the caller says what it is not)
    return len(head) == 18 and head[:4] == b"\x7fELF" and \
        int.from_bytes(head[16:18], "little") == ET_REL


def module_symbol_file(path: str, sections: Mapping[str, int]) -> SymbolFile:
    """``path`` (a ``.ko``, ``.xz`` accepted) linked at ``sections`` (name -> load
    address of each allocated section the kernel kept); BadSymbolFile if it is not
    a relocatable x86-64 ELF file."""
    if not os.path.isfile(path):
        raise BadSymbolFile(path, "not a regular file" if os.path.exists(path) else "no such file")
    elf_path = path
    if path.endswith(".xz"):
        try:
            elf_path = decompressed_path(path)
        except (FileError, OSError) as e:
            raise BadSymbolFile(path, f"cannot decompress: {e}") from None
    if not is_relocatable(elf_path):
        raise BadSymbolFile(path, "not a relocatable ELF object (a module's .ko)")
    digest = hashlib.sha256(repr(sorted(sections.items())).encode()).hexdigest()[:16]
    try:
        linked = derived_file(elf_path, f"linked-{digest}",
                              lambda out: _link(elf_path, sections, out))
    except OSError as e:
        raise BadSymbolFile(path, f"cannot write its linked copy into the cache: {e}") from None
    symfile = SymbolFile(path, str(linked))
    # a module's .BTF is split BTF over the vmlinux's (modbtf.py reads it from memory)
    symfile.has_btf = False
    return symfile


def _link(path: str, sections: Mapping[str, int], out: BinaryIO) -> None:
    elf = ElfImage(path)
    data = bytearray(elf.data)
    base = [sections.get(s.name, 0) if s.allocated else 0 for s in elf.sections]
    symtab = next((s for s in elf.sections if s.type == SHT_SYMTAB), None)
    if symtab is None:
        raise BadSymbolFile(path, "no symbol table (.symtab): the module was stripped")
    # the symbols' values where the sections were loaded (before patching: relocations
    # read them)
    values = []
    for i, (name, info, other, shndx, value, size) in enumerate(
            _SYM.iter_unpack(bytes(elf.contents(symtab))[:symtab.size // _SYM.size * _SYM.size])):
        moved = value + base[shndx] if 0 < shndx < min(len(base), SHN_LORESERVE) else value
        values.append(moved)
        _SYM.pack_into(data, symtab.offset + i * _SYM.size, name, info, other, shndx,
                       moved & 0xFFFFFFFFFFFFFFFF, size)
    for rela in elf.sections:
        if rela.type != SHT_RELA or rela.link != symtab.index or rela.entsize != _RELA.size:
            continue
        applies_to = _info(elf, rela)
        target = elf.sections[applies_to] if applies_to < len(elf.sections) else None
        if target is None or target.allocated or target.type == SHT_NOBITS:
            continue            # code and data relocations: the kernel applied them
        _apply(data, elf, rela, target, values)
    # allocated sections at their load addresses
    shoff, shentsize = _section_table(elf)
    for s in elf.sections:
        if s.allocated and s.name in sections:
            at = shoff + s.index * shentsize
            fields = list(_SHDR.unpack_from(data, at))
            fields[3] = sections[s.name]
            _SHDR.pack_into(data, at, *fields)
    out.write(data)


def _info(elf: ElfImage, rela: Section) -> int:
    """sh_info of a relocation section: the section it applies to."""
    shoff, shentsize = _section_table(elf)
    return int(_SHDR.unpack_from(elf.data, shoff + rela.index * shentsize)[7])


def _section_table(elf: ElfImage) -> tuple[int, int]:
    shoff, = struct.unpack_from("<Q", elf.data, 0x28)
    shentsize, = struct.unpack_from("<H", elf.data, 0x3A)
    return int(shoff), int(shentsize)


def _apply(data: bytearray, elf: ElfImage, rela: Section, target: Section,
           values: list[int]) -> None:
    raw = bytes(elf.contents(rela))
    for r_offset, r_info, addend in _RELA.iter_unpack(raw[:len(raw) // _RELA.size * _RELA.size]):
        kind, sym = r_info & 0xFFFFFFFF, r_info >> 32
        if sym >= len(values) or r_offset >= target.size:
            continue            # a damaged entry: that word keeps its unrelocated value
        value = values[sym] + addend
        at = target.offset + r_offset
        if kind == R_X86_64_64 and r_offset + 8 <= target.size:
            struct.pack_into("<Q", data, at, value & 0xFFFFFFFFFFFFFFFF)
        elif kind in (R_X86_64_32, R_X86_64_32S) and r_offset + 4 <= target.size:
            struct.pack_into("<I", data, at, value & 0xFFFFFFFF)
        elif kind == R_X86_64_PC32 and r_offset + 4 <= target.size:
            struct.pack_into("<I", data, at, (value - r_offset) & 0xFFFFFFFF)
        elif kind == R_X86_64_PC64 and r_offset + 8 <= target.size:
            struct.pack_into("<Q", data, at, (value - r_offset) & 0xFFFFFFFFFFFFFFFF)


def section_symbols(elf: ElfImage) -> Iterator[tuple[str, str, int]]:
    """(name, section name, offset in the section) of the file's functions and objects."""
    symtab = next((s for s in elf.sections if s.type == SHT_SYMTAB), None)
    if symtab is None or symtab.link >= len(elf.sections):
        return
    strtab = bytes(elf.contents(elf.sections[symtab.link]))
    raw = bytes(elf.contents(symtab))
    for name_off, info, _other, shndx, value, _size in _SYM.iter_unpack(
            raw[:len(raw) // _SYM.size * _SYM.size]):
        if info & 0xF not in (1, 2) or not 0 < shndx < len(elf.sections):
            continue        # only objects (1) and functions (2) defined in a section
        end = strtab.find(b"\0", name_off)
        name = strtab[name_off:end if end >= 0 else None].decode("utf-8", "replace")
        if name:
            yield name, elf.sections[shndx].name, value
