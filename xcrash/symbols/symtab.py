"""The ELF symbol table: name -> symbol, address -> symbol, KASLR views.

Built from the raw ``.symtab`` bytes with ``struct.iter_unpack`` into plain
lists and arrays that :mod:`marshal` stores and loads quickly (see
:func:`build_symtab`).  :class:`SymbolTable` answers from those arrays and
makes :class:`Symbol` tuples only for what is asked.  A relocated view
(:meth:`SymbolTable.relocated`) shares the arrays and adds its delta on the fly.
"""
from __future__ import annotations

import bisect
import struct
from array import array
from typing import Any, NamedTuple
from collections.abc import Iterator

from .. import trace
from ..errors import BadSymbolFile, NoSuchSymbol
from .elffile import SHF_ALLOC, SHF_EXECINSTR, SHF_WRITE, SHT_NOBITS, SHT_SYMTAB, ElfImage

STT_OBJECT, STT_FUNC, STT_SECTION, STT_FILE, STT_GNU_IFUNC = 1, 2, 3, 4, 10
STB_GLOBAL, STB_WEAK, STB_GNU_UNIQUE = 1, 2, 10
SHN_UNDEF, SHN_ABS, SHN_COMMON = 0, 0xFFF1, 0xFFF2

# per-symbol flag bits
RELOCATABLE, PERCPU, ABSOLUTE = 1, 2, 4

NO_SECTION = 0xFFFF
_SYM = struct.Struct("<IBBHQQ")


class Symbol(NamedTuple):
    name: str
    address: int
    size: int
    type_char: str      # nm's letter: t T d D b B r R a A w W v V ...


def _section_letter(name: str, stype: int, flags: int) -> str:
    """nm's class letter for symbols defined in a section (lower case)."""
    if flags & SHF_EXECINSTR:
        return "t"
    loaded = flags & SHF_ALLOC and stype != SHT_NOBITS
    if loaded:
        return "d" if flags & SHF_WRITE else "r"
    if stype == SHT_NOBITS:
        return "b"
    if name.startswith((".debug", ".stab", ".gnu.linkonce.wi.", ".zdebug", ".line")):
        return "N"
    if not flags & SHF_WRITE:
        return "n"
    return "?"


def _classify(info: int, shndx: int, letters_of: list[str]) -> tuple[str, int]:
    """nm's letter, and the preference among symbols of one name or address
    (global over weak over local, typed over untyped; +1 later if sized)."""
    stype, bind = info & 0xF, info >> 4
    if shndx == SHN_COMMON:
        letter = "c"
    elif stype == STT_GNU_IFUNC:
        letter = "i"
    elif bind == STB_WEAK:
        letter = "V" if stype == STT_OBJECT else "W"
    elif bind == STB_GNU_UNIQUE:
        letter = "u"
    elif shndx == SHN_ABS:
        letter = "a"
    elif shndx < len(letters_of):
        letter = letters_of[shndx]
    else:
        letter = "?"
    if bind == STB_GLOBAL:
        letter = letter.upper()
    rank = ((bind == STB_GLOBAL) * 8 + (bind == STB_WEAK) * 4
            + (stype in (STT_FUNC, STT_OBJECT, STT_GNU_IFUNC)) * 2)
    return letter, rank


def best_by_name(names: list[str], ranks: list[int]) -> tuple[dict[str, int], dict[str, list[int]]]:
    """Of the symbols sharing a name, the index of the highest ranked (the first of equals),
    and every index of each name that has several."""
    best: dict[str, int] = {}
    dups: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        j = best.get(name)
        if j is None:
            best[name] = i
            continue
        dups.setdefault(name, [j]).append(i)
        if ranks[i] > ranks[j]:
            best[name] = i
    return best, dups


