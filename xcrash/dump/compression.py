"""Decoding of kdump-compressed page data (per-page ``page_desc.flags``).

zlib pages are inflated by ISA-L (isal) where it is installed, 1.6 times as fast as the
standard library's zlib on kdump pages (searching a zlib dump is mostly inflating), by
zlib otherwise; LZO (lzallright) and snappy/zstd (cramjam) are imported only when a page
needs them.  A page must decode to
exactly one page; where the format states the decoded size up front (snappy,
zstd) it is checked before decoding so a damaged page cannot make us
allocate much.
"""
from __future__ import annotations

import zlib
from typing import Any

ZLIB = 0x1
LZO = 0x2
SNAPPY = 0x4
INCOMPLETE = 0x8          # header.status only
EXCLUDED_VMEMMAP = 0x10   # header.status only
ZSTD = 0x20

_NAMES = {ZLIB: "zlib", LZO: "lzo", SNAPPY: "snappy", ZSTD: "zstd"}
_METHODS = ZLIB | LZO | SNAPPY | ZSTD


class CorruptPage(Exception):
    """Page data that does not decode to one page (the reader adds the address)."""


def method_name(status: int) -> str | None:
    """The compression a header's ``status`` asks for, or None (pages stored raw)."""
    for bit, name in _NAMES.items():
        if status & bit:
            return name
    return None


def decompress(data: bytes, flags: int, page_size: int) -> bytes:
    """Decode one page stored with ``page_desc.flags``; raise CorruptPage on failure."""
    method = flags & _METHODS
    if method == 0:
        out = data
    elif method == ZLIB:
        out = _zlib(data, page_size)
    elif method == LZO:
        out = _lzo(data, page_size)
    elif method == SNAPPY:
        out = _snappy(data, page_size)
    elif method == ZSTD:
        out = _zstd(data, page_size)
    else:
        raise CorruptPage(f"unknown compression flags {flags:#x}")
    if len(out) != page_size:
        what = "more than one page" if len(out) > page_size else f"{len(out)} bytes, not one page"
        raise CorruptPage(f"{_NAMES.get(method, 'raw')} data decodes to {what}")
    return out


_inflater: Any = None


def _zlib(data: bytes, page_size: int) -> bytes:
    global _inflater
    if _inflater is None:
        try:
            from isal import isal_zlib
            _inflater = isal_zlib
        except ImportError:
            _inflater = zlib
    try:
        out: bytes = _inflater.decompressobj().decompress(data, page_size + 1)
        return out
    except _inflater.error as e:
        raise CorruptPage(f"zlib: {e}") from None


_lzo_compressor: Any = None


def _lzo(data: bytes, page_size: int) -> bytes:
    global _lzo_compressor
    if _lzo_compressor is None:
        from lzallright import LZOCompressor
        _lzo_compressor = LZOCompressor()
    from lzallright import LZOError
    try:
        return bytes(_lzo_compressor.decompress(data, output_size_hint=page_size))
    except LZOError as e:
        raise CorruptPage(f"lzo: {e}") from None


def _snappy(data: bytes, page_size: int) -> bytes:
    import cramjam
    size, _ = _varint(data)
    if size != page_size:
        raise CorruptPage(f"snappy data announces {size} bytes, not one page")
    try:
        return bytes(cramjam.snappy.decompress_raw(data))
    except cramjam.DecompressionError as e:
        raise CorruptPage(f"snappy: {e}") from None


def _zstd(data: bytes, page_size: int) -> bytes:
    import cramjam
    size = _zstd_content_size(data)
    if size is not None and size != page_size:
        raise CorruptPage(f"zstd frame announces {size} bytes, not one page")
    try:
        return bytes(cramjam.zstd.decompress(data, output_len=page_size))
    except cramjam.DecompressionError as e:
        raise CorruptPage(f"zstd: {e}") from None


def _varint(data: bytes) -> tuple[int | None, int]:
    value = shift = 0
    for i, byte in enumerate(data[:5]):
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, i + 1
        shift += 7
    return None, 0


def _zstd_content_size(data: bytes) -> int | None:
    """Frame_Content_Size from a zstd frame header, if the frame states it."""
    if len(data) < 5 or data[:4] != b"\x28\xb5\x2f\xfd":
        raise CorruptPage("zstd: no frame magic")
    fhd = data[4]
    single_segment = (fhd >> 5) & 1
    fcs_len = (1 if single_segment else 0, 2, 4, 8)[fhd >> 6]
    pos = 5 + (0 if single_segment else 1) + (0, 1, 2, 4)[fhd & 3]
    if fcs_len == 0:
        return None
    if len(data) < pos + fcs_len:
        raise CorruptPage("zstd: truncated frame header")
    size = int.from_bytes(data[pos:pos + fcs_len], "little")
    return size + 256 if fcs_len == 2 else size
