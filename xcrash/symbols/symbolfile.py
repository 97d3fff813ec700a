"""A symbol file: vmlinux, xen-syms or any x86_64 ELF with symbols.

Opening one maps it and reads its symbol table (from the on-disk cache when
possible).  BTF, the DWARF name index and line tables are read the first time
something asks for them.  Addresses are link-time addresses throughout; a
KASLR view of the symbols comes from ``symbols.relocated(delta)``.
"""
from __future__ import annotations

import functools
import os
from typing import Any

from ..errors import BadSymbolFile, FileError
from .btf import BtfTypes, parse_btf
from .cache import SymbolCache
from .dwarf import DwarfFile
from .dwarfindex import build_dwarf_index
from .dwarftypes import DwarfTypes
from .elffile import ElfImage
from .lines import LineIndex
from .symtab import SymbolTable, build_symtab
from .typeindex import TypeIndex
from .types import Type

_XEN_MARKERS = ("__start_xen", "xen_phys_start")
#: the cache part of the DWARF name index (v2: with the definitions of names of several
#: sizes, ``variants``)
DWARF_INDEX = "dwarf-index-v2"
_LINUX_MARKERS = ("linux_banner", "init_task")


def open_symbol_file(path: str) -> SymbolFile:
    """Open an ELF symbol file (``.xz`` accepted: decompressed once into the cache)."""
    if not os.path.isfile(path):
        raise BadSymbolFile(path, "no such file")
    elf_path = path
    if path.endswith(".xz"):
        from ..cache import decompressed_path
        try:
            elf_path = decompressed_path(path)
        except FileError as e:
            raise BadSymbolFile(path, e.problem) from None
        except OSError as e:
            raise BadSymbolFile(path, f"cannot decompress into the cache: {e}") from None
    return SymbolFile(path, elf_path)


class SymbolFile:
    def __init__(self, path: str, elf_path: str | None = None) -> None:
        self.path = path                          # as the user named it
        self.elf = ElfImage(elf_path or path)
        self.real_path = self.elf.path            # the ELF file mapped (maybe a cached copy)
        self.build_id = self.elf.build_id()
        self._cache = SymbolCache(self.elf, self.build_id)
        btf_section = self.elf.section_by_name(".BTF")
        self.has_btf = btf_section is not None and btf_section.size > 0
        self.has_dwarf = self.elf.section_by_name(".debug_info") is not None
        self.symbols = SymbolTable(self._cache.get("symtab", lambda: build_symtab(self.elf)))
        self.kind = ("xen-syms" if any(m in self.symbols for m in _XEN_MARKERS)
                     else "vmlinux" if any(m in self.symbols for m in _LINUX_MARKERS)
                     else "elf")
        self.types = TypeIndex([("btf", lambda: self.btf), ("dwarf", lambda: self.dwarf)])

    def __repr__(self) -> str:
        return f"<SymbolFile {self.path} {self.kind} build-id {self.build_id}>"

    # -- sections -------------------------------------------------------------
    def section(self, name: str) -> memoryview | None:
        s = self.elf.section_by_name(name)
        return None if s is None else self.elf.contents(s)

    def section_address(self, name: str) -> tuple[int, int] | None:
        s = self.elf.section_by_name(name)
        return None if s is None else (s.address, s.size)

    def read_static(self, address: int, size: int) -> bytes:
        """Initialised data at a link-time address, from the file (zeros for .bss)."""
        return self.elf.read_static(address, size)

    # -- type sources (loaded on first use) ------------------------------------
    @functools.cached_property
    def btf(self) -> BtfTypes | None:
        """The BTF types, parsed on first use (None without .BTF)."""
        blob = self.section(".BTF") if self.has_btf else None
        if blob is None:
            return None
        parsed = self._cache.get("btf", lambda: parse_btf(blob, self.path))
        return BtfTypes(parsed, blob, self.path)

    @functools.cached_property
    def _dwarf_file(self) -> DwarfFile | None:
        return DwarfFile(self.elf, self._cache) if self.has_dwarf else None

    @functools.cached_property
    def dwarf(self) -> DwarfTypes | None:
        """The DWARF types, with the name index built (or loaded) on first use."""
        dw = self._dwarf_file
        if dw is None:
            return None
        def index(build: bool) -> dict[str, Any] | None:
            if build:
                return self._cache.get(DWARF_INDEX, lambda: build_dwarf_index(dw))
            return self._cache.load(DWARF_INDEX)

        btf = self.btf
        return DwarfTypes(dw, index, complete=btf.find if btf is not None else None)

    @functools.cached_property
    def _lines(self) -> LineIndex | None:
        return LineIndex(self._dwarf_file) if self._dwarf_file is not None else None

    # -- variables and functions ----------------------------------------------
    def variable_type(self, name: str) -> Type | None:
        """The declared type of a global variable: BTF (per-CPU variables), else
        DWARF's variable at the symbol's address, else DWARF's of that name."""
        t = self.btf.variable_type(name) if self.btf is not None else None
        if t is None and self.dwarf is not None:
            sym = self.symbols.get(name)
            t = self.dwarf.variable_type(name, sym.address if sym is not None else None)
        return t

    def function_type(self, name: str) -> Type | None:
        """The prototype of a function (BTF, else DWARF)."""
        for source in (self.btf, self.dwarf):
            t = source.function_type(name) if source is not None else None
            if t is not None:
                return t
        return None

    # -- lines ----------------------------------------------------------------
    def line_for_address(self, address: int) -> tuple[str, int] | None:
        """(source path, line) of a link-time code address, from DWARF."""
        return None if self._lines is None else self._lines.line_for_address(address)

    def addresses_for_line(self, path: str, line: int) -> list[int]:
        """Link-time addresses where code of ``path:line`` starts (``path`` may be
        a file name or a path suffix)."""
        return [] if self._lines is None else self._lines.addresses_for_line(path, line)