def build_symtab(elf: ElfImage) -> dict[str, Any]:
    """Parse ``.symtab`` into the marshal-able form :class:`SymbolTable` uses."""
    symtab = next((s for s in elf.sections if s.type == SHT_SYMTAB), None)
    if symtab is None:
        raise BadSymbolFile(elf.path, "no symbol table (.symtab): the file was stripped")
    if symtab.link >= len(elf.sections):
        raise BadSymbolFile(elf.path, "symbol table names a bad string table")
    strtab = bytes(elf.contents(elf.sections[symtab.link]))
    raw = elf.contents(symtab)
    raw = raw[:len(raw) - len(raw) % _SYM.size]
    text = strtab.decode("latin-1") if strtab.isascii() else None

    sections = elf.sections
    nsec = len(sections)
    letters_of = [_section_letter(s.name, s.type, s.flags) for s in sections]
    sec_start = [s.address for s in sections]
    sec_end = [s.end for s in sections]
    alloc = sorted((s for s in sections if s.allocated and s.address and s.size),
                   key=lambda s: s.address)
    low = alloc[0].address if alloc else 0
    high = max((s.end for s in alloc), default=0)
    alloc_starts = [s.address for s in alloc]
    percpu = elf.section_by_name(".data..percpu")
    percpu_index = percpu.index if percpu is not None else -1

    names: list[str] = []
    values = array("Q")
    sizes = array("Q")
    letters: list[str] = []
    flags = bytearray()
    home = array("H")
    ranks: list[int] = []
    # for resolve(): (address, rank, name, index) of relocatable symbols and of
    # the rest (per-CPU offsets), apart since a KASLR delta moves only the first
    by_address: tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]] = ([], [])
    classes: dict[int, tuple[str, int]] = {}        # info, section -> letter, rank
    for name_off, info, _other, shndx, value, size in _SYM.iter_unpack(raw):
        if not name_off or shndx == SHN_UNDEF or info & 0xF in (STT_SECTION, STT_FILE):
            continue
        if text is not None:
            name = text[name_off:text.find("\0", name_off)]
        else:
            end = strtab.find(b"\0", name_off)
            name = strtab[name_off:end].decode("utf-8", "replace")
        if not name:
            continue
        cls = classes.get(info << 16 | shndx)
        if cls is None:
            cls = classes[info << 16 | shndx] = _classify(info, shndx, letters_of)
        f = RELOCATABLE if low <= value <= high else 0
        sec = NO_SECTION
        if shndx < nsec and sec_start[shndx] <= value <= sec_end[shndx]:
            sec = shndx
            if shndx == percpu_index:
                # zero-based per-CPU data (x86-64 before 6.15) holds offsets, which KASLR
                # does not move; from 6.15 the section lies in the image and moves with it
                f = PERCPU | (f if sec_start[shndx] else 0)
        elif f:
            i = bisect.bisect_right(alloc_starts, value) - 1
            if i >= 0 and value <= alloc[i].end:
                sec = alloc[i].index
        if shndx == SHN_ABS:
            f |= ABSOLUTE
        rank = cls[1] + bool(size)
        index = len(names)
        names.append(name)
        values.append(value)
        sizes.append(size)
        letters.append(cls[0])
        flags.append(f)
        home.append(sec)
        ranks.append(rank)
        if f & RELOCATABLE:
            by_address[0].append((value, rank, name, index))
        elif not f & ABSOLUTE:
            by_address[1].append((value, rank, name, index))

    best, dups = best_by_name(names, ranks)

    # Among equal addresses the preferred symbol sorts last; of equally ranked
    # aliases (__x64_sys_pause, __ia32_sys_pause) the greatest name, as crash,
    # which sorts equal values by name, names an address inside them.
    reloc, other = (array("I", [entry[3] for entry in sorted(entries)])
                    for entries in by_address)
    return {
        "names": names, "values": values.tobytes(), "sizes": sizes.tobytes(),
        "letters": "".join(letters), "flags": bytes(flags), "home": home.tobytes(),
        "best": best, "dups": dups,
        "reloc_order": reloc.tobytes(), "other_order": other.tobytes(),
        "section_ends": [s.end for s in sections],
    }


