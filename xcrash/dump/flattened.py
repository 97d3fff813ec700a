"""Flattened makedumpfile streams (``makedumpfile -F``), rearranged into a normal file.

The stream is a 4096-byte header (signature ``makedumpfile``, big-endian
type and version 1) and then records ``{offset, size, data}`` (big-endian
int64s) meaning "write data at offset of the real file", ending with offset
-1.  Applying the records in order yields the kdump-compressed (or ELF) file.
"""
from __future__ import annotations

import struct
from typing import BinaryIO

from ..errors import BadDump
from .mapped import MappedFile

SIGNATURE = b"makedumpfile\0\0\0\0"
HEADER_SIZE = 4096
_HEADER = struct.Struct(">16sqq")
_RECORD = struct.Struct(">qq")
_END = -1
_CHUNK = 1 << 20


def is_flattened(head: bytes) -> bool:
    return head[:16] == SIGNATURE


def rearrange(path: str, out: BinaryIO, shown: str | None = None) -> None:
    """Write the file that the flattened stream ``path`` describes to ``out``."""
    shown = shown or path
    mf = MappedFile(path, shown)
    try:
        _, ftype, version = mf.unpack(_HEADER, 0, "flattened header")
        if ftype != 1 or version != 1:
            raise BadDump(shown, f"flattened format type {ftype} version {version} is not known")
        # Holes between records are small in practice; this bound stops a damaged
        # offset from making a huge (sparse) output.
        limit = 2 * mf.size + (64 << 20)
        pos = HEADER_SIZE
        while True:
            offset, size = mf.unpack(_RECORD, pos, "flattened record header (no end marker)")
            pos += _RECORD.size
            if offset == _END:
                return
            if offset < 0 or size < 0 or offset + size > limit:
                raise BadDump(shown, f"damaged flattened record at {pos - _RECORD.size:#x}: "
                                     f"offset {offset:#x}, size {size:#x}")
            mf.check(pos, size, "flattened record data")
            out.seek(offset)
            for chunk in range(pos, pos + size, _CHUNK):
                out.write(mf.view[chunk:min(chunk + _CHUNK, pos + size)])
            pos += size
    finally:
        mf.close()
