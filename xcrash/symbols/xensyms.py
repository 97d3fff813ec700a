"""Xen's own symbol table, found in its image and decoded: no xen-syms needed.

Xen prints its own backtraces with names: its build links a compressed symbol
table into ``.rodata`` (xen/tools/symbols.c writes it, xen/common/symbols.c
reads it), the old kallsyms format, one after the other:

- ``symbols_offsets``: each symbol's address less ``SYMBOLS_ORIGIN``
  (``XEN_VIRT_START`` on x86), a 32-bit word each, sorted by address
  (``symbols_addresses``, 64-bit absolute words, where no origin is defined);
- ``symbols_num_syms`` (``symbols_num_addrs`` from 4.21): how many;
- ``symbols_names``: each name as a one-byte length and that many token bytes;
  the expanded name starts with nm's type letter, and a local symbol's name is
  ``file#name``.  From 4.21 a function's end is an entry of its own, of length 0
  (an "END symbol"), whose address is where the function ends;
- ``symbols_markers``: the offset of every 256th name, 32-bit words;
- ``symbols_token_table`` / ``symbols_token_index``: the 256 tokens, as kallsyms';
- ``symbols_sorted_offsets`` (with CONFIG_FAST_SYMBOL_LOOKUP): the names sorted.

Up to 4.20 every label is 4-aligned on x86 (``ALGN`` is ``.align 4`` where
``SYMBOLS_ORIGIN`` is defined); from 4.21 the tokens are 1-aligned and the index
2-aligned.  Nothing says where the table is, so it is found by its structure:
the token table by its digits (as for Linux: ``symbols/kallsymsearch.py``), the
markers right before it, the names right before them, the count right before the
names, the addresses right before the count.  It is believed only when the walk
of the names lands on every marker, the addresses are sorted, and ``_stext`` is
where Xen's image starts.
"""
from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ..errors import XcrashError
from .kallsymsearch import Image, TokenTables, find_token_tables

#: reads ``size`` bytes at a Xen virtual address
Reader = Callable[[int, int], bytes]

_MASK = 0xFFFFFFFFFFFFFFFF
#: how far before the token table the names are looked for (Xen has ~10k symbols)
NAMES_REACH = 2 << 20
#: a group of 256 names: a length and a token each at least, 255 tokens at most
#: (END entries, 4.21 on: a length alone)
GROUP_MIN, GROUP_MAX = 256, 256 * 256
_MAX_SYMBOLS = 1 << 20


class XenSymbolsError(XcrashError):
    """Xen's own symbol table is not in the image, or does not decode."""


@dataclass(frozen=True)
class XenSymbolsLocations:
    """Where the tables are (Xen virtual addresses)."""
    addresses: int          # symbols_offsets (or symbols_addresses)
    num_syms: int           # symbols_num_syms / symbols_num_addrs
    names: int              # symbols_names
    markers: int            # symbols_markers
    token_table: int
    token_index: int
    count: int              # entries, END entries included
    #: 4: 32-bit offsets from the origin; 8: absolute addresses
    width: int


@dataclass(frozen=True)
class XenSymbol:
    name: str               # without its file
    address: int
    letter: str             # nm's type letter
    #: where the symbol ends, when the table says (an END entry, Xen 4.21 on)
    end: int | None = None
    #: the source file of a local symbol (``file#name``), else None
    file: str | None = None


def find_xen_symbols(read: Reader, start: int, end: int, origin: int,
                     stext: int) -> tuple[list[XenSymbol], XenSymbolsLocations]:
    """Xen's symbols from the image [start, end) (virtual addresses), in address
    order, and where the table was.  ``origin``: ``SYMBOLS_ORIGIN`` (XEN_VIRT_START);
    ``stext``: where ``_stext`` must be.  XenSymbolsError when no table decodes."""
    image = Image(read, start, end)
    problems: list[str] = []
    for tokens in find_token_tables(image):
        for loc in _locations(image, tokens):
            try:
                return decode(image.get, loc, tokens.tokens, origin, stext), loc
            except XenSymbolsError as err:
                problems.append(f"at {loc.names:#x}: {err}")
    why = "; ".join(problems[:3]) if problems else "no token table with its markers and names"
    raise XenSymbolsError(f"Xen's symbol table was not found in its image ({why})")