class _Core:
    """The arrays shared by a table and all its relocated views."""

    __slots__ = ("names", "values", "sizes", "letters", "flags", "home", "best", "dups",
                 "orders", "order_values", "section_ends", "_variants")

    def __init__(self, data: dict[str, Any]) -> None:
        self.names: list[str] = data["names"]
        self.values = array("Q", data["values"])
        self.sizes = array("Q", data["sizes"])
        self.letters: str = data["letters"]
        self.flags: bytes = data["flags"]
        self.home = array("H", data["home"])
        self.best: dict[str, int] = data["best"]
        self.dups: dict[str, list[int]] = data["dups"]
        self.section_ends: list[int] = data["section_ends"]
        self.orders = (array("I", data["reloc_order"]), array("I", data["other_order"]))
        values = self.values
        self.order_values = tuple(array("Q", [values[i] for i in o]) for o in self.orders)
        self._variants: dict[str, list[int]] | None = None

    def variants(self) -> dict[str, list[int]]:
        """Base name -> indices of GCC-suffixed names (``x.1``, ``f.constprop.0``)."""
        if self._variants is None:
            v: dict[str, list[int]] = {}
            for i, name in enumerate(self.names):
                dot = name.find(".", 1)
                if dot > 0:
                    v.setdefault(name[:dot], []).append(i)
            self._variants = v
        return self._variants


#: GCC's names for clones of a function (and LLVM's), which crash shows as the function
CLONE_MARKS = (".isra.", ".part.", ".llvm.")


def display_name(name: str) -> str:
    """A symbol's name as crash shows it: a clone (``move_folios_to_lru.isra.0``,
    ``intel_pmu_hw_config.part.0``) under its function's name; ``.cold`` and
    ``.constprop.N`` parts keep theirs, as in crash."""
    for mark in CLONE_MARKS:
        cut = name.find(mark)
        if cut > 0:
            return name[:cut]
    return name


