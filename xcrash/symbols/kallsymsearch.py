"""Finding the kallsyms tables in a kernel image that does not say where they are.

Linux 6.0 and later name the tables in VMCOREINFO (``kallsyms.py`` reads them from
there).  Before, only their structure gives them away, and it is distinctive
enough (scripts/kallsyms.c writes it):

1. **the token table**: the 256 tokens in byte-code order, each NUL-ended.  Every
   character that occurs in some symbol name is its own token, so the digits'
   codes hold ``"0" "1" ... "9"``: the bytes ``0\\0 1\\0 2\\0 ... 9\\0`` mark the
   table.  Its 208 tokens from ``0`` on end where ``kallsyms_token_index``
   begins (aligned), whose 256 offsets must lay the whole table out exactly;
2. **the markers**: ``kallsyms_markers`` (each 256th name's offset in the names:
   0, then steps of one group of 256 compressed names) lies before the token
   table, right before it or before ``kallsyms_seqs_of_names`` (3 bytes a
   symbol, 6.2 on and some stable kernels);
3. **the names**: ``kallsyms_names`` ends just before the markers and
   ``kallsyms_num_syms`` just precedes it; a start is right when the number
   there walks the last group of names exactly to the markers and the first
   group to ``markers[1]``;
4. **the addresses**: before ``kallsyms_num_syms`` (``kallsyms_offsets`` and
   ``kallsyms_relative_base``, or ``kallsyms_addresses``) until 6.3, after the
   token index from 6.4 on.  Each layout is offered; ``read_kallsyms`` keeps the
   one that puts ``_stext`` where VMCOREINFO says.

Alignments are 8 bytes (4 in 7.x; 2 for the index of Xen 4.21's own table, which
symbols/xensyms.py finds with these helpers); each is tried.  Nothing is guessed from the
release.
"""
from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ..errors import MemoryError_
from .kallsyms import KallsymsLocations

#: reads ``size`` bytes at a kernel virtual address
Reader = Callable[[int, int], bytes]

#: the digits' tokens, in code order: the token table's mark
DIGITS = b"".join(bytes([c]) + b"\0" for c in b"0123456789")
#: how far before the token table the names are looked for, and the markers
NAMES_REACH = 8 << 20
MARKERS_REACH = 4 << 20
#: a group of 256 compressed names: at least a length and a token each, at most
#: KSYM_NAME_LEN (512) tokens and a two-byte length
GROUP_MIN, GROUP_MAX = 256 * 2, 256 * 514
_CHUNK = 1 << 20
_PAGE = 4096
_MAX_TOKEN = 256


@dataclass(frozen=True)
class TokenTables:
    table: int                  # kallsyms_token_table
    index: int                  # kallsyms_token_index
    tokens: tuple[bytes, ...]


@dataclass(frozen=True)
class NameTables:
    num_syms: int               # kallsyms_num_syms
    names: int                  # kallsyms_names
    count: int                  # its value
    markers: int                # kallsyms_markers


class Image:
    """The kernel image at run-time addresses, read in 1 MiB chunks on demand (a page
    the dump lacks reads as zeros: the tables are never there)."""

    def __init__(self, read: Reader, start: int, end: int) -> None:
        self._read = read
        self.start, self.end = start, end
        self._chunks: dict[int, bytes] = {}

    def _chunk(self, base: int) -> bytes:
        chunk = self._chunks.get(base)
        if chunk is None:
            try:
                chunk = self._read(base, _CHUNK)
            except MemoryError_:
                pages = []
                for page in range(base, base + _CHUNK, _PAGE):
                    try:
                        pages.append(self._read(page, _PAGE))
                    except MemoryError_:
                        pages.append(bytes(_PAGE))      # not in the dump: no table there
                chunk = b"".join(pages)
            self._chunks[base] = chunk
        return chunk

    def get(self, address: int, size: int) -> bytes:
        """``size`` bytes at ``address`` (clipped to the image)."""
        lo, hi = max(address, self.start), min(address + size, self.end)
        if hi <= lo:
            return b""
        out = []
        base = lo - (lo - self.start) % _CHUNK
        while base < hi:
            chunk = self._chunk(base)
            out.append(chunk[max(lo - base, 0):hi - base])
            base += _CHUNK
        return b"".join(out)


def search_kallsyms(read: Reader, start: int, end: int) -> list[KallsymsLocations]:
    """Where the kallsyms tables may be in the image [start, end) (run-time
    addresses, start page-aligned), most likely layout first; [] when no token table
    with its names is found.  Searched from the end (the tables are in .rodata,
    nearer its data than the text's start)."""
    image = Image(read, start, end)
    for tokens in find_token_tables(image):
        names = find_names(image, tokens)
        if names is not None:
            return address_layouts(image, tokens, names)
    return []


# -- 1. the token table and its index ---------------------------------------------------
def find_token_tables(image: Image) -> Iterator[TokenTables]:
    """Every token table the image holds, nearest its end first."""
    top = image.end
    while top > image.start:
        lo = max(image.start, top - _CHUNK)
        window = image.get(lo, top + len(DIGITS) - lo)      # the marks that begin below top
        at = window.rfind(DIGITS)
        while at >= 0:
            found = _token_tables_at(image, lo + at)
            if found is not None:
                yield found
            at = window.rfind(DIGITS, 0, at + len(DIGITS) - 1)
        top = lo


