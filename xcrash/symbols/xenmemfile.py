"""The symbol-file face of Xen's own symbol table, read from the dump (no xen-syms).

:class:`XenMemorySymbolFile` answers what a symbols-only xen-syms (Debian's ``-dbg``:
ELF symbols, no DWARF) answers: names and addresses (``symbols``), initialised data
read from the image; no types, no source lines, no CFI.

The table (``xensyms.py``) keeps nm's letters and the local symbols' files but no
sizes (up to 4.20; from 4.21 a function's end is an entry of its own).  A symbol
without one reaches to the next symbol, as Xen's own ``symbols_lookup`` takes it,
less, for a function, the padding the assembler put after it (single-byte ``nop``
runs and the multi-byte ``nop`` forms): on Xen 4.17 that gives the ELF size of 95%
of the functions (the rest differ by an ``ud2`` placed after the function, or by a
byte).  The aliases at one address rank as an ELF symbol table ranks them: global
over weak over local, a typed symbol over a section-bound label.
"""
from __future__ import annotations

import re
from array import array
from collections.abc import Callable
from typing import Any

from .symtab import NO_SECTION, RELOCATABLE, SymbolTable, best_by_name
from .typeindex import TypeIndex
from .types import Type
from .xensyms import XenSymbol

_MASK = 0xFFFFFFFFFFFFFFFF
#: linker-script labels (``__2M_text_end``, ``__start_bug_frames``, ``_stext``,
#: ``__per_cpu_start``): untyped and unsized in an ELF symbol table
_MARKER = re.compile(r"^_.*_(start|end|begin)$|^__(start|stop|end)_|^_(s|e)?(init)?text$|^__2M_|"
                     r"^_end$")
#: the multi-byte nops the assembler pads with; a run of 0x66 or 0x2e prefixes may
#: precede the last ones
_NOPS = tuple(bytes.fromhex(h) for h in (
    "6690", "0f1f00", "0f1f4000", "0f1f440000", "0f1f8000000000", "0f1f840000000000",
    "2e0f1f840000000000"))
#: the labels of Xen's own symbol table (unsized in an ELF symbol table)
_TABLE_LABEL = re.compile(r"^symbols_(offsets|addresses|num_syms|num_addrs|num_names|names|"
                          r"markers|token_table|token_index|sorted_offsets)$")
#: the shortest run of text taken for a pool of string literals
MIN_POOL = 16
#: a function whose padding is longer than this is not trimmed (it is no padding)
_MAX_PADDING = 64


def code_end(code: bytes) -> int:
    """Where a function's code ends in ``code`` (its bytes up to the next symbol):
    before the trailing ``nop`` padding.  Text that reads as zeros (``.init.text``,
    freed after boot) is left whole."""
    end = len(code)
    if not any(code):
        return end
    floor = max(len(code) - _MAX_PADDING, 1)
    while end > floor:
        if code[end - 1] == 0x90:
            end -= 1
            continue
        nop = next((p for p in _NOPS if code.endswith(p, 0, end)), None)
        if nop is None:
            break
        end -= len(nop)
        while end > floor and code[end - 1] in (0x66, 0x2E):
            end -= 1
    return max(end, 1)


def xen_symtab(symbols: list[XenSymbol], image: tuple[int, int],
               read_code: Callable[[int, int], bytes] | None) -> dict[str, Any]:
    """The marshal-able form :class:`SymbolTable` reads, from Xen's table.  ``image``:
    [start, end) of Xen's image (its symbols are RELOCATABLE with no delta, as an
    ELF file's); ``read_code`` reads text to find where functions end (None: up to
    the next symbol)."""
    # an ELF symbol table has its local symbols first: so are they here (the first of a
    # repeated name is the one it means; sym -l lists the names of an address so)
    symbols = sorted(symbols, key=lambda s: not s.letter.islower())
    ordered = sorted({s.address for s in symbols})
    bounds = {s.name: s.address for s in symbols if s.name in ("_srodata", "_erodata")}
    rodata = (bounds.get("_srodata", 0), bounds.get("_erodata", 0))
    following = dict(zip(ordered, ordered[1:]))
    names: list[str] = []
    letters: list[str] = []
    flags = bytearray()
    ranks: list[int] = []
    values, sizes, home = array("Q"), array("Q"), array("H")
    by_address: tuple[list[tuple[int, int, str, int]], list[tuple[int, int, str, int]]] = ([], [])
    ends: dict[int, int] = {}
    for i, s in enumerate(symbols):
        inside = image[0] <= s.address <= image[1]
        marker = bool(_MARKER.search(s.name))
        size = _size(s, following, ends, read_code, rodata)
        rank = (s.letter.isupper() and s.letter not in "WV") * 8 + (s.letter in "wWvV") * 4 \
            + (not marker) * 2 + bool(size)
        names.append(s.name)
        letters.append(s.letter)
        values.append(s.address)
        sizes.append(size)
        flags.append(RELOCATABLE if inside else 0)
        home.append(0 if inside else NO_SECTION)
        ranks.append(rank)
        by_address[0 if inside else 1].append((s.address, rank, s.name, i))
    best, dups = best_by_name(names, ranks)
    reloc, other = (array("I", [e[3] for e in sorted(entries)]) for entries in by_address)
    return {"names": names, "values": values.tobytes(), "sizes": sizes.tobytes(),
            "letters": "".join(letters), "flags": bytes(flags), "home": home.tobytes(),
            "best": best, "dups": dups, "reloc_order": reloc.tobytes(),
            "other_order": other.tobytes(), "section_ends": [image[1]]}