# -- finding ---------------------------------------------------------------------------
def _locations(image: Image, tokens: TokenTables) -> Iterator[XenSymbolsLocations]:
    """Each layout the words before a token table may be: markers, names, count,
    addresses."""
    lo = max(image.start, tokens.table - NAMES_REACH)
    region = image.get(lo, tokens.table - lo)
    for markers_at, markers in _marker_arrays(region, lo, tokens.table):
        names = _names_before(region, lo, markers_at, markers)
        if names is None:
            continue
        names_at, count = names
        num_syms = names_at - 4
        common = {"num_syms": num_syms, "names": names_at, "markers": markers_at,
                  "token_table": tokens.table, "token_index": tokens.index, "count": count}
        yield XenSymbolsLocations(addresses=num_syms - 4 * count, width=4, **common)
        yield XenSymbolsLocations(addresses=(num_syms - 8 * count) // 8 * 8, width=8, **common)


def _marker_arrays(region: bytes, lo: int, table: int) -> Iterator[tuple[int, list[int]]]:
    """(address, values) of the runs of 32-bit words ending within 4 bytes of the
    token table that read as markers: 0, then steps of one group of names."""
    skip = (-lo) % 4
    words = memoryview(region)[skip:len(region) - (len(region) - skip) % 4].cast("I")
    first = lo + skip
    n = len(words)
    for end in range(n, max(n - 2, 0), -1):
        if table - (first + 4 * end) >= 4:
            break
        j = end - 1
        while j > 0 and GROUP_MIN <= words[j] - words[j - 1] <= GROUP_MAX:
            j -= 1
        if words[j] == 0 and end - j >= 1:
            yield first + 4 * j, list(words[j:end])


def _names_before(region: bytes, lo: int, markers_at: int, markers: list[int]
                  ) -> tuple[int, int] | None:
    """(address, count) of the names that end right before the markers, their count
    in the word before them."""
    groups = len(markers)
    last = markers[-1]
    end_off = markers_at - lo
    highest = end_off - last - 1
    highest -= (lo + highest) % 4
    for start in range(highest, max(end_off - last - GROUP_MAX, 4) - 1, -4):
        (count,) = struct.unpack_from("<I", region, start - 4)
        if not 256 * (groups - 1) < count <= 256 * groups or count > _MAX_SYMBOLS:
            continue
        stop = _walk(region, start + last, count - 256 * (groups - 1))
        if stop is None or not end_off - 4 < stop <= end_off:
            continue
        if groups > 1 and _walk(region, start, 256) != start + markers[1]:
            continue
        return lo + start, count
    return None


def _walk(blob: bytes, pos: int, count: int) -> int | None:
    """Where ``count`` names from ``pos`` end (None: past the blob)."""
    n = len(blob)
    for _ in range(count):
        if pos >= n:
            return None
        pos += blob[pos] + 1
    return pos if pos <= n else None


# -- decoding ----------------------------------------------------------------------------
def decode(read: Reader, loc: XenSymbolsLocations, tokens: tuple[bytes, ...], origin: int,
           stext: int) -> list[XenSymbol]:
    """The symbols of a located table, checked: sorted addresses, ``_stext`` at
    ``stext``, every 256th name where the markers say."""
    n = loc.count
    if loc.width == 4:
        raw = struct.unpack(f"<{n}I", read(loc.addresses, 4 * n))
        addresses = [(origin + v) & _MASK for v in raw]
    else:
        addresses = list(struct.unpack(f"<{n}Q", read(loc.addresses, 8 * n)))
    if any(a > b for a, b in zip(addresses, addresses[1:])):
        raise XenSymbolsError("the addresses are not sorted")
    blob = read(loc.names, loc.markers - loc.names)
    markers = struct.unpack(f"<{(n + 255) // 256}I",
                            read(loc.markers, 4 * ((n + 255) // 256)))
    out: list[XenSymbol] = []
    pos = 0
    join = b"".join
    for i in range(n):
        if i % 256 == 0 and markers[i // 256] != pos:
            raise XenSymbolsError(f"name {i} is not where symbols_markers says")
        length = blob[pos]
        text = join([tokens[b] for b in blob[pos + 1:pos + 1 + length]]).decode("latin-1")
        pos += length + 1
        if not text:                    # an END entry: where the symbol before it ends
            if out and out[-1].end is None:
                out[-1] = XenSymbol(out[-1].name, out[-1].address, out[-1].letter,
                                    addresses[i], out[-1].file)
            continue
        letter, name = text[0], text[1:]
        file, hash_, base = name.rpartition("#")
        out.append(XenSymbol(base, addresses[i], letter, None, file if hash_ else None))
    if pos > len(blob):
        raise XenSymbolsError("the names run past symbols_markers")
    at = next((s.address for s in out if s.name == "_stext"), None)
    if at != stext:
        raise XenSymbolsError("_stext is " + (f"at {at:#x}" if at is not None else "missing")
                              + f", not at {stext:#x} where Xen's image starts")
    return out