def _token_tables_at(image: Image, anchor: int) -> TokenTables | None:
    """The token table whose digits begin at ``anchor``, and its index, if they agree."""
    raw = image.get(anchor, (256 - 0x30) * _MAX_TOKEN)
    pos = 0
    for _ in range(256 - 0x30):
        nul = raw.find(b"\0", pos)
        if nul < 0 or nul - pos > _MAX_TOKEN:
            return None
        pos = nul + 1
    end = anchor + pos
    for align in (8, 4, 2):             # 2: Xen 4.21 on (symbols/xensyms.py)
        index_at = -(-end // align) * align
        index = struct.unpack("<256H", image.get(index_at, 512).ljust(512, b"\0"))
        table = anchor - index[0x30]
        if index[0] != 0 or index[0x30] > anchor - image.start:
            continue
        if any(a >= b for a, b in zip(index, index[1:])) or table + index[255] >= end:
            continue
        body = image.get(table, end - table)
        tokens = []
        for i, off in enumerate(index):
            stop = index[i + 1] - 1 if i < 255 else len(body) - 1
            if body[stop:stop + 1] != b"\0" or b"\0" in body[off:stop]:
                break
            tokens.append(body[off:stop])
        else:
            return TokenTables(table, index_at, tuple(tokens))
    return None


# -- 2, 3. the markers, the names and their count -----------------------------------------
def find_names(image: Image, tokens: TokenTables) -> NameTables | None:
    """kallsyms_num_syms, kallsyms_names and kallsyms_markers before a token table."""
    lo = max(image.start, tokens.table - NAMES_REACH)
    region = image.get(lo, tokens.table - lo)
    for width in (4, 8):
        for markers_at, markers in _marker_arrays(region, lo, tokens.table, width):
            found = _names_before(region, lo, markers_at, markers)
            if found is not None:
                return found
    return None


def _marker_arrays(region: bytes, lo: int, table: int, width: int
                   ) -> Iterator[tuple[int, list[int]]]:
    """(address, values) of each run of ``width``-byte words, nearest the table first,
    that reads as kallsyms_markers: 0, then steps of one group of names, ending just
    before the token table or before a seqs_of_names table of 3 bytes a symbol."""
    skip = len(region) % width
    words = memoryview(region)[skip:].cast("I" if width == 4 else "Q")
    first = lo + skip                   # the address of words[0]; words end at the table
    n = len(words)
    for end in range(n, max(n - MARKERS_REACH // width, 1), -1):
        j = end - 1
        if not words[j]:
            continue
        while j and GROUP_MIN <= words[j] - words[j - 1] <= GROUP_MAX:
            j -= 1
        if words[j] or end - j < 2:
            continue
        groups = end - j
        gap = (n - end) * width         # between the markers and the token table
        if gap < 8 or 3 * 256 * (groups - 1) < gap <= 3 * 256 * groups + 16:
            yield first + j * width, list(words[j:end])


def _names_before(region: bytes, lo: int, markers_at: int, markers: list[int]
                  ) -> NameTables | None:
    """The names that end just before these markers, with the count before them."""
    groups = len(markers)
    last = markers[-1]
    end_off = markers_at - lo
    highest = end_off - last - 2
    highest -= (lo + highest) % 4           # names begin 4-aligned at least
    for start in range(highest, max(end_off - last - GROUP_MAX, 8) - 1, -4):
        for count_at in (start - 4, start - 8):
            if count_at < 0:
                continue
            if count_at == start - 8 and region[start - 4:start] != bytes(4):
                continue
            (count,) = struct.unpack_from("<I", region, count_at)
            if not 256 * (groups - 1) < count <= 256 * groups:
                continue
            for long_lengths in (True, False):
                stop = _walk(region, start + last, count - 256 * (groups - 1), long_lengths)
                if stop is None or not end_off - 8 < stop <= end_off:
                    continue
                if groups > 1 and _walk(region, start, 256, long_lengths) != start + markers[1]:
                    continue
                return NameTables(lo + count_at, lo + start, count, markers_at)
    return None


def _walk(blob: bytes, pos: int, count: int, long_lengths: bool) -> int | None:
    """Where ``count`` names from ``pos`` end (None: past the blob, or an empty name)."""
    n = len(blob)
    for _ in range(count):
        if pos >= n:
            return None
        length = blob[pos]
        pos += 1
        if long_lengths and length & 0x80:
            if pos >= n:
                return None
            length = (length & 0x7F) | (blob[pos] << 7)
            pos += 1
        if not length:
            return None
        pos += length
    return pos if pos <= n else None


# -- 4. the addresses ------------------------------------------------------------------------
def address_layouts(image: Image, tokens: TokenTables, names: NameTables
                    ) -> list[KallsymsLocations]:
    """Each place the address table may be, as locations for ``read_kallsyms``: before
    kallsyms_num_syms (until 6.3: offsets and relative base, or absolute addresses),
    after the token index (6.4 on)."""
    n = names.count
    common = {"num_syms": names.num_syms, "names": names.names, "token_table": tokens.table,
              "token_index": tokens.index}
    out = []
    base = names.num_syms - 8
    if _kernel_address(image, base):
        out.append(KallsymsLocations(**common, offsets=(base - 4 * n) // 8 * 8,
                                     relative_base=base))
    if _kernel_address(image, names.num_syms - 8):
        out.append(KallsymsLocations(**common, addresses=names.num_syms - 8 * n))
    after = tokens.index + 512
    relative_base = -(-(after + 4 * n) // 8) * 8
    out.append(KallsymsLocations(**common, offsets=after, relative_base=relative_base))
    if _kernel_address(image, after):
        out.append(KallsymsLocations(**common, addresses=after))
    return out


def _kernel_address(image: Image, address: int) -> bool:
    """Whether the word there reads as a kernel address (a relative base, or the
    last of the absolute addresses)."""
    raw = image.get(address, 8)
    return len(raw) == 8 and struct.unpack("<Q", raw)[0] >= 0xFFFF800000000000