def _size(s: XenSymbol, following: dict[int, int], ends: dict[int, int],
          read_code: Callable[[int, int], bytes] | None, rodata: tuple[int, int]) -> int:
    """The table's size (an END entry), else up to the next symbol, a function's
    padding and a read-only object's string literals left out (worked out once per
    address: aliases share it)."""
    if s.end is not None:
        return s.end - s.address
    gap = following.get(s.address, s.address) - s.address
    if s.letter not in "tT" and (_MARKER.search(s.name) or _TABLE_LABEL.match(s.name)):
        return 0
    text = s.letter in "tT"
    if read_code is None or not 0 < gap <= 1 << 20 or \
            not text and not rodata[0] <= s.address < rodata[1]:
        return gap
    end = ends.get(s.address)
    if end is None:
        measure = code_end if text else data_end
        end = ends[s.address] = measure(read_code(s.address, gap))
    return end


#: the bytes of C string literals (and the NULs between and after them): ASCII text,
#: carriage returns, and UTF-8 (a few of Xen's messages have full-width characters)
_TEXT = frozenset(range(0x20, 0x7F)) | {0x09, 0x0A, 0x0D, 0x00} | frozenset(range(0x80, 0xF5))


def data_end(data: bytes) -> int:
    """Where a data object ends in ``data`` (its bytes up to the next symbol): before
    the pool of string literals the linker put after it (``.rodata.str*``, which has
    no symbols), when the bytes up to the next symbol read as text of at least
    :data:`MIN_POOL` characters; an object that is itself a string followed by the
    pool (``__func__.N``) ends at its first NUL."""
    run = len(data)
    while run and data[run - 1] in _TEXT:
        run -= 1
    while run < len(data):
        try:
            data[run:].decode("utf-8")
            break
        except UnicodeDecodeError as bad:       # not text there: the pool starts after
            run += bad.end
    start = run
    while start < len(data) and not data[start]:
        start += 1
    if len(data) - start < MIN_POOL:
        return len(data)
    if run == 0:
        return data.index(0) + 1 if 0 in data else len(data)
    return start


class XenMemorySymbolFile:
    """Xen's symbols from its own table in the dump; ``read`` reads Xen's virtual
    memory (its image)."""

    kind = "xen-syms"
    has_dwarf = False
    has_btf = False
    #: sizes reach to the next symbol, a function's padding left out
    exact_sizes = False
    elf = None
    dwarf = None
    btf = None

    def __init__(self, label: str, build_id: str | None, symtab: dict[str, Any],
                 read: Callable[[int, int], bytes], *, count: int, seconds: float,
                 cached: bool) -> None:
        self.path = label                       # what start-up, `sys` and `target` show
        self.real_path = label
        self.build_id = build_id
        self._read = read
        self.symbols = SymbolTable(symtab)
        self.types = TypeIndex([])
        #: entries in Xen's table, and how long finding and decoding it took (0 when
        #: it came from the symbol cache)
        self.count = count
        self.seconds = seconds
        self.cached = cached

    def __repr__(self) -> str:
        return f"<XenMemorySymbolFile {self.path} build-id {self.build_id}>"

    def section(self, name: str) -> memoryview | None:
        return None

    def section_address(self, name: str) -> tuple[int, int] | None:
        return None

    def read_static(self, address: int, size: int) -> bytes:
        """Data at an address of Xen's image, read from the dump."""
        return bytes(self._read(address & _MASK, size))

    def variable_type(self, name: str) -> Type | None:
        return None

    def function_type(self, name: str) -> Type | None:
        return None

    def line_for_address(self, address: int) -> tuple[str, int] | None:
        return None

    def addresses_for_line(self, path: str, line: int) -> list[int]:
        return []