class SymbolTable:
    """Symbols of one ELF file, at link-time addresses or shifted by ``delta``."""

    def __init__(self, data: dict[str, Any] | _Core, delta: int = 0) -> None:
        self._core = data if isinstance(data, _Core) else _Core(data)
        self.delta = delta

    def relocated(self, delta: int) -> SymbolTable:
        """A view whose relocatable symbols lie ``delta`` from their link-time address.

        Per-CPU offsets, and absolute values outside the image, do not move.
        """
        return SymbolTable(self._core, delta)

    # -- making symbols -----------------------------------------------------
    def _symbol(self, i: int) -> Symbol:
        c = self._core
        value = c.values[i]
        if c.flags[i] & RELOCATABLE:
            value = (value + self.delta) & 0xFFFFFFFFFFFFFFFF
        return Symbol(c.names[i], value, c.sizes[i], c.letters[i])

    def _indices(self, name: str) -> list[int]:
        c = self._core
        if name in c.dups:
            return c.dups[name]
        i = c.best.get(name)
        return [] if i is None else [i]

    # -- by name ------------------------------------------------------------
    def get(self, name: str) -> Symbol | None:
        i = self._core.best.get(name)
        if i is None:
            return None
        sym = self._symbol(i)
        trace.record("symbol", name, address=sym.address, size=sym.size, type=sym.type_char)
        return sym

    def lookup(self, name: str) -> Symbol:
        sym = self.get(name)
        if sym is None:
            raise NoSuchSymbol(name)
        return sym

    def lookup_all(self, name: str) -> list[Symbol]:
        """Every symbol of that exact name (static symbols may repeat)."""
        return [self._symbol(i) for i in self._indices(name)]

    def variants(self, name: str) -> list[Symbol]:
        """Symbols named ``name.<suffix>`` as GCC makes them (``crashing_cpu.1``)."""
        return [self._symbol(i) for i in self._core.variants().get(name, ())]

    def lookup_static(self, name: str) -> Symbol:
        """``name`` itself, else its ``name.N`` static variant, else another suffix."""
        sym = self.get(name)
        if sym is not None:
            return sym
        found = self.variants(name)
        numbered = [s for s in found if s.name[len(name) + 1:].isdigit()]
        chosen = (numbered or found)
        if not chosen:
            raise NoSuchSymbol(name)
        sym = chosen[0]
        trace.record("symbol", name, address=sym.address, size=sym.size, type=sym.type_char,
                     resolved_as=sym.name)
        return sym

    def names(self) -> list[str]:
        return list(self._core.best)

    def __contains__(self, name: str) -> bool:
        return name in self._core.best

    def __len__(self) -> int:
        return len(self._core.names)

    def __iter__(self) -> Iterator[Symbol]:
        """Every symbol, in the order of the file."""
        return (self._symbol(i) for i in range(len(self._core.names)))

    # -- properties of a symbol -----------------------------------------------
    def _flags(self, sym: Symbol) -> int:
        c = self._core
        for i in self._indices(sym.name):
            if self._symbol(i).address == sym.address:
                return c.flags[i]
        return 0

    def in_percpu_section(self, sym: Symbol) -> bool:
        """True for a per-CPU variable: its address is an offset in ``.data..percpu``."""
        return bool(self._flags(sym) & PERCPU)

    def is_absolute(self, sym: Symbol) -> bool:
        return bool(self._flags(sym) & ABSOLUTE)

    # -- by address -----------------------------------------------------------
    def resolve(self, address: int) -> tuple[Symbol, int] | None:
        """The nearest symbol at or before ``address`` in the same section (as
        crash and its ``bt`` show ``entry_SYSCALL_64_after_hwframe+110``), with
        the offset of ``address`` from it.  Of several symbols at one address,
        a global, typed, sized one is preferred."""
        best: tuple[int, int] | None = None       # (offset, index)
        for which, link_address in ((0, (address - self.delta) & 0xFFFFFFFFFFFFFFFF),
                                    (1, address)):
            found = self._resolve_in(which, link_address)
            if found is not None and (best is None or found[0] < best[0]):
                best = found
        if best is None:
            return None
        sym = self._symbol(best[1])
        trace.record("symbol", f"{address:#x}", symbol=sym.name, offset=best[0])
        return sym, best[0]

    def at_address(self, address: int) -> list[Symbol]:
        """Every symbol whose run-time address is exactly ``address`` (aliases)."""
        c = self._core
        out = []
        for which, link in ((0, (address - self.delta) & 0xFFFFFFFFFFFFFFFF), (1, address)):
            values = c.order_values[which]
            k = bisect.bisect_left(values, link)
            while k < len(values) and values[k] == link:
                out.append(self._symbol(c.orders[which][k]))
                k += 1
        return out

    def next_address(self, address: int) -> int | None:
        """The address of the first symbol above ``address`` (the end of a symbol
        that has no size, as gdb takes it)."""
        c = self._core
        link = (address - self.delta) & 0xFFFFFFFFFFFFFFFF
        values = c.order_values[0]
        k = bisect.bisect_right(values, link)
        if k >= len(values):
            return None
        return int(values[k] + self.delta) & 0xFFFFFFFFFFFFFFFF

    def _resolve_in(self, which: int, address: int) -> tuple[int, int] | None:
        c = self._core
        k = bisect.bisect_right(c.order_values[which], address) - 1
        if k < 0:
            return None
        i = c.orders[which][k]
        start = c.values[i]
        if c.sizes[i] and address < start + c.sizes[i]:
            return address - start, i
        sec = c.home[i]
        if sec == NO_SECTION or address >= c.section_ends[sec]:
            return None
        return address - start, i
