"""bt -t / -T: the text addresses found on a task's stack, for when unwinding fails.

-t scans from where the back trace starts (the saved or NMI-time stack pointer)
to the top of the stack, -T from the bottom of the stack; every word that
points into kernel text is shown with its function, as crash shows them.
"""
from __future__ import annotations

from typing import Any

from ..errors import MemoryError_
from ..targets.linux.unwind import ExceptionFrame, Frame, Trace, thread_size
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
    # as crash: the user-mode registers saved at the top of the stack end the list
    last = trace.items[-1] if trace.items else None
    if isinstance(last, ExceptionFrame) and last.regs.get("cs", 0) & 3:
        from .bt import eframe_lines
        lines.extend(eframe_lines(target, last.regs))
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


def _frame_block(target: Any, addr: int, kind: str, regs: dict[str, int]) -> list[str]:
    from .bt import eframe_lines
    return ["", f"  {kind}-MODE EXCEPTION FRAME AT: {addr:x}", *eframe_lines(target, regs)]


def search_task_stack(target: Any, task: Any, trace: Trace) -> str:
    """crash's bt -e: plausible exception frames anywhere on the task's stack."""
    base = int(task.stack)
    lines = [header(task, trace.cpu)]
    for addr, kind, regs in exception_frames(target, base, base + thread_size(target)):
        lines += _frame_block(target, addr, kind, regs)
    return "\n".join(lines)


def search_cpu_stacks(target: Any) -> str:
    """crash's bt -E: every CPU's IRQ stack, then each CPU's exception stacks."""
    from ..targets.linux.unwind import cpu_stacks
    stacks = {cpu: cpu_stacks(target, cpu) for cpu in target.online_cpus}
    order = [(cpu, s) for cpu, ss in stacks.items() for s in ss if s[2] == "IRQ"]
    order += [(cpu, s) for cpu, ss in stacks.items() for s in ss if s[2] != "IRQ"]
    lines: list[str] = []
    for cpu, (lo, hi, name) in order:
        title = "IRQ STACK" if name == "IRQ" else f"{name} EXCEPTION STACK"
        lines += (["", f"CPU {cpu} {title}:"] if lines else [f"CPU {cpu} {title}:"])
        found = exception_frames(target, lo, hi)
        for addr, kind, regs in found:
            lines += _frame_block(target, addr, kind, regs)
        if not found:
            lines.append("(none found)")
    return "\n".join(lines)
