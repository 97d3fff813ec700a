"""Addresses named as gdb names them in the values crash prints (``p``, ``struct``,
``task``): ``<init_task+736>``.

gdb names a pointer by its minimal symbols only (the symbol file's ELF symbols, or
a module's once ``mod -s`` loaded it), in the section the address lies in; a data
symbol without a size names nothing (``init_stack``, a linker label: gdb prints the
bare address).  crash's own naming (``sym``, ``rd -s``, ``bt``) is the target's
``describe_address``; this is gdb's, which differs at such labels.
"""
from __future__ import annotations

import bisect
import re
from typing import TYPE_CHECKING, Any

from ..symbols.gdbsym import gdb_lookup
from ..symbols.symtab import SymbolTable
from .base import cached_per_target

if TYPE_CHECKING:
    from .base import Target


_STATIC_SUFFIX = re.compile(r"\.\d+$")


@cached_per_target
def _sections(target: Target) -> tuple[list[int], list[int]]:
    """The run-time [start, end) of the symbol file's allocated sections, by start."""
    symfile = target.symfile
    elf = getattr(symfile, "elf", None)
    delta = getattr(target.symbols, "delta", 0)
    spans = sorted((s.address + delta, s.end + delta) for s in getattr(elf, "sections", ())
                   if s.allocated and s.address and s.size)
    return [lo for lo, _hi in spans], [hi for _lo, hi in spans]


def gdb_symbol(target: Target, address: int) -> str | None:
    """``symbol`` or ``symbol+offset`` as gdb prints it beside a pointer, else None."""
    symbols: Any = target.symbols
    if symbols is None or not address:
        return None
    base = getattr(symbols, "base", symbols)
    hit = None
    starts, ends = _sections(target)
    if not starts:
        # symbols read from the dump (kallsyms: no sizes, no sections): crash's own
        # naming, the nearest symbol within its extent
        return target.describe_address(address)
    i = bisect.bisect_right(starts, address) - 1
    if i >= 0 and address < ends[i] and isinstance(base, SymbolTable):
        hit = gdb_lookup(base, address, starts[i], ends[i])
    elif i < 0 or address >= ends[i]:
        loaded = getattr(target, "module_debug_symbol", None)
        hit = loaded(address) if loaded is not None else None
    if hit is None:
        return None
    sym, offset = hit
    name = sym.name
    if sym.type_char not in "tTwW":
        # a function-static variable: gdb names it by its DWARF name (aio_fs, not the
        # symbol table's aio_fs.3)
        name = _STATIC_SUFFIX.sub("", name)
    return f"{name}+{offset}" if offset else name
