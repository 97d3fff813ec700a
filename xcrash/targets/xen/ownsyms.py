"""The hypervisor's symbols from the dump itself, when no xen-syms is given.

Xen links its own symbol table into its image to print its backtraces with names
(``symbols/xensyms.py`` finds and decodes it).  Where the image is comes from what
the dump says without xen-syms (VMCOREINFO_XEN's symbols and the crash notes'
``xen_phys_start``: :meth:`XenTarget.from_dump`); the table lies in its
``.rodata``, within :data:`IMAGE_SPAN` of its start.  The decoded table is kept in
the symbol cache by the hypervisor's build-id (read from its image:
``buildid.py``), as a kernel's kallsyms is.
"""
from __future__ import annotations

import time
from typing import Any

from ...errors import MemoryError_, XcrashError
from ...symbols.cache import SymbolCache
from ...symbols.xenmemfile import XenMemorySymbolFile, xen_symtab
from ...symbols.xensyms import XenSymbolsError, find_xen_symbols
from .buildid import hypervisor_build_id
from .hypervisor import XEN_IMG_OFFSET, XenTarget

#: what start-up, `sys` and `target` show as the hypervisor's symbol file
LABEL = "(the dump: Xen's own table)"
#: how far past its start Xen's image is searched (4.17's and 4.20's are under 6 MiB)
IMAGE_SPAN = 16 << 20
#: what the hypervisor target reads through symbols, which a table of text symbols only
#: (Xen built without CONFIG_LIVEPATCH: no ``--all-symbols``) lacks; without them the
#: VMCOREINFO_XEN path serves better than the names
NEEDED = ("stack_base", "idle_vcpu", "__per_cpu_offset")
#: the symbol cache's part (bump the suffix when what is kept changes)
CACHE_PART = "xen-own-symbols-2"


class NoOwnSymbols(XcrashError):
    """Xen's own symbol table cannot be had from this dump."""


def own_symbols(dump: Any, cached: bool = True) -> XenMemorySymbolFile:
    """The hypervisor's symbol file made from its own table in the dump; NoOwnSymbols
    (one line: why) when the image cannot be placed or holds no table that decodes."""
    try:
        space = XenTarget.from_dump(dump).space
    except XcrashError as err:
        raise NoOwnSymbols(f"Xen's image cannot be placed: {err}") from None
    start = space.virt_start + XEN_IMG_OFFSET
    build_id = hypervisor_build_id(dump)
    cache = SymbolCache(None, build_id) if cached and build_id else None
    kept = cache.load(CACHE_PART) if cache is not None else None
    if kept is not None:
        return XenMemorySymbolFile(LABEL, build_id, kept["symtab"], space.read,
                                   count=kept["count"], seconds=0.0, cached=True)
    began = time.perf_counter()
    try:
        symbols, where = find_xen_symbols(space.read, start, start + IMAGE_SPAN,
                                          space.virt_start, start)
    except XenSymbolsError as err:
        raise NoOwnSymbols(str(err)) from None
    except MemoryError_ as err:
        raise NoOwnSymbols(f"Xen's symbol table unreadable: {err}") from None
    names = {s.name for s in symbols}
    missing = [n for n in NEEDED if n not in names]
    if missing:
        raise NoOwnSymbols(f"Xen's own table names no {', '.join(missing)} (text symbols only: "
                           "a build without CONFIG_LIVEPATCH keeps no others); give xen-syms")
    end = next((s.address for s in symbols if s.name == "_end"), start + IMAGE_SPAN)

    def read_code(address: int, size: int) -> bytes:
        try:
            return bytes(space.read(address, size))
        except MemoryError_:
            return bytes(size)      # not in the dump: the symbol reaches the next one
    symtab = xen_symtab(symbols, (start, end), read_code)
    seconds = time.perf_counter() - began
    if cache is not None:
        cache.store(CACHE_PART, {"symtab": symtab, "count": where.count})
    return XenMemorySymbolFile(LABEL, build_id, symtab, space.read, count=where.count,
                               seconds=seconds, cached=False)


def describe(symfile: XenMemorySymbolFile) -> str:
    """The start-up line's account of the table."""
    how = "from the symbol cache" if symfile.cached else f"decoded in {symfile.seconds:.2f} s"
    return f"{len(symfile.symbols)} symbols, {how}"
