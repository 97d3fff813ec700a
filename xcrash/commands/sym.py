"""sym: symbols to addresses and back.

The records come from ``targets/symbolinfo.py``; the line layout from
``layouts/symbols.py`` (shared with ``kmem``).
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from ..errors import CommandError
from ..layouts.symbols import listing_line, symbol_line
from ..results import Column, Records
from ..symbols.symtab import display_name
from ..targets import symbolinfo
from ..targets.symbolinfo import SymbolEntry
from .args import looks_hex, parse_address
from .base import Command, Context, Option

if TYPE_CHECKING:
    from ..targets.base import Target
    from ..targets.linux.modsyms import ModuleSymbolLine

COLUMNS = [Column("ADDRESS", "address", fmt=lambda v: f"{v:x}"), Column("TYPE", "type"),
           Column("NAME", "name"), Column("MODULE", "module", fmt=lambda v: v or "")]


def symbol_lines(entries: Iterable[SymbolEntry]) -> Iterator[str]:
    for e in entries:
        yield symbol_line(e)


def listing_lines(entries: Iterable[SymbolEntry], *, query: bool = False) -> Iterator[str]:
    found = False
    for e in entries:
        found = True
        yield listing_line(e)
    if query and not found:
        yield "(none found)"


def _with_source(target: Target | None, sym: Any, offset: int, address: int) -> str:
    """A symbol's line as ``sym`` prints it, for commands not yet on records (kmem)."""
    return symbol_line(symbolinfo.entry(target, sym, offset if offset else None))


class Sym(Command):
    name = "sym"
    arguments = "[symbol | address] ..."
    summary = "translate a symbol to its address, or an address to its symbol"
    group = "symbols"
    description = """\
For a symbol: its address, type letter (as nm prints it) and source line (a
module symbol: its [module], and its source line once mod -s loaded the
module's object file).  For an address: the symbol+offset containing it and
the source line.  Addresses are run-time (KASLR-relocated) addresses.
-p and -n add the symbol before it (crash's table order: by address, then
name) and the first symbol after it.  The source file is named without its
directory (crash prints the path the debug info gives); a module's, as its
object file names it.

-m and -M list a module's (every module's) kallsyms symbols as crash does:
region by region (MODULE TEXT START ... MODULE TEXT END, DATA, RODATA,
RO_AFTER_INIT on 6.4+; MODULE START/END before), by address then name, and the
sections holding them when mod -g loaded its object file.  An unknown module
lists nothing, as in crash.  Difference: crash also lists a few section names as
symbols (virtio_blk's __dyndbg and __param), which are no kallsyms symbols.
"""
    example = "sym sysrq_handle_crash\nsym -q sysrq_handle\nsym panic+4\nsym -M"
    options = (Option("-l", "list", "every symbol, in address order"),
               Option("-M", "modules", "every module's symbols, region by region"),
               Option("-m", "module", "the symbols of one module, region by region",
                      takes_value=True, metavar="module"),
               Option("-q", "query", "every symbol whose name contains the string",
                      takes_value=True, metavar="string"),
               Option("-p", "prev", "the symbol before it too"),
               Option("-n", "next", "the symbol after it too"))

    def run(self, ctx: Context, args: list[str]) -> Records:
        opts, rest = self.parse(args)
        target = ctx.target
        if target.symbols is None:
            raise CommandError("no symbol file serves this target")
        if opts["list"]:
            return Records(symbolinfo.listing(target), listing_lines, columns=COLUMNS)
        if opts["modules"] or opts["module"] is not None:
            return Records(_module_lines(target, opts["module"]), module_symbol_lines)
        if opts["query"]:
            return Records(symbolinfo.listing(target, opts["query"]),
                           lambda r: listing_lines(r, query=True), columns=COLUMNS)
        if not rest:
            raise CommandError(f"usage: {self.usage()}")
        if opts["prev"] or opts["next"]:
            return Records([e for arg in rest for e in _around(target, arg, opts["prev"],
                                                                opts["next"])], symbol_lines)
        return Records([_lookup(target, arg) for arg in rest], symbol_lines)


def _around(target: Target, arg: str, prev: bool, nxt: bool) -> list[SymbolEntry]:
    """sym -p/-n: the symbol before (the entry before it in crash's table), the
    symbol or address, the symbol after (the first at a higher address)."""
    found = _lookup(target, arg)
    before, after = symbolinfo.neighbours(target, found.name, found.address - getattr(
        found, "offset", 0))
    return ([before] if prev and before else []) + [found] + ([after] if nxt and after else [])


def _module_lines(target: Target, name: str | None) -> Iterator[ModuleSymbolLine]:
    """sym -m NAME / -M: a module's (every module's) symbols; an unknown name shows
    nothing, as in crash."""
    if target.kind != "linux":
        raise CommandError("sym: -m and -M: a Linux kernel's modules only")
    from ..targets.linux.modsyms import module_symbol_lines as lines_of
    for module in getattr(target, "modules", ()):
        if name is None or module.name == name:
            yield from lines_of(target, module)  # type: ignore[arg-type]  # a LinuxTarget (kind)


def module_symbol_lines(items: Iterable[ModuleSymbolLine]) -> Iterator[str]:
    for e in items:
        if e.type in ("start", "end"):
            what = f"MODULE {e.name} {e.type.upper()}" if e.name else f"MODULE {e.type.upper()}"
            yield f"{e.address:x} {what}: {e.module}"
        elif e.type.startswith("section"):
            yield f"{e.address:x} [{e.name}]: {e.type}"
        else:
            yield f"{e.address:x} ({e.type}) {display_name(e.name)}"


def _lookup(target: Target, arg: str) -> SymbolEntry:
    """A word as a symbol name, else as an address (hex digits are an address)."""
    found = None if looks_hex(arg) else symbolinfo.by_name(target, arg)
    if found is not None:
        return found
    found = symbolinfo.by_address(target, parse_address(target, arg))
    if found is None:
        raise CommandError(f"{arg}: no symbol at or below this address")
    return found


COMMANDS = [Sym]
