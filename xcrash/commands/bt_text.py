"""bt -t / -T: the text addresses found on a task's stack, for when unwinding fails.

-t scans from where the back trace starts (the saved or NMI-time stack pointer)
to the top of the stack, -T from the bottom of the stack; every word that
points into kernel text is shown with its function, as crash shows them.
"""
from __future__ import annotations

from typing import Any

from ..errors import MemoryError_
from ..targets.linux.unwind import Frame, Trace, thread_size
from .bt import header

_TEXT = frozenset("tTwW")


def text_symbol(target: Any, value: int) -> str | None:
    hit = target.symbols.resolve(value) if target.symbols is not None else None
    if hit is None or hit[0].type_char not in _TEXT:
        return None
    if hit[0].size and hit[1] > hit[0].size:     # == size: the return of a final call
        return None
    return hit[0].name


def text_on_stack(target: Any, task: Any, trace: Trace, *, whole: bool) -> str:
    base = int(task.stack)
    top = base + thread_size(target)
    first = next((item for item in trace.items if isinstance(item, Frame)), None)
    lines = [header(task, trace.cpu)]
    if first is not None:
        name = text_symbol(target, first.pc) or f"{first.pc:x}"
        lines.append(f"{'':14}START: {name} at {first.pc:x}")
    start = base if whole or first is None or not base <= first.slot < top else first.slot
    try:
        raw = target.read(start, top - start)
    except MemoryError_ as err:
        lines.append(f"bt: cannot read the stack at {start:x}: {err}")
        return "\n".join(lines)
    for off in range(0, len(raw) - 7, 8):
        value = int.from_bytes(raw[off:off + 8], "little")
        name = text_symbol(target, value)
        if name is not None:
            lines.append(f"  [{start + off:x}] {name} at {value:x}")
    return "\n".join(lines)


PT_REGS = ("r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax", "rcx",
           "rdx", "rsi", "rdi", "orig_rax", "rip", "cs", "rflags", "rsp", "ss")
KERNEL_CS, USER_CS, USER32_CS = 0x10, 0x33, 0x23
USER_TOP = 0x0000800000000000


def plausible_frame(target: Any, regs: dict[str, int]) -> str | None:
    """"KERNEL" or "USER" when the words look like a ``struct pt_regs``, else None."""
    flags = regs["rflags"]
    if not flags & 0x2 or flags >> 22:
        return None
    if regs["cs"] == KERNEL_CS and regs["ss"] in (0, 0x18):
        return "KERNEL" if text_symbol(target, regs["rip"]) else None
    if regs["cs"] in (USER_CS, USER32_CS) and regs["ss"] in (0x2b, 0x2b | 0, 0x23):
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


def search_frames(target: Any, task: Any, trace: Trace, *, irq_stacks: bool) -> str:
    """crash's bt -e (the task stack) / -E (every CPU's IRQ and exception stacks)."""
    from ..targets.linux.unwind import cpu_stacks
    from .bt import eframe_lines
    lines = [header(task, trace.cpu)]
    if irq_stacks:
        ranges = [(lo, hi, f"CPU {cpu} {name}") for cpu in target.online_cpus
                  for lo, hi, name in cpu_stacks(target, cpu)]
    else:
        base = int(task.stack)
        ranges = [(base, base + thread_size(target), "task")]
    for lo, hi, where in ranges:
        for addr, kind, regs in exception_frames(target, lo, hi):
            lines.append("")
            if irq_stacks:
                lines.append(f" {where} STACK:")
            lines.append(f" {kind}-MODE EXCEPTION FRAME AT: {addr:x}")
            lines.extend(eframe_lines(target, regs))
    return "\n".join(lines)
