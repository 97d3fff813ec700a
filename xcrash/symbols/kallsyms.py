"""The kernel's own symbol table, kallsyms, decoded from its memory.

A kernel built with CONFIG_KALLSYMS keeps every symbol's name and address in a few
arrays of its image (scripts/kallsyms.c writes them, kernel/kallsyms.c reads them):

- ``kallsyms_num_syms``: how many;
- ``kallsyms_names``: each name as a length then that many token bytes; the first
  character of the expanded name is nm's type letter.  The length is one byte, or
  since Linux 6.1 ("kallsyms: support big kernel symbols") two when its top bit is
  set (7 low bits first);
- ``kallsyms_token_table`` / ``kallsyms_token_index``: the 256 tokens (NUL-ended
  strings) the name bytes stand for;
- ``kallsyms_markers``: the offset in ``kallsyms_names`` of every 256th name;
- the addresses, in one of four encodings over the years: absolute
  (``kallsyms_addresses``, before 6.11), base-relative (``kallsyms_offsets`` plus
  ``kallsyms_relative_base``, 4.6 to 6.19), absolute-percpu (the same arrays, a
  non-negative offset being a per-CPU address itself, x86-64 up to 6.14), and
  place-relative (7.0 on: each offset counts from its own slot).

Linux 6.0 put the arrays' addresses into VMCOREINFO.  Nothing here guesses by
release: the length encoding is the one that lands the 256th name on
``kallsyms_markers[1]``, the address encoding the one that puts ``_stext`` where
VMCOREINFO says it is.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from collections.abc import Callable

from ..errors import XcrashError

#: reads ``size`` bytes at a kernel virtual address
Reader = Callable[[int, int], bytes]

_MAX_SYMBOLS = 1 << 22


class KallsymsError(XcrashError):
    """The kallsyms tables cannot be decoded."""


@dataclass(frozen=True)
class KallsymsLocations:
    """Run-time addresses of the tables (VMCOREINFO's SYMBOL(kallsyms_*) entries)."""
    num_syms: int
    names: int
    token_table: int
    token_index: int
    offsets: int | None = None          # kallsyms_offsets (relative encodings)
    relative_base: int | None = None    # kallsyms_relative_base (before 7.0)
    addresses: int | None = None        # kallsyms_addresses (absolute encoding)


@dataclass(frozen=True)
class KallsymsSymbol:
    name: str
    address: int
    letter: str            # nm's type letter: t T d D b B r R A ...


def read_kallsyms(read: Reader, loc: KallsymsLocations, stext: int) -> list[KallsymsSymbol]:
    """Every kallsyms symbol, in the table's (address) order.  ``stext`` is the
    run-time address of ``_stext`` (VMCOREINFO's SYMBOL(_stext)), which decides the
    address encoding."""
    (count,) = struct.unpack("<I", read(loc.num_syms, 4))
    if not 0 < count < _MAX_SYMBOLS:
        raise KallsymsError(f"kallsyms_num_syms is {count}")
    index = struct.unpack("<256H", read(loc.token_index, 512))
    tokens = _tokens(read, loc.token_table, index)
    blob = _names_blob(read, loc.names, count)
    tried = []
    for long_lengths in (True, False):
        decoded = _decode_names(blob, count, tokens, long_lengths)
        if decoded is None:
            tried.append("runs past the table" + (" (two-byte lengths)" if long_lengths else ""))
            continue
        names, starts = decoded
        addresses = _addresses(read, loc, count, names, stext)
        if _markers_agree(read, names, starts, addresses):
            return [KallsymsSymbol(name[1:], address, name[:1])
                    for name, address in zip(names, addresses)]
        tried.append("kallsyms_markers disagree" + (" (two-byte lengths)" if long_lengths else ""))
    raise KallsymsError("kallsyms_names does not decode: " + "; ".join(tried))


def _markers_agree(read: Reader, names: list[str], starts: list[int],
                   addresses: list[int]) -> bool:
    """The 256th name starts where kallsyms_markers[1] says (the markers array is a
    symbol of the table itself: unsigned long before 6.x, unsigned int after)."""
    if len(starts) <= 256:
        return True
    try:
        at = addresses[next(i for i, n in enumerate(names) if n[1:] == "kallsyms_markers")]
    except StopIteration:
        return True     # no markers symbol to check against: the walk itself must do
    raw = read(at, 16)
    return starts[256] in (struct.unpack_from("<I", raw, 4)[0], struct.unpack_from("<Q", raw, 8)[0])


def _tokens(read: Reader, table: int, index: tuple[int, ...]) -> list[bytes]:
    end = max(index)
    raw = read(table, end + 256)
    last = raw.find(b"\0", end)
    if last < 0:
        raise KallsymsError("kallsyms_token_table has no end")
    raw = raw[:last + 1]
    out = []
    for start in index:
        stop = raw.find(b"\0", start)
        out.append(raw[start:stop])
    return out


def _names_blob(read: Reader, names: int, count: int) -> bytes:
    """Enough of kallsyms_names for every name under both length encodings (what
    lies after the names is read too, harmlessly: the image goes on)."""
    size = count * 16
    while True:
        blob = read(names, size)
        if max(_walk_end(blob, count, True), _walk_end(blob, count, False)) <= size \
                or size > count * 260:
            return blob
        size *= 2


def _walk_end(blob: bytes, count: int, long_lengths: bool) -> int:
    """Where the names end under a length encoding (past the blob: more is needed)."""
    pos = 0
    n = len(blob)
    for _ in range(count):
        if pos >= n:
            return n + 1
        length = blob[pos]
        pos += 1
        if long_lengths and length & 0x80:
            if pos >= n:
                return n + 1
            length = (length & 0x7F) | (blob[pos] << 7)
            pos += 1
        pos += length
    return pos


def _decode_names(blob: bytes, count: int, tokens: list[bytes],
                  long_lengths: bool) -> tuple[list[str], list[int]] | None:
    """(names, offset of each name in the blob), or None if the walk runs out."""
    names: list[str] = []
    starts: list[int] = []
    pos = 0
    n = len(blob)
    join = b"".join
    for _ in range(count):
        if pos >= n:
            return None
        starts.append(pos)
        length = blob[pos]
        pos += 1
        if long_lengths and length & 0x80:
            length = (length & 0x7F) | (blob[pos] << 7)
            pos += 1
        if not length or pos + length > n:
            return None
        names.append(join([tokens[b] for b in blob[pos:pos + length]]).decode("latin-1"))
        pos += length
    return names, starts


def _addresses(read: Reader, loc: KallsymsLocations, count: int, names: list[str],
               stext: int) -> list[int]:
    try:
        stext_at = next(i for i, n in enumerate(names) if n[1:] == "_stext")
    except StopIteration:
        raise KallsymsError("no _stext in kallsyms") from None
    if loc.addresses is not None:
        return list(struct.unpack(f"<{count}Q", read(loc.addresses, 8 * count)))
    if loc.offsets is None:
        raise KallsymsError("neither kallsyms_addresses nor kallsyms_offsets")
    offsets = struct.unpack(f"<{count}i", read(loc.offsets, 4 * count))
    candidates: list[Callable[[int, int], int]] = []
    if loc.relative_base is not None:
        (base,) = struct.unpack("<Q", read(loc.relative_base, 8))
        # absolute per-CPU: non-negative offsets are addresses, negative ones count back
        candidates.append(lambda i, v: v if v >= 0 else base - 1 - v)
        candidates.append(lambda i, v: base + (v & 0xFFFFFFFF))        # base-relative
    # place-relative (7.0 on): each offset from its own slot
    candidates.append(lambda i, v: (loc.offsets + 4 * i + v) & 0xFFFFFFFFFFFFFFFF)  # type: ignore[operator]
    for decode in candidates:
        if decode(stext_at, offsets[stext_at]) == stext:
            return [decode(i, v) & 0xFFFFFFFFFFFFFFFF for i, v in enumerate(offsets)]
    raise KallsymsError("no address encoding puts _stext where VMCOREINFO says")
