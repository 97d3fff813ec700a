"""Searching a stack for saved registers (``struct pt_regs``) when unwinding cannot
say where they are: what crash's ``bt -e`` / ``bt -E`` show."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...caveats import caveat
from ...errors import MemoryError_, TranslationError
from .stacks import PT_REGS

if TYPE_CHECKING:
    from .kernel import LinuxTarget

KERNEL_CS, USER_CS, USER32_CS = 0x10, 0x33, 0x23
USER_TOP = 0x0000800000000000


def plausible_frame(target: LinuxTarget, regs: dict[str, int]) -> str | None:
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


def exception_frames(target: LinuxTarget, lo: int, hi: int
                     ) -> list[tuple[int, str, dict[str, int]]]:
    """(address, "KERNEL"|"USER", registers) of every plausible pt_regs in [lo, hi);
    pages that cannot be read are left out, with a caveat."""
    raw = bytearray(hi - lo)
    holes: list[tuple[int, int]] = []
    page = lo
    while page < hi:
        end = min((page | 0xFFF) + 1, hi)
        try:
            raw[page - lo:end - lo] = target.read(page, end - page)
        except TranslationError:
            holes.append((page - lo, end - lo))   # unmapped (a guard page, VC without
            # SEV-ES): nothing was ever saved there
        except MemoryError_ as err:
            caveat(f"stack page {page:x} unreadable ({err}): not searched for exception frames")
            holes.append((page - lo, end - lo))
        page = end
    size = 8 * len(PT_REGS)
    found = []
    for off in range(0, len(raw) - size + 1, 8):
        if any(a < off + size and off < b for a, b in holes):
            continue
        words = [int.from_bytes(raw[off + 8 * i:off + 8 * i + 8], "little")
                 for i in range(len(PT_REGS))]
        regs = dict(zip(PT_REGS, words, strict=True))
        kind = plausible_frame(target, regs)
        if kind is not None:
            found.append((lo + off, kind, regs))
    return found


def text_symbol(target: LinuxTarget, value: int) -> str | None:
    """The kernel function an address lies in (or just past: the return of a final
    call), or None when it points at no code."""
    hit = target.symbols.resolve(value) if target.symbols is not None else None
    if hit is None or hit[0].type_char not in "tTwW":
        return None
    if hit[0].size and hit[1] > hit[0].size:
        return None
    return hit[0].name
