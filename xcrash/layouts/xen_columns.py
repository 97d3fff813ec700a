"""crash's column layout for the Xen tables (doms, vcpus, pcpus, dumpinfo, sched).

crash builds its Xen tables with ``mkstring(width, CENTER|RJUST)``: a value
centred in its column, the odd space of padding going to the left.
"""
from __future__ import annotations

from ..caveats import Unreadable
from . import columns

#: crash's VADDR_PRLEN / LONG_PRLEN and INT_PRLEN on x86_64
ADDR = 16
INT = 8


def center(text: str, width: int) -> str:
    return columns.center(text, width, odd_left=True)


def hexc(value: int | Unreadable | None, width: int = ADDR, missing: str = "--") -> str:
    """A hexadecimal value centred in its column; ``missing`` when there is none, ``?``
    when it could not be read."""
    if isinstance(value, Unreadable):
        return center("?", width)
    return center(missing if value is None else f"{value:x}", width)
