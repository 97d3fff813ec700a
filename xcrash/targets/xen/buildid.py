"""The build-id of the hypervisor in a Xen host dump, read without its xen-syms.

A Xen dump carries no build-id note of its own (VMCOREINFO_XEN has none), but Xen's
image holds its ``.note.gnu.build-id`` (between ``__note_gnu_build_id_start`` and
``_end``, in its read-only data a few MiB past ``xen_phys_start``).  The first GNU
build-id note of the image is the hypervisor's: this is how a triage picks the
xen-syms of a dump among many, by build-id, before opening any.
"""
from __future__ import annotations

import struct
from typing import Any

from ...errors import MemoryError_

#: how far past xen_phys_start the note is looked for (Xen's image is smaller)
IMAGE_SPAN = 16 << 20
CHUNK = 1 << 20
#: the note header of a 20-byte (SHA-1) GNU build-id: namesz 4, descsz 20, type 3, "GNU"
_NOTE = struct.pack("<III", 4, 20, 3) + b"GNU\0"


def hypervisor_build_id(dump: Any) -> str | None:
    """The hypervisor's GNU build-id as lower-case hex; None when the dump is no Xen
    host's, says nothing of where Xen's image is, or its image holds no note."""
    xen = dump.xen
    if xen is None or xen.xen_phys_start is None:
        return None
    start = xen.xen_phys_start
    tail = b""
    for off in range(0, IMAGE_SPAN, CHUNK):
        buf = tail + _read(dump, start + off, CHUNK)
        i = buf.find(_NOTE)
        if i >= 0 and i + len(_NOTE) + 20 <= len(buf):
            return buf[i + len(_NOTE):i + len(_NOTE) + 20].hex()
        tail = buf[-(len(_NOTE) + 20):]
    return None


def _read(dump: Any, address: int, size: int) -> bytes:
    """``size`` bytes, a page the dump lacks read as zeros."""
    try:
        return bytes(dump.read(address, size))
    except MemoryError_:
        pass                # a page is missing: read page by page below, it as zeros
    out = bytearray()
    for page in range(address, address + size, 4096):
        try:
            out += dump.read(page, 4096)
        except MemoryError_:
            out += bytes(4096)
    return bytes(out)
