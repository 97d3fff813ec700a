"""Symbols as records: a name and its address, type letter, module and source line;
an address as the symbol containing it plus an offset (``sym``, ``kmem`` of a
text address, ``bt``'s source lines, ``dis -l``)."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import NoSuchSymbol

if TYPE_CHECKING:
    from .base import Target


@dataclass
class SymbolEntry:
    """A symbol: its run-time address, its type letter as nm prints it, the module
    it belongs to (None for the kernel's or the hypervisor's own)."""
    name: str
    address: int
    type: str
    module: str | None
    #: (file name, line) of a text address; crash prints it after the symbol
    source: tuple[str, int] | None = field(default=None, metadata={"json": False})


@dataclass
class SymbolHit(SymbolEntry):
    """An address inside a symbol: ``address`` is the address looked up, ``offset``
    its distance from the symbol's start."""
    offset: int = 0


def source_line(target: Target | None, address: int) -> tuple[str, int] | None:
    """(file name, line) of a run-time text address (:meth:`Target.source_line`), or
    None, also without a target."""
    return target.source_line(address) if target is not None else None


def entry(target: Target | None, sym: Any, offset: int | None = None, *,
          source: bool = True) -> SymbolEntry:
    """The record of ``sym`` (with an ``offset``, of an address in it: a
    :class:`SymbolHit`), with the source line when ``source`` (none for module
    symbols: crash shows none)."""
    module = getattr(sym, "module", None)      # only module symbols carry one
    address = sym.address + (offset or 0)
    where = source_line(target, address) if source and not module else None
    if source and module and target is not None and hasattr(target, "module_line"):
        where = target.module_line(address)        # its object file loaded (mod -s)
    if offset is not None:
        return SymbolHit(sym.name, address, sym.type_char, module, where, offset)
    return SymbolEntry(sym.name, address, sym.type_char, module, where)


def by_name(target: Target, name: str) -> SymbolEntry | None:
    """The symbol called ``name``, or None when there is none."""
    try:
        sym = target.symbol(name)
    except NoSuchSymbol:
        return None                 # a probe: the caller tries the word as an address
    return entry(target, sym)


def by_address(target: Target, address: int) -> SymbolEntry | None:
    """The symbol at or below ``address`` with the offset into it, or None."""
    hit = target.symbols.resolve(address) if target.symbols is not None else None
    if hit is None:
        return None
    sym, offset = hit
    return entry(target, sym, offset)


def listing(target: Target, contains: str | None = None) -> Iterator[SymbolEntry]:
    """Every symbol in address order (sym -l: but the absolute ones), or those
    whose name contains ``contains`` (sym -q)."""
    symbols: Iterable[Any] = target.symbols if target.symbols is not None else ()
    if contains is None:
        chosen = (s for s in symbols if s.type_char != "a")
    else:
        chosen = (s for s in symbols if contains in s.name)
    for sym in sorted(chosen, key=lambda s: s.address):
        yield entry(target, sym, source=False)


def full_source_line(target: Target, address: int) -> tuple[str, int] | None:
    """(path as the debug info names it, line) of a run-time text address, or None
    (no line tables, or no line for it)."""
    symfile = target.symfile
    if symfile is None or not hasattr(symfile, "line_for_address"):
        return None             # a symbol file without line tables
    link = (address - getattr(target.symbols, "delta", 0)) & 0xFFFFFFFFFFFFFFFF
    hit = symfile.line_for_address(link)
    return (str(hit[0]), int(hit[1])) if hit else None


@dataclass
class SourceLine:
    """A line of a source file as ``dis -s`` lists it; ``marked``: the line of the
    address."""
    number: int
    text: str
    marked: bool = False


def source_listing(path: str, line: int, count: int | None) -> list[SourceLine] | None:
    """crash's ``dis -s`` listing of ``path`` around ``line`` (gdb's ten lines from five
    before it), up to the function's closing ``}`` (a line that is only ``}``) after
    it, or ``count`` lines after it; None when the file is not on this machine."""
    from pathlib import Path
    try:
        text = Path(path).read_text(errors="replace").split("\n")
    except OSError:
        return None             # the source is not on this machine: crash says so
    out = []
    first = max(1, line - 5)
    after = 0
    for number in range(first, len(text) + 1):
        body = text[number - 1]
        if number > line:
            if count is not None:
                if after >= count:
                    break
                after += 1
        out.append(SourceLine(number, body, number == line))
        if count is None and number > line and body == "}":
            break
    return out


def neighbours(target: Target, name: str, address: int) -> tuple[SymbolEntry | None,
                                                                 SymbolEntry | None]:
    """crash's ``sym -p``/``-n``: the symbol before ``name`` in its table (by address
    then name: an alias at the same address counts) and the first after it at a
    higher address; None past either end."""
    symbols: Iterable[Any] = target.symbols if target.symbols is not None else ()
    table = sorted(((s.address, s.name, s) for s in symbols if s.type_char != "a"),
                   key=lambda t: (t[0], t[1]))
    keys = [(a, n) for a, n, _s in table]
    import bisect
    i = bisect.bisect_left(keys, (address, name))
    if i >= len(keys) or keys[i] != (address, name):
        return None, None
    before = entry(target, table[i - 1][2]) if i > 0 else None
    j = bisect.bisect_right(keys, (address, "\U0010ffff"))
    after = entry(target, table[j][2]) if j < len(table) else None
    return before, after
