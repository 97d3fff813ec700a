"""A kernel's symbol file made from the dump itself: kallsyms, BTF and ORC in its memory.

:class:`MemorySymbolFile` answers what a vmlinux :class:`~.symbolfile.SymbolFile` answers
for the targets (symbols at link-time addresses, types, the ORC and BTF sections,
initialised data), from the running kernel's own copies: kallsyms (``kallsyms.py``), the
BTF blob between ``__start_BTF`` and ``__stop_BTF``, the ORC tables between
``__start_orc_unwind_ip``/``__stop_orc_unwind_ip`` and ``__start_orc_unwind``/
``__stop_orc_unwind``.  There is no DWARF: no source lines, and the declared types of
global variables come from elsewhere (``targets/linux/globals.py``).
"""
from __future__ import annotations

import functools
import re
from array import array
from typing import Any
from collections.abc import Callable

from ..arch import KERNEL_IMAGE_MAX, START_KERNEL_MAP
from .btf import BtfTypes, parse_btf
from .cache import SymbolCache
from .kallsyms import KallsymsSymbol
from .symtab import NO_SECTION, PERCPU, RELOCATABLE, SymbolTable, best_by_name
from .typeindex import TypeIndex
from .types import Type

#: sections a vmlinux has that the kernel keeps in its memory, by their bounding symbols
SECTIONS = {
    ".BTF": ("__start_BTF", "__stop_BTF"),
    ".orc_unwind_ip": ("__start_orc_unwind_ip", "__stop_orc_unwind_ip"),
    ".orc_unwind": ("__start_orc_unwind", "__stop_orc_unwind"),
}

_MASK = 0xFFFFFFFFFFFFFFFF


#: linker-script and section-bound labels (``__softirqentry_text_start``,
#: ``__start___ksymtab``, ``_stext``): untyped and unsized in an ELF symbol table
_MARKER = re.compile(r"^_.*_(start|end)$|^__(start|stop)_|^_(s|e)?text$")


