"""The symbol gdb names an address by in the values it prints (its minimal symbols:
lookup_minimal_symbol_by_pc_section, then build_address_symbolic's rule), over a
:class:`~.symtab.SymbolTable`'s arrays."""
from __future__ import annotations

import bisect

from .symtab import Symbol, SymbolTable

_MASK = 0xFFFFFFFFFFFFFFFF


def gdb_lookup(table: SymbolTable, address: int, low: int,
               high: int) -> tuple[Symbol, int] | None:
    """(symbol, offset) for an address in the section [low, high): scanning back from
    the last symbol at or below it (equal addresses in name order), the first sized
    one covering it, else the first unsized one; an unsized data symbol names nothing."""
    c = table._core
    link, lo = (address - table.delta) & _MASK, (low - table.delta) & _MASK
    values, order = c.order_values[0], c.orders[0]
    k = bisect.bisect_right(values, link) - 1
    zero: int | None = None
    chosen: int | None = None
    steps = 0
    while k >= 0 and values[k] >= lo and chosen is None and steps < 256:
        j = k
        while j >= 0 and values[j] == values[k]:
            j -= 1
        for i in sorted((order[n] for n in range(j + 1, k + 1)),
                        key=lambda n: c.names[n], reverse=True):
            if c.sizes[i]:
                chosen = i
                break
            if zero is None:
                zero = i
        steps += k - j
        k = j
    if chosen is not None and link >= c.values[chosen] + c.sizes[chosen]:
        chosen = zero
    elif chosen is None:
        chosen = zero
    if chosen is None or (not c.sizes[chosen] and c.letters[chosen] not in "tTwW"):
        return None
    sym = table._symbol(chosen)
    return sym, (address - sym.address) & _MASK
