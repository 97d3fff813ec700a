"""crash's column layout for the Xen commands (no commands here).

crash builds its Xen tables with ``mkstring(width, CENTER|RJUST)``: a value
centred in its column, the odd space of padding going to the left.
"""
from __future__ import annotations

from ..layouts import columns

#: crash's VADDR_PRLEN / LONG_PRLEN and INT_PRLEN on x86_64
ADDR = 16
INT = 8


def center(text: str, width: int) -> str:
    return columns.center(text, width, odd_left=True)


def hexc(value: int | None, width: int = ADDR, missing: str = "--") -> str:
    return center(missing if value is None else f"{value:x}", width)