def symtab_from_kallsyms(symbols: list[KallsymsSymbol], kaslr_offset: int,
                         functions: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The marshal-able form :class:`SymbolTable` reads (as ``build_symtab`` makes it
    from an ELF file), at link-time addresses: run-time minus ``kaslr_offset`` for the
    symbols of the kernel image; per-CPU offsets and absolute values stay.  kallsyms
    keeps no sizes: a function reaches to the next symbol (text is laid out function
    after function); a data symbol is unsized, as an ELF symbol of size 0, since data
    between symbols may belong to what kallsyms leaves out (string literals, the
    compiler's ``.LC18`` labels).

    Nor does kallsyms say which of the names at one address is the function an ELF
    symbol table types and sizes (the one a vmlinux names an address by): of text
    symbols, ``functions`` (what BTF describes as functions: C functions) rank
    higher and section-bound labels lower (``__do_softirq`` over
    ``__softirqentry_text_start``)."""
    by_name = {s.name: s.address for s in symbols}
    # the image's symbols reach past _end: 5.10's .init.scratch (sme_workarea) follows it;
    # anything of vmlinux's kallsyms in the image mapping moved with KASLR
    image = (by_name.get("_text", by_name.get("_stext", START_KERNEL_MAP)),
             START_KERNEL_MAP + KERNEL_IMAGE_MAX - 1)
    percpu = (by_name.get("__per_cpu_start", 0), by_name.get("__per_cpu_end", 0))
    ordered = sorted({s.address for s in symbols})
    following = {a: b for a, b in zip(ordered, ordered[1:])}
    names, letters, flags, ranks = [], [], bytearray(), []
    values, sizes, home = array("Q"), array("Q"), array("H")
    by_address: tuple[list[tuple[int, int, str, int]], list[tuple[int, int, str, int]]] = ([], [])
    for i, s in enumerate(symbols):
        f = 0
        if percpu[0] <= s.address < percpu[1] or (s.letter in "aA" and s.address < percpu[1]):
            f |= PERCPU
        if image[0] <= s.address <= image[1]:
            f |= RELOCATABLE
        value = (s.address - kaslr_offset) & _MASK if f & RELOCATABLE else s.address
        rank = s.letter.isupper() * 8 + (s.letter in "tTdDbBrR") * 2 + 1
        if s.letter in "tT":
            rank += (s.name in functions) - bool(_MARKER.search(s.name))
        names.append(s.name)
        values.append(value)
        sizes.append(following.get(s.address, s.address) - s.address if s.letter in "tTwW"
                     else 0)
        letters.append(s.letter)
        flags.append(f)
        home.append(0 if f & RELOCATABLE else NO_SECTION)
        ranks.append(rank)
        if f & RELOCATABLE:
            by_address[0].append((value, rank, s.name, i))
        elif f & PERCPU:
            by_address[1].append((value, rank, s.name, i))
    best, dups = best_by_name(names, ranks)
    reloc, other = (array("I", [e[3] for e in sorted(entries)]) for entries in by_address)
    return {"names": names, "values": values.tobytes(), "sizes": sizes.tobytes(),
            "letters": "".join(letters), "flags": bytes(flags), "home": home.tobytes(),
            "best": best, "dups": dups, "reloc_order": reloc.tobytes(),
            "other_order": other.tobytes(),
            "section_ends": [(image[1] - kaslr_offset) & _MASK]}


class MemorySymbolFile:
    """The symbol-file face of a kernel read from its own memory.  ``read`` reads the
    kernel's virtual memory at run-time addresses."""

    kind = "vmlinux"
    has_dwarf = False
    #: kallsyms keeps no sizes: a symbol's extent is known only up to the next symbol
    exact_sizes = False

    def __init__(self, label: str, build_id: str | None, symbols: list[KallsymsSymbol],
                 kaslr_offset: int, read: Callable[[int, int], bytes], *,
                 symtab: dict[str, Any] | None = None, cache: SymbolCache | None = None,
                 parsed_btf: dict[str, Any] | None = None) -> None:
        """``symtab``: the table :func:`symtab_from_kallsyms` made (from the cache),
        instead of ``symbols``; ``cache``: where the parsed BTF is kept (by build-id);
        ``parsed_btf``: the BTF parsed already."""
        self.path = label                       # what start-up and `sys` show
        self.real_path = label
        self.build_id = build_id
        #: where the kallsyms tables were found: "VMCOREINFO", or by a search of the image
        self.kallsyms_origin = "VMCOREINFO"
        self.kaslr_offset = kaslr_offset
        self._read = read
        self._cache = cache
        self._parsed_btf = parsed_btf
        self.symbols = SymbolTable(symtab if symtab is not None
                                   else symtab_from_kallsyms(symbols, kaslr_offset))
        start, stop = (self.symbols.get(n) for n in SECTIONS[".BTF"])
        self.has_btf = start is not None and stop is not None and stop.address > start.address
        self.types = TypeIndex([("btf", lambda: self.btf)])

    def __repr__(self) -> str:
        return f"<MemorySymbolFile {self.path} build-id {self.build_id}>"

    # -- sections -------------------------------------------------------------
    def section_address(self, name: str) -> tuple[int, int] | None:
        """(link-time address, size) of a section the kernel keeps in memory."""
        bounds = SECTIONS.get(name)
        if bounds is None:
            return None
        start, stop = (self.symbols.get(n) for n in bounds)
        if start is None or stop is None or stop.address <= start.address:
            return None
        return start.address, stop.address - start.address

    def section(self, name: str) -> memoryview | None:
        where = self.section_address(name)
        if where is None:
            return None
        return memoryview(self.read_static(*where))

    def read_static(self, address: int, size: int) -> bytes:
        """Data at a link-time address, read from the kernel's memory."""
        return bytes(self._read((address + self.kaslr_offset) & _MASK, size))

    # -- types -----------------------------------------------------------------
    @functools.cached_property
    def btf(self) -> BtfTypes | None:
        blob = self.section(".BTF") if self.has_btf else None
        if blob is None:
            return None
        data = bytes(blob)
        parsed = self._parsed_btf
        if parsed is None:
            parsed = (parse_btf(data, self.path) if self._cache is None
                      else self._cache.get("memory-btf", lambda: parse_btf(data, self.path)))
        return BtfTypes(parsed, data, self.path)

    dwarf = None

    def variable_type(self, name: str) -> Type | None:
        """BTF's type of a per-CPU variable (BTF describes no other variable)."""
        return self.btf.variable_type(name) if self.btf is not None else None

    def function_type(self, name: str) -> Type | None:
        return self.btf.function_type(name) if self.btf is not None else None

    def line_for_address(self, address: int) -> tuple[str, int] | None:
        return None

    def addresses_for_line(self, path: str, line: int) -> list[int]:
        return []
