"""A symbol's line as crash's ``sym`` prints it (also ``kmem`` of a text address)."""
from __future__ import annotations

from ..symbols.symtab import display_name
from ..targets.symbolinfo import SymbolEntry, SymbolHit


def symbol_line(e: SymbolEntry) -> str:
    """``ffffffff81234560 (t) name+16 file.c: 155``; a module symbol ends in its
    ``[module]``, then its source line when its object file is loaded (``mod -s``),
    else a blank after module text, as crash leaves one."""
    offset = e.offset if isinstance(e, SymbolHit) else 0
    shown = display_name(e.name)
    text = f"{e.address:x} ({e.type}) {shown}+{offset}" if offset else \
        f"{e.address:x} ({e.type}) {shown}"
    if e.module:
        text += f" [{e.module}]"
        if e.source is not None:
            return text + f" {e.source[0]}: {e.source[1]}"
        return text + (" " if e.type in "tT" else "")
    if e.source is not None:
        return text + f" {e.source[0]}: {e.source[1]}"
    return text


def listing_line(e: SymbolEntry) -> str:
    """A line of ``sym -l`` / ``sym -q``: address, type and name only."""
    return f"{e.address:x} ({e.type}) {display_name(e.name)}"
