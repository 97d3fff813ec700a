"""A Xen physical CPU's stack, read a page at a time.

The 8-page stack of a pCPU (xen-dumps.md §6.2): page 1 #MC, 2 NMI, 3 #DB, 4 #DF (IST
stacks), 6–7 the primary stack with ``struct cpu_info`` at its top, whose
``guest_cpu_user_regs`` hold the guest's registers when Xen was entered from a guest.
"""
from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from ...caveats import caveat
from ...errors import MemoryError_, XcrashError
from .layout import CPU_USER_REGS

if TYPE_CHECKING:
    from .hypervisor import XenTarget

PAGE = 4096
UREGS = ("r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax", "rcx",
         "rdx", "rsi", "rdi")
UREGS_RBP = CPU_USER_REGS["rbp"][0]
_IST_PAGES = {1: "#MC", 2: "NMI", 3: "#DB", 4: "#DF"}


class StackEnd(Exception):
    """A word of the stack could not be read: the walk ends there (its message says
    where)."""


class PcpuStack:
    """One pCPU's stack pages, read once."""

    def __init__(self, target: XenTarget, cpu: int) -> None:
        self.target = target
        self.base = target.stack_bases[cpu]
        self.size = target.stack_size
        self.top = self.base + self.size
        try:
            self.cpu_info: int | None = self.top - target.cpu_info_size
        except XcrashError as err:
            caveat(f"pCPU {cpu}: {err}: a guest frame looked for in the stack's last 512 bytes")
            self.cpu_info = None
        self._pages: dict[int, bytes | None] = {}

    def name(self, addr: int) -> str | None:
        if not self.base <= addr < self.top:
            return None
        page = (addr - self.base) >> 12
        return _IST_PAGES.get(page, "primary" if page >= 6 else None)

    def range(self, addr: int) -> tuple[int, int]:
        """[low, high) of the stack holding ``addr`` (an IST page, or the primary stack)."""
        page = (addr - self.base) >> 12
        if page >= 6:
            return self.base + 6 * PAGE, self.cpu_info or self.top
        lo = self.base + page * PAGE
        return lo, lo + PAGE

    def u64(self, addr: int) -> int:
        base = addr & ~0xFFF
        if base not in self._pages:
            try:
                self._pages[base] = bytes(self.target.space.read(base, PAGE))
            except MemoryError_:
                self._pages[base] = None    # read word by word below: an unreadable one stops
        p = self._pages[base]
        off = addr & 0xFFF
        if p is None or off > PAGE - 8:
            try:
                return self.target.space.read_u64(addr)
            except XcrashError as err:
                raise StackEnd(f"cannot read {addr:x}: {err}") from None
        return int.from_bytes(p[off:off + 8], "little")

    def regs(self, addr: int) -> dict[str, int]:
        raw = b"".join(self.u64(addr + 8 * i).to_bytes(8, "little") for i in range(25))
        out = dict(zip(UREGS, struct.unpack_from("<15Q", raw)))
        out["error_code"], out["entry_vector"] = struct.unpack_from("<II", raw, 120)
        out["rip"], = struct.unpack_from("<Q", raw, 128)
        out["cs"], = struct.unpack_from("<H", raw, 136)
        out["saved_upcall_mask"] = raw[140]
        out["rflags"], out["rsp"] = struct.unpack_from("<QQ", raw, 144)
        out["ss"], = struct.unpack_from("<H", raw, 160)
        for i, seg in enumerate(("es", "ds", "fs", "gs")):
            out[seg], = struct.unpack_from("<H", raw, 168 + 8 * i)
        return out
