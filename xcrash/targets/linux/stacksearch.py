"""bt's searches of stacks: the text addresses on a task's stack (bt -t / -T), plausible
exception frames on a task's stack and on each CPU's stacks (bt -e / -E), and the stacks
that lost their end marker (bt -v).  The back trace itself is ``traces.py``'s.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from collections.abc import Iterator

from ...caveats import caveat
from ...errors import MemoryError_
from .context import task_index
from .stackscan import exception_frames, text_symbol
from .stacks import cpu_stacks
from .taskinfo import TaskRef, comm_of
from .tasks import task_cpu, thread_size
from .traces import (CpuExceptionFrame, TaskExceptionFrame, TraceStart, rip_function, task_frame,
                     task_object, trace_start)
from .unwind import ExceptionFrame, Frame, backtrace, task_on_cpu

if TYPE_CHECKING:
    from .kernel import LinuxTarget


@dataclass
class StackText:
    """bt -t / -T: a word of the stack that points into kernel text (``start``: where
    the back trace starts, crash's ``START:`` line)."""
    task: int
    sp: int
    pc: int
    function: str | None
    start: bool = False


@dataclass
class CpuStack:
    """bt -E: one of a CPU's stacks, searched for exception frames."""
    cpu: int
    stack: str


@dataclass
class StackOverflow(TaskRef):
    """bt -v: a task whose stack end lost its STACK_END_MAGIC (the stack grew past it)."""
    stack_end: int
    end_value: int


# -- bt -t / -T: the text addresses on a stack --------------------------------------------
def stack_text_records(target: LinuxTarget, addr: int, *, whole: bool) -> list[Any]:
    """Every word of the task's stack that points into kernel text, from where the
    trace starts (bt -t) or from the stack's bottom (``whole``: bt -T); then, as
    crash, the user-mode registers saved at the top of the stack."""
    task = task_object(target, addr)
    trace = backtrace(target, task)
    start = trace_start(task, trace)
    start.error = None            # this view does not show the walk's end
    out: list[Any] = [start]
    base = int(task.stack)
    top = base + thread_size(target)
    first = next((item for item in trace.items if isinstance(item, Frame)), None)
    if first is not None:
        out.append(StackText(addr, first.slot, first.pc, text_symbol(target, first.pc),
                             start=True))
    lo = base if whole or first is None or not base <= first.slot < top else first.slot
    try:
        raw = target.read(lo, top - lo)
    except MemoryError_ as err:
        start.error = f"cannot read the stack at {lo:x}: {err}"
        return out
    for off in range(0, len(raw) - 7, 8):
        value = int.from_bytes(raw[off:off + 8], "little")
        name = text_symbol(target, value)
        if name is not None:
            out.append(StackText(addr, lo + off, value, name))
    last = trace.items[-1] if trace.items else None
    if isinstance(last, ExceptionFrame) and last.user_mode:
        out.append(task_frame(target, addr, last))
    return out


# -- bt -e / -E: searching stacks for exception frames ------------------------------------
def _found(target: LinuxTarget, lo: int, hi: int, stack: str
           ) -> Iterator[tuple[int, dict[str, int], str | None, int | None, str]]:
    for address, _kind, regs in exception_frames(target, lo, hi):
        function, offset = rip_function(target, regs)
        yield address, regs, function, offset, stack


def stack_search_records(target: LinuxTarget, addr: int) -> list[Any]:
    """bt -e: plausible exception frames anywhere on the task's stack."""
    task = task_object(target, addr)
    cpu = task_on_cpu(target, addr)
    out: list[Any] = [TraceStart(int(task.pid), addr, cpu if cpu is not None else task_cpu(task),
                                 comm_of(task))]
    base = int(task.stack)
    out += [TaskExceptionFrame(*found, addr)
            for found in _found(target, base, base + thread_size(target), "task")]
    return out


def cpu_stack_search_records(target: LinuxTarget) -> Iterator[Any]:
    """bt -E: every CPU's IRQ stack, then each CPU's exception stacks, searched."""
    stacks = {cpu: cpu_stacks(target, cpu) for cpu in target.online_cpus}
    order = [(cpu, s) for cpu, ss in stacks.items() for s in ss if s[2] == "IRQ"]
    order += [(cpu, s) for cpu, ss in stacks.items() for s in ss if s[2] != "IRQ"]
    for cpu, (lo, hi, name) in order:
        yield CpuStack(cpu, name)
        for found in _found(target, lo, hi, name):
            yield CpuExceptionFrame(*found, cpu)


# -- bt -v: stack overflows ---------------------------------------------------------------
#: written at the far end of every task's kernel stack (set_task_stack_end_magic)
STACK_END_MAGIC = 0x57AC6E9D


def stack_overflow_records(target: LinuxTarget) -> Iterator[StackOverflow]:
    """The tasks whose stack end lost its magic: the stack grew past it.  init_task is
    left out, as crash does (its stack is the static init_stack)."""
    init = target.symbols.get("init_task")
    index = task_index(target)
    index.announce()
    for addr in index.in_pid_order():
        if init is not None and addr == init.address:
            continue
        task = task_object(target, addr)
        try:
            end = int(task.stack)
            found = target.space.read_u64(end) if end else STACK_END_MAGIC
        except MemoryError_ as err:
            caveat(f"task {addr:x}: stack end unreadable ({err}): not checked")
            continue
        if found != STACK_END_MAGIC:
            yield StackOverflow(int(task.pid), addr, task_cpu(task), comm_of(task), end, found)
