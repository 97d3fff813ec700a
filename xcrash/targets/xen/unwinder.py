"""What a xen-syms offers for unwinding Xen's stacks: DWARF CFI (``.debug_frame``),
frame pointers (found by sampling the functions' prologues), and the text and call
sites a stack scan checks return addresses against."""
from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from ...errors import MemoryError_
from ..base import cached_per_target
from .cfi import CallFrameInfo

if TYPE_CHECKING:
    from .hypervisor import XenTarget

MASK = 0xFFFFFFFFFFFFFFFF
_THUNKS = ("__x86_indirect_thunk", "__x86_indirect_call_thunk")


class Unwinder:
    """What a target's binary offers for unwinding, found once per target."""

    def __init__(self, target: XenTarget) -> None:
        self.target = target
        self.syms = target.symbols

    @cached_property
    def cfi(self) -> CallFrameInfo | None:
        sf = self.target.symfile
        if sf is None or sf.elf is None or sf.elf.section_by_name(".debug_frame") is None:
            return None
        cfi = CallFrameInfo(sf.real_path)
        return cfi if len(cfi) else None

    @cached_property
    def frame_pointers(self) -> bool:
        """Whether Xen was built with frame pointers: most functions start with
        ``push %rbp; mov %rsp,%rbp`` (after an ``endbr64`` under CET-IBT)."""
        funcs = [s for s in self.syms if s.type_char in "tT" and (s.size or 0) >= 32
                 and s.address < self.target.space.image_end]
        if not funcs:
            return False
        step = max(1, len(funcs) // 128)
        hits = seen = 0
        for s in funcs[::step]:
            try:
                code = self.target.space.read(s.address, 24)
            except MemoryError_:
                continue                    # not in the dump: the sample goes on without it
            if not any(code):
                continue                    # .init.text, freed after boot
            seen += 1
            if code.startswith(b"\xf3\x0f\x1e\xfa"):
                code = code[4:]
            hits += code.startswith(b"\x55") and b"\x48\x89\xe5" in code
        return seen > 0 and hits * 2 > seen

    def methods(self) -> list[str]:
        out = []
        if self.cfi is not None:
            out.append("DWARF CFI")
        if self.frame_pointers:
            out.append("frame pointers")
        out.append("stack scan")
        return out

    # -- text ------------------------------------------------------------------------
    def is_text(self, addr: int) -> bool:
        space = self.target.space
        if not space.virt_start <= addr < space.image_end:
            return False
        hit = self.syms.resolve(addr)
        return bool(hit) and hit[0].type_char in "tTwW"

    def function_start(self, pc: int) -> int | None:
        hit = self.syms.resolve(pc)
        return hit[0].address if hit else None

    def after_call(self, value: int, callee: int | None) -> bool:
        """Whether ``value`` is a return address after a call (a direct one to ``callee``)."""
        try:
            code = bytes(self.target.space.read(value - 7, 7))
        except MemoryError_:
            return False                    # no code there in the dump: no call to see
        if code[2] == 0xE8:
            dest = (value + int.from_bytes(code[3:7], "little", signed=True)) & MASK
            if callee is None or dest == callee:
                return True
            hit = self.syms.resolve(dest)
            return bool(hit) and hit[0].name.startswith(_THUNKS)
        if code[1:3] == b"\xff\x15" or code[0:3] == b"\xff\x14\x25":   # call *mem
            return True
        if code[5] == 0xFF and 0xD0 <= code[6] <= 0xD7:                # call *%reg
            return True
        if code[4] == 0x41 and code[5] == 0xFF and 0xD0 <= code[6] <= 0xD7:
            return True
        return code[4] == 0xFF and 0x50 <= code[5] <= 0x57            # call *d8(%reg)


@cached_per_target
def unwinder(target: XenTarget) -> Unwinder:
    """What the target's binary offers for unwinding (found once per target)."""
    return Unwinder(target)
