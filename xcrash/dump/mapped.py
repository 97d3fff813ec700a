"""A dump file mapped read-only, with bounds-checked header reads.

Every length or offset a dump states is checked against the file size here
before anything is sliced or allocated, so a damaged header becomes one
:class:`BadDump` line, never an IndexError or a huge allocation.
"""
from __future__ import annotations

import errno
import mmap
import os
import stat
import struct
from typing import Any

from ..errors import BadDump


def read_head(path: str, shown: str, n: int = 16) -> bytes:
    """The first ``n`` bytes of a regular, non-empty file (to recognise its format)."""
    try:
        _check_regular(path, shown)
        with open(path, "rb") as f:
            head = f.read(n)
    except OSError as e:
        raise BadDump(shown, _why(e)) from None
    if not head:
        raise BadDump(shown, "empty file")
    return head


def _check_regular(path: str, shown: str) -> None:
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        raise BadDump(shown, "is a directory" if stat.S_ISDIR(mode) else "not a regular file")


class MappedFile:
    def __init__(self, path: str, shown: str | None = None) -> None:
        """Map ``path``; errors name ``shown`` (the path the user gave)."""
        self.shown = shown or path
        self.path = path
        try:
            _check_regular(path, self.shown)
            fd = os.open(path, os.O_RDONLY)
        except OSError as e:
            raise BadDump(self.shown, _why(e)) from None
        try:
            size = os.fstat(fd).st_size
            if size == 0:
                raise BadDump(self.shown, "empty file")
            self.map = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
        except OSError as e:
            os.close(fd)
            raise BadDump(self.shown, _why(e)) from None
        #: kept open for pread: data read once (a page of a search) need not stay mapped
        self.fd = fd
        self.size = size
        self.view = memoryview(self.map)

    def bytes_at(self, offset: int, length: int, what: str) -> bytes:
        """Header bytes ``[offset, offset+length)``; BadDump if outside the file."""
        self.check(offset, length, what)
        return self.map[offset:offset + length]

    def unpack(self, fmt: struct.Struct, offset: int, what: str) -> tuple[Any, ...]:
        self.check(offset, fmt.size, what)
        return fmt.unpack_from(self.map, offset)

    def pread(self, offset: int, length: int) -> bytes:
        """Bytes of the file read with pread(2), not through the mapping: they do not
        count in the process's resident set once used (callers check the bounds)."""
        return os.pread(self.fd, length, offset)

    def check(self, offset: int, length: int, what: str) -> None:
        if offset < 0 or length < 0:
            raise BadDump(self.shown, f"damaged header: {what} at offset {offset}, length {length}")
        if offset + length > self.size:
            raise BadDump(
                self.shown,
                f"truncated: {what} needs bytes up to {offset + length:#x}, the file has {self.size:#x}",
            )

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        self.view.release()
        try:
            self.map.close()
        except BufferError:
            # A view of the map is still alive (e.g. in a traceback being
            # handled); the map closes when the last view goes away.
            pass


def _why(e: OSError) -> str:
    if e.errno == errno.ENOENT:
        return "no such file"
    return f"cannot open: {e.strerror or e}"
