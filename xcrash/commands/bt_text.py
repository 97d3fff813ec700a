"""bt -t / -T: the text addresses found on a task's stack, for when unwinding fails.

-t scans from where the back trace starts (the saved or NMI-time stack pointer)
to the top of the stack, -T from the bottom of the stack; every word that
points into kernel text is shown with its function, as crash shows them.
"""
from __future__ import annotations

from typing import Any

from ..errors import MemoryError_
from ..targets.linux.stackscan import exception_frames, text_symbol
from ..targets.linux.tasks import thread_size
from ..targets.linux.unwind import ExceptionFrame, Frame, Trace
from .bt import header


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


def stack_overflow_text(target: Any) -> str:
    """bt -v: the tasks whose stack end lost its STACK_END_MAGIC, crash's way."""
    from ..targets.linux.tasks import stack_overflows
    from .task import task_header
    blocks = [f"{task_header(task)}\n  possible stack overflow: {where:x}: {found:x} "
              "!= STACK_END_MAGIC\n" for task, where, found in stack_overflows(target)]
    return "\n".join(blocks) if blocks else "No stack overflows detected"
