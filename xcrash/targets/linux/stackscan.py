"""Searching a stack for saved registers (``struct pt_regs``) when unwinding cannot
say where they are: what crash's ``bt -e`` / ``bt -E`` show."""
from __future__ import annotations

from typing import Any

from ...errors import MemoryError_
from .unwind import PT_REGS

KERNEL_CS, USER_CS, USER32_CS = 0x10, 0x33, 0x23
USER_TOP = 0x0000800000000000


def plausible_frame(target: Any, regs: dict[str, int]) -> str | None:
    """"KERNEL" or "USER" when the words look like a ``struct pt_regs``, else None."""
    flags = regs["rflags"]
    if not flags & 0x2 or flags >> 22:
        return None
    if regs["cs"] == KERNEL_CS and regs["ss"] in (0, 0x18):
        return "KERNEL" if text_symbol(target, regs["rip"]) else None
    if regs["cs"] in (USER_CS, USER32_CS) and regs["ss"] in (0x2b, 0x23):
        if regs["rip"] < USER_TOP and 0 < regs["rsp"] < USER_TOP:
            return "USER"
    return None


def exception_frames(target: Any, lo: int, hi: int) -> list[tuple[int, str, dict[str, int]]]:
    """(address, "KERNEL"|"USER", registers) of every plausible pt_regs in [lo, hi)."""
    try:
        raw = target.read(lo, hi - lo)
    except MemoryError_:
        return []
    size = 8 * len(PT_REGS)
    found = []
    for off in range(0, len(raw) - size + 1, 8):
        words = [int.from_bytes(raw[off + 8 * i:off + 8 * i + 8], "little")
                 for i in range(len(PT_REGS))]
        regs = dict(zip(PT_REGS, words))
        kind = plausible_frame(target, regs)
        if kind is not None:
            found.append((lo + off, kind, regs))
    return found


def text_symbol(target: Any, value: int) -> str | None:
    """The kernel function an address lies in (or just past: the return of a final
    call), or None when it points at no code."""
    hit = target.symbols.resolve(value) if target.symbols is not None else None
    if hit is None or hit[0].type_char not in "tTwW":
        return None
    if hit[0].size and hit[1] > hit[0].size:
        return None
    return hit[0].name
