"""sym: symbols to addresses and back."""
from __future__ import annotations

import os
from typing import Any

from ..errors import CommandError, NoSuchSymbol
from ..symbols.symtab import display_name
from .args import looks_hex, parse_address
from .base import Command, Context, Option, Result, Text


def line_suffix(target: Any, address: int) -> str:
    """`` file.c: 155`` for an address, as crash appends it, or ''."""
    line = source_line(target, address)
    return f" {line[0]}: {line[1]}" if line else ""


def source_line(target: Any, address: int) -> tuple[str, int] | None:
    """(file name, line) for a run-time address.  Always the file's name: crash (through
    gdb) prints the whole path when the source file exists on the machine reading the
    dump, which would make the output depend on that machine."""
    symfile = target.symfile
    if symfile is None or not hasattr(symfile, "line_for_address"):
        return None
    link = (address - getattr(target.symbols, "delta", 0)) & 0xFFFFFFFFFFFFFFFF
    hit = symfile.line_for_address(link)
    if not hit:
        return None
    return os.path.basename(hit[0]), hit[1]


def symbol_line(target: Any, sym: Any, offset: int = 0) -> str:
    shown = display_name(sym.name)
    name = f"{shown}+{offset}" if offset else shown
    return f"{sym.address + offset:x} ({sym.type_char}) {name}"


def _with_source(target: Any, sym: Any, offset: int, address: int) -> str:
    """A symbol's line and, as crash prints them, its module (``[tun]``) or
    source line; module text has no line (crash then leaves a trailing space)."""
    module = getattr(sym, "module", None)
    if module:
        return symbol_line(target, sym, offset) + f" [{module}]" + (
            " " if sym.type_char in "tT" else "")
    return symbol_line(target, sym, offset) + line_suffix(target, address)


class Sym(Command):
    name = "sym"
    synopsis = "sym [-l] | [-q string] | [symbol | address]..."
    summary = "translate a symbol to its address, or an address to its symbol"
    group = "symbols"
    description = """\
For a symbol: its address, type letter (as nm prints it) and source line.
For an address: the symbol+offset containing it and the source line.
  -l          every symbol, in address order
  -q string   every symbol whose name contains string
Addresses are run-time (KASLR-relocated) addresses.
"""
    example = "sym sysrq_handle_crash\nsym ffffffffae734517"
    options = (Option("-l", "list", "list all symbols"),
               Option("-q", "query", "search for symbols containing a string", takes_value=True))

    def run(self, ctx: Context, args: list[str]) -> Result:
        opts, rest = self.parse(args)
        target = ctx.target
        if target.symbols is None:
            raise CommandError("no symbol file serves this target")
        if opts["list"]:
            return self._listing(ctx, sorted((s for s in target.symbols if s.type_char != "a"),
                                             key=lambda s: s.address))
        if opts["query"]:
            q = opts["query"]
            return self._listing(ctx, (s for s in sorted(target.symbols, key=lambda s: s.address) if q in s.name))
        if not rest:
            raise CommandError(f"usage: {self.usage()}")
        lines = []
        records = []
        for arg in rest:
            sym = None
            if not looks_hex(arg):
                try:
                    sym = target.symbol(arg)
                except NoSuchSymbol:
                    sym = None
            if sym is not None:
                lines.append(_with_source(target, sym, 0, sym.address))
                records.append({"name": sym.name, "address": sym.address, "type": sym.type_char,
                                "module": getattr(sym, "module", None)})
                continue
            addr = parse_address(target, arg)
            hit = target.symbols.resolve(addr)
            if hit is None:
                raise CommandError(f"{arg}: no symbol at or below this address")
            sym, off = hit
            lines.append(_with_source(target, sym, off, addr))
            records.append({"name": sym.name, "offset": off, "address": addr,
                            "type": sym.type_char, "module": getattr(sym, "module", None)})
        return Text("\n".join(lines), records)

    @staticmethod
    def _listing(ctx: Context, symbols: Any) -> Text:
        lines = []
        for sym in symbols:
            ctx.check()
            lines.append(f"{sym.address:x} ({sym.type_char}) {display_name(sym.name)}")
        return Text("\n".join(lines))


COMMANDS = [Sym]
