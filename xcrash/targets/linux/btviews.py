"""bt's other views of a task's stack: the raw stack (-r), crash's old method (-o),
and a trace from a given instruction and stack pointer (-I, -S).

-o is crash's x86_64 stack scan with frame sizes ignored: from where the trace starts,
every word that is a return address into a function (not its first byte: a pointer
to a function) is a frame, stale ones included.  -I/-S start the ORC walk elsewhere:
crash's rules are kept where it has them (a blocked task, whose saved pc is in
__schedule, starts at the inactive_task_frame that SP is taken to be; with -I the
first frame is IP at SP), else the walk starts at the first return address at or
above SP.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...caveats import caveat
from ...errors import MemoryError_, XcrashError
from .stackscan import text_symbol
from .stacks import Stacks, memory
from .tasks import task_cpu, thread_size
from .stacksearch import StackText, stack_text_records
from .traces import TaskExceptionFrame, TraceStart
from .unwind import Frame, Trace, _guess_bp, _Stop, _walk, backtrace, task_on_cpu

if TYPE_CHECKING:
    from ...objects import Object
    from ..memory import Word
    from .kernel import LinuxTarget

#: where a blocked task's saved pc is (crash hand-makes its first frames there)
SCHEDULE = ("__schedule", "schedule", "thread_return")


def raw_stack_records(target: LinuxTarget, addr: int, sp: int | None = None) -> list[Any]:
    """bt -r: the task's stack (from SP with -S) as words, THREAD_SIZE bytes of them,
    each that points into a symbol named as symbol+offset."""
    from ..memory import words
    task = target.object_at("struct task_struct", addr)
    trace = backtrace(target, task)
    start = TraceStart(int(task.pid), addr, trace.cpu, _comm(task))
    base = sp if sp is not None else int(task.stack)
    out: list[Any] = [start]
    try:
        out += list(words(target.space, base, thread_size(target) // 8, 8,
                          namer=target.describe_address))
    except MemoryError_ as err:
        start.error = f"cannot read the stack at {base:x}: {err}"
    return out


def _comm(task: Object) -> str:
    from .taskinfo import comm_of
    return comm_of(task)


def old_method_records(target: LinuxTarget, addr: int) -> list[Any]:
    """bt -o: the frames crash's old x86_64 method finds: the text words from the
    trace's start that are not a function's first byte, then the user-mode registers
    at the stack's top."""
    out: list[Any] = []
    level = 0
    for r in stack_text_records(target, addr, whole=False):
        if isinstance(r, StackText):
            if r.start:
                continue
            hit = target.symbols.resolve(r.pc)
            if hit is None or hit[1] == 0:
                continue                # a function pointer, not a return address
            out.append(_frame(target, addr, level, r.sp, r.pc))
            level += 1
        elif isinstance(r, (TraceStart, TaskExceptionFrame)):
            out.append(r)
    return out


def _frame(target: LinuxTarget, task: int, level: int, sp: int, pc: int) -> Any:
    from .traces import BtFrame, _named_pc
    function, offset, module = _named_pc(target, pc, True)
    return BtFrame(task, level, sp, pc, function, offset, module, "task")


def _in_stacks(stacks: Stacks, sp: int) -> bool:
    return stacks.kind(sp) is not None


def backtrace_from(target: LinuxTarget, task: Object, ip: int | None, sp: int | None
                   ) -> Trace:
    """bt -I/-S: the trace from IP (the task's own when not given) at SP (its own)."""
    addr = task.address_
    assert addr is not None                     # a task is an object in memory
    normal = backtrace(target, task)
    if normal.no_stack:
        return normal
    cpu = task_on_cpu(target, addr)
    stacks = Stacks(target, task, cpu)
    mem = memory(target)
    trace = Trace(addr, cpu if cpu is not None else task_cpu(task), stacks=stacks.ranges)
    first = next((i for i in normal.items if isinstance(i, Frame)), None)
    blocked = cpu is None
    frame_t = target.type("struct inactive_task_frame") if blocked else None
    own_sp = int(task.thread.sp) if blocked else (first.slot if first else 0)
    pc = ip if ip is not None else (first.pc if first else 0)
    at = sp if sp is not None else own_sp
    base = int(task.stack)
    if sp is not None and not _in_stacks(stacks, sp):
        raise XcrashError(f"non-process stack address for this task: {sp:x} (valid range: "
                          f"{base:x} - {base + thread_size(target):x})")
    hit = target.symbols.resolve(pc)
    frames = [(i, item) for i, item in enumerate(normal.items) if isinstance(item, Frame)]

    def from_normal(slot: int, pc: int | None) -> bool:
        """The task's own trace from the frame at ``slot`` on, when it has one there
        (its walk knows the registers a start in the middle would not)."""
        for i, item in frames:
            if item.slot == slot and (pc is None or item.pc == pc):
                trace.items = normal.items[i:]
                trace.error = normal.error
                return True
        return False
    try:
        if blocked and frame_t is not None and hit is not None and hit[0].name in SCHEDULE:
            slot = _first_return(target, mem, stacks, at + frame_t.offsetof("ret_addr"))
            if slot is not None and not from_normal(slot, None):
                _walk(target, mem, stacks, trace, mem.u64(slot), slot + 8,
                      _guess_bp(mem, slot), signal=False, slot=slot)
        elif ip is not None:
            if not from_normal(at, pc):
                _walk(target, mem, stacks, trace, pc, at + 8, _guess_bp(mem, at),
                      signal=False, slot=at)
        else:
            later = next((item.slot for _i, item in frames if item.slot >= at and
                          stacks.kind(item.slot) == stacks.kind(at)), None)
            if later is None or not from_normal(later, None):
                slot = _first_return(target, mem, stacks, at)
                if slot is not None:
                    _walk(target, mem, stacks, trace, mem.u64(slot), slot + 8,
                          _guess_bp(mem, slot), signal=False, slot=slot)
    except _Stop as why:
        trace.error = str(why)
    except XcrashError as err:
        trace.error = str(err)
    return trace


def _first_return(target: LinuxTarget, mem: Any, stacks: Stacks, at: int) -> int | None:
    """The slot of the first return address (a text word not at a function's first
    byte) at or above ``at`` on its stack."""
    found = stacks.range_of(at)
    if found is None:
        raise _Stop(f"{at:x} is not on the task's stacks")
    for slot in range(at & ~7, found[1], 8):
        try:
            value = mem.u64(slot)
        except MemoryError_:
            continue                # a word the dump lacks: no return address there
        hit = target.symbols.resolve(value)
        if text_symbol(target, value) is not None and hit is not None and hit[1]:
            return slot
    caveat(f"no return address on the stack above {at:x}")
    return None


def raw_words(records: list[Any]) -> list[Word]:
    return [r for r in records if not isinstance(r, TraceStart)]
