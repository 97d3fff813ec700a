"""The stacks a Linux task or CPU runs on, and reading their words.

A task runs on its own kernel stack (THREAD_SIZE at ``task->stack``) and, on its
CPU, on the IRQ stack (``hardirq_stack_ptr``) and the exception stacks of the CPU
entry area (NMI, DOUBLEFAULT, DEBUG, MCE, VC).  A ``struct pt_regs`` on them is
read as :data:`PT_REGS`.
"""
from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from ...arch import PAGE_SIZE
from ...caveats import caveat
from ...errors import MemoryError_, NoSuchSymbol, NoSuchType
from ..base import cached_per_target
from .tasks import thread_size

if TYPE_CHECKING:
    from ...memory.space import AddressSpace
    from ...objects import Object
    from .kernel import LinuxTarget

#: the registers of a ``struct pt_regs``, in memory order
PT_REGS = ("r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax", "rcx",
           "rdx", "rsi", "rdi", "orig_rax", "rip", "cs", "rflags", "rsp", "ss")
PT_REGS_SIZE = 8 * len(PT_REGS)


class Stacks:
    """The stacks a task may be running on: its own, its CPU's IRQ and exception stacks."""

    def __init__(self, target: LinuxTarget, task: Object, cpu: int | None, *,
                 base: int | None = None) -> None:
        self.target = target
        self.ranges: list[tuple[int, int, str]] = []
        size = thread_size(target)
        if base is None:            # task->stack, unless the caller read it
            base = int(task.stack)
        self.ranges.append((base, base + size, "task"))
        if cpu is not None:
            self.ranges.extend(cpu_stacks(target, cpu))

    def kind(self, addr: int) -> str | None:
        for lo, hi, kind in self.ranges:
            if lo <= addr < hi:
                return kind
        return None

    def kind_or_guard(self, addr: int) -> str | None:
        """The stack of ``addr``, counting the guard page just below a task stack as
        that stack: where a kernel stack overflow (a double fault) leaves rsp."""
        kind = self.kind(addr)
        if kind is None:
            for lo, _hi, k in self.ranges:
                if k == "task" and lo - PAGE_SIZE <= addr < lo:
                    return k
        return kind

    def range_of(self, addr: int) -> tuple[int, int, str] | None:
        for r in self.ranges:
            if r[0] <= addr < r[1]:
                return r
        return None


_ESTACK_NAMES = {"DF_stack": "DOUBLEFAULT", "NMI_stack": "NMI", "DB_stack": "DEBUG",
                 "MCE_stack": "MCE", "VC_stack": "VC", "VC2_stack": "VC2"}


@cached_per_target
def _cpu_stacks_known(target: LinuxTarget) -> dict[int, list[tuple[int, int, str]]]:
    return {}


def _hardirq_stack_ptr(target: LinuxTarget, cpu: int) -> int:
    """A CPU's IRQ stack pointer: a per-CPU variable of its own, or (6.2 to 6.14) a member
    of the per-CPU ``struct pcpu_hot``."""
    if target.symbols.get("hardirq_stack_ptr") is None and target.symbols.get("pcpu_hot"):
        return int(target.per_cpu("pcpu_hot", cpu).hardirq_stack_ptr)
    return int(target.per_cpu("hardirq_stack_ptr", cpu))


def cpu_stacks(target: LinuxTarget, cpu: int) -> list[tuple[int, int, str]]:
    """(low, high, name) of a CPU's IRQ stack and exception stacks (NMI, DOUBLEFAULT, ...)."""
    known = _cpu_stacks_known(target)
    if cpu in known:
        return known[cpu]
    out: list[tuple[int, int, str]] = []
    size = thread_size(target)
    try:
        ptr = _hardirq_stack_ptr(target, cpu)
        if ptr:
            top = ptr + 8 if ptr & 0xFFF else ptr        # 5.12+: the pointer is top - 8
            out.append((top - size, top, "IRQ"))
    except (NoSuchSymbol, NoSuchType):
        pass                        # a kernel without per-CPU IRQ stacks (32-bit, before 4.x)
    except MemoryError_ as err:
        caveat(f"CPU {cpu}: hardirq_stack_ptr unreadable ({err}): its IRQ stack is not known")
    try:
        base = int(target.per_cpu("cea_exception_stacks", cpu))
        t = target.type("struct cea_exception_stacks")
        for m in t.members or []:
            name = _ESTACK_NAMES.get(m.name or "")
            if name and base:
                lo = base + m.bit_offset // 8
                out.append((lo, lo + m.type.byte_size, name))
    except (NoSuchSymbol, NoSuchType):
        pass                        # before 4.16: exception stacks in the orig_ist array
    except MemoryError_ as err:
        caveat(f"CPU {cpu}: cea_exception_stacks unreadable ({err}): its exception stacks "
               "are not known")
    known[cpu] = out
    return out


_U64 = struct.Struct("<Q")
_REGS = struct.Struct(f"<{len(PT_REGS)}Q")
_NOT_READ = b""


class StackMemory:
    """Word reads through the target's space, a page at a time (a walk reads the same
    pages again and again)."""

    def __init__(self, space: AddressSpace) -> None:
        self.space = space
        self.pages: dict[int, bytes | None] = {}

    def page(self, addr: int) -> bytes | None:
        base = addr & ~0xFFF
        if base not in self.pages:
            try:
                self.pages[base] = bytes(self.space.read(base, 4096))
            except MemoryError_:
                # u64() then reads the word alone, and reports its own failure
                self.pages[base] = None
        return self.pages[base]

    def u64(self, addr: int) -> int:
        p = self.pages.get(addr & ~0xFFF, _NOT_READ)
        if p is _NOT_READ:
            p = self.page(addr)
        off = addr & 0xFFF
        if p is None or off > 4088:
            try:
                return self.space.read_u64(addr)
            except MemoryError_ as err:
                raise MemoryError_(f"cannot read {addr:x}: {err}", addr) from None
        return int(_U64.unpack_from(p, off)[0])

    def regs(self, addr: int) -> dict[str, int]:
        p = self.page(addr)
        off = addr & 0xFFF
        if p is not None and off + _REGS.size <= 4096:     # within one page: one unpack
            return dict(zip(PT_REGS, _REGS.unpack_from(p, off)))
        return {name: self.u64(addr + 8 * i) for i, name in enumerate(PT_REGS)}


def memory(target: LinuxTarget) -> StackMemory:
    return StackMemory(target.space)
