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
