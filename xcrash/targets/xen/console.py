"""Xen's console ring (what ``xl dmesg`` reads).

``conring`` (a pointer, or in old Xen the array itself) of ``conring_size``
bytes (a power of two); ``conringp`` is the free-running producer index.
Like crash, the whole ring is shown oldest first, NUL bytes skipped, text
cleared with ``xl dmesg -c`` included (``conringc`` only moves on overflow or
clear).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...caveats import caveat
from ...errors import NoSuchSymbol, NoSuchType
from ...symbols.types import Kind

if TYPE_CHECKING:
    from .hypervisor import XenTarget

DEFAULT_CONRING_SIZE = 16384


def console_ring(target: XenTarget) -> bytes:
    """The ring's bytes, oldest first, NUL bytes left out."""
    target.need_symbols("log")
    space = target.space
    ring = target.address_of("conring")
    is_array = False
    if target.has_types:
        try:
            is_array = target.variable_type("conring").strip_typedefs().kind is Kind.ARRAY
        except NoSuchType:
            is_array = False        # no type for it: Xen >= 4.1 keeps a pointer
    if not is_array:
        ring = space.read_u64(ring)
    try:
        size = space.read_u32(target.address_of("conring_size"))
    except NoSuchSymbol:
        size = DEFAULT_CONRING_SIZE     # an old Xen's ring, of a fixed size
    if not size or size & (size - 1):
        caveat(f"conring_size {size} is not a power of two: {DEFAULT_CONRING_SIZE} bytes read")
        size = DEFAULT_CONRING_SIZE
    prod = space.read_u32(target.address_of("conringp"))
    buf = space.read(ring, size)
    if prod >= size:
        idx = prod & (size - 1)
        data = buf[idx:] + buf[:idx]
    else:
        data = buf[:prod]
    return data.replace(b"\0", b"")


def console_text(target: XenTarget) -> str:
    """The ring as text, non-ASCII bytes shown as '.' (as crash shows them)."""
    raw = console_ring(target)
    text = "".join(chr(b) if b < 0x80 else "." for b in raw)
    return text
