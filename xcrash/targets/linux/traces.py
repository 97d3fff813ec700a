"""bt's records: a task's back trace and what bt's other views find on its stacks.

A trace is a :class:`TraceStart` (the task, and why the walk stopped early if it did)
followed by its :class:`BtFrame` records (each function named, crash's way), the
registers of the exception frames met (:class:`TaskExceptionFrame`), the switches
between stacks and, on request, each frame's source line (:class:`FrameSource`, bt -l)
and stack words (:class:`FrameWords`, bt -f / -F).  bt's searches of stacks (-t, -T,
-e, -E, -v) are ``stacksearch.py``'s, its other views (-r, -o, -I, -S) ``btviews.py``'s.

The unwinding itself is ``unwind.py``'s; these helpers only name and select.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from collections.abc import Callable

from ... import trace as tracing
from ...caveats import Unreadable, caveat
from ...errors import MemoryError_, XcrashError
from ...symbols.symtab import Symbol, display_name
from ..base import cached_per_target
from .taskinfo import TaskRef, comm_of
from .tasks import for_each_task, thread_size
from .stacks import StackMemory, memory
from .unwind import ExceptionFrame, Frame, StackSwitch, Trace, backtrace
from .wordnames import WordName

if TYPE_CHECKING:
    from ...objects import Object
    from .kernel import LinuxTarget

MASK = 0xFFFFFFFFFFFFFFFF


# -- the records ------------------------------------------------------------------------
@dataclass
class TraceStart(TaskRef):
    """A task's trace begins (crash's task header)."""
    #: the task has no kernel stack (it exited: ``task.stack`` is NULL)
    no_stack: bool = False
    #: why the walk stopped before its normal end (crash's ``bt: ...`` after the frames)
    error: str | None = None
    #: where the frames come from when not from registers or the task's saved switch
    #: frame (a CPU that saved no registers: found by a search of its stack)
    note: str | None = None


@dataclass
class BtFrame:
    """``#level [sp] function at pc [module]``: a return address and the stack slot it
    was read from."""
    task: int
    level: int
    sp: int
    pc: int
    #: the function the return address is in (None: in no known symbol)
    function: str | None
    #: pc's offset in the function
    offset: int | None
    #: the module of the function (None: the kernel's own)
    module: str | None
    #: the stack the slot is on: "task", "IRQ", "NMI", ...
    stack: str


@dataclass
class FrameSource:
    """bt -l: the source file and line of a frame's return address."""
    task: int
    level: int
    file: str
    line: int


@dataclass
class StackWord:
    """A word of the stack (bt -f); with -F what it points at."""
    address: int
    value: int | Unreadable
    symbol: str | None = None
    slab_cache: str | None = None


@dataclass
class FrameWords:
    """bt -f / -F: the stack words of a frame, between its return address and the next."""
    task: int
    level: int
    words: list[StackWord]


@dataclass
class SavedRegisters:
    """A ``struct pt_regs`` on a stack: the registers an exception or interrupt saved."""
    exception_frame: int
    regs: dict[str, int]
    #: the kernel function RIP is in, for a kernel-mode frame (None: user mode, or in no
    #: known symbol)
    function: str | None
    offset: int | None
    stack: str

    @property
    def user_mode(self) -> bool:
        return bool(self.regs["cs"] & 3)


@dataclass
class TaskExceptionFrame(SavedRegisters):
    task: int


@dataclass
class CpuExceptionFrame(SavedRegisters):
    """bt -E: a frame found on one of a CPU's stacks."""
    cpu: int


@dataclass
class StackChange:
    """The walk left an IRQ or exception stack (crash's ``--- <IRQ stack> ---``)."""
    task: int
    left_stack: str


# -- naming ----------------------------------------------------------------------------
def _named_pc(target: LinuxTarget, pc: int, after_call: bool
              ) -> tuple[str | None, int | None, str | None]:
    """(function, offset, module) of a return address.  At a symbol's first byte, the
    call was the last instruction of the code before it (a noreturn call ending a
    .cold block): that code's function, as crash shows it."""
    if tracing.enabled():       # explain mode records each symbol lookup
        return _name_pc(target, pc, after_call)
    known = _named_pcs(target)
    key = (pc, after_call)
    found = known.get(key)
    if found is None:
        found = known[key] = _name_pc(target, pc, after_call)
    return found


@cached_per_target
def _named_pcs(target: LinuxTarget) -> dict[tuple[int, bool], tuple[str | None, int | None,
                                                                     str | None]]:
    """Return addresses named so far (every task's trace passes the same few hundred)."""
    return {}


def _name_pc(target: LinuxTarget, pc: int, after_call: bool
             ) -> tuple[str | None, int | None, str | None]:
    hit = target.symbols.resolve(pc)
    if hit is not None and hit[1] == 0 and after_call:
        hit = target.symbols.resolve(pc - 1) or hit
    if hit is None:
        return None, None, None
    sym = hit[0]
    return display_name(_crash_alias(target, sym).name), pc - sym.address, \
        getattr(sym, "module", None)


def _crash_alias(target: LinuxTarget, sym: Symbol) -> Symbol:
    """Of the symbols at one address, the one crash's own table names a frame by: it
    sorts its symbols by address, then by name, and takes the last (gdb's choice,
    which `dis` and `sym` follow, prefers a typed, sized symbol)."""
    at = getattr(target.symbols, "at_address", None)
    aliases = at(sym.address) if at is not None else []
    return max(aliases, key=lambda s: s.name) if aliases else sym


def rip_function(target: LinuxTarget, regs: dict[str, int]) -> tuple[str | None, int | None]:
    """The kernel function an exception frame's RIP is in (crash's ``[exception RIP:]``);
    in no function, crash's words for it: a mapped address of module space (its module
    unknown: --no_modules) "no symbolic reference", another "unknown or invalid
    address"."""
    if regs["cs"] & 3:
        return None, None
    hit = target.symbols.resolve(regs["rip"])
    if hit:
        return display_name(hit[0].name), hit[1]
    from .modules import MODULE_SPACE_START
    if regs["rip"] >= MODULE_SPACE_START:
        try:
            target.space.translate(regs["rip"])
            return "no symbolic reference", 0
        except MemoryError_:
            pass                # not mapped: crash's "unknown or invalid address"
    return "unknown or invalid address", 0


def task_frame(target: LinuxTarget, task: int, item: ExceptionFrame) -> TaskExceptionFrame:
    function, offset = rip_function(target, item.regs)
    return TaskExceptionFrame(item.address, item.regs, function, offset, item.stack, task)


def source_line(target: LinuxTarget, pc: int) -> tuple[str, int] | None:
    """(full source path, line) of a pc: crash's ``bt -l`` prints the whole path."""
    symfile = target.symfile
    if symfile is None:
        return None
    try:
        in_module = target.module_line(pc)
        if in_module is not None:
            return in_module
        return symfile.line_for_address((pc - target.symbols.delta) & MASK)
    except XcrashError as err:
        caveat(f"line table unreadable ({err}): frames without their source line")
        return None


# -- bt: the trace of a task -------------------------------------------------------------
def task_object(target: LinuxTarget, addr: int) -> Object:
    return target.object_at(target.type("struct task_struct"), addr)


def trace_start(task: Object, trace: Trace) -> TraceStart:
    return TraceStart(int(task.pid), trace.task, trace.cpu, comm_of(task),
                      no_stack=trace.no_stack, error=trace.error, note=trace.note)


def trace_records(target: LinuxTarget, addr: int, *, words: bool = False,
                  names: Callable[[int], WordName | None] | None = None,
                  sources: bool = False, ref: str | None = None,
                  walk: Callable[[Object], Trace] | None = None) -> list[Any]:
    """The records of a task's back trace; with ``words`` each frame's stack words
    (named by ``names``: bt -F), with ``sources`` each frame's source line.  With
    ``ref`` (bt -R) nothing when the trace does not reference it.  ``walk`` makes the
    trace (bt -I/-S) instead of the task's own back trace."""
    task = task_object(target, addr)
    trace = walk(task) if walk is not None else backtrace(target, task)
    if ref is not None and not references(target, trace, ref):
        return []
    out: list[Any] = [trace_start(task, trace)]
    mem = memory(target) if words else None
    items = trace.items
    level = 0
    for i, item in enumerate(items):
        if isinstance(item, Frame):
            function, offset, module = _named_pc(target, item.pc, level > 0)
            out.append(BtFrame(addr, level, item.slot, item.pc, function, offset, module,
                               item.stack))
            if sources:
                found = source_line(target, item.pc)
                if found:
                    out.append(FrameSource(addr, level, found[0], found[1]))
            if mem is not None:
                end = None
                nxt = items[i + 1] if i + 1 < len(items) else None
                if isinstance(nxt, Frame) and nxt.slot > item.slot:
                    end = nxt.slot + 8
                elif isinstance(nxt, ExceptionFrame) and nxt.address > item.slot:
                    end = nxt.address
                # a frame on another stack, or further than a stack is long: no words
                if end is not None and end - item.slot <= thread_size(target):
                    out.append(FrameWords(addr, level, _words(mem, item.slot + 8, end, names)))
            level += 1
        elif isinstance(item, ExceptionFrame):
            out.append(task_frame(target, addr, item))
            rip, cs = item.regs.get("rip"), item.regs.get("cs", 3)
            if sources and rip is not None and not cs & 3 and item.regs.get("rsp"):
                # crash's bt -l: a kernel-mode frame's line, of the exception RIP itself
                found = source_line(target, rip)
                if found:
                    out.append(FrameSource(addr, level, found[0], found[1]))
        elif isinstance(item, StackSwitch):
            out.append(StackChange(addr, item.left))
    return out


def _words(mem: StackMemory, lo: int, hi: int, names: Callable[[int], WordName | None] | None
           ) -> list[StackWord]:
    out = []
    for addr in range(lo, hi, 8):
        try:
            value = mem.u64(addr)
        except MemoryError_ as err:
            caveat(f"{err}: that stack word is shown as ?")
            out.append(StackWord(addr, Unreadable(str(err))))
            continue
        name = names(value) if names is not None else None
        out.append(StackWord(addr, value, name.symbol if name else None,
                             name.slab_cache if name else None))
    return out


def references(target: LinuxTarget, trace: Trace, ref: str) -> bool:
    """bt -R: the trace names the symbol in a frame, or holds the value (a frame's
    return address or stack slot, an exception frame's register)."""
    try:
        value: int | None = int(ref, 16)
    except ValueError:
        value = None              # a symbol name
    for item in trace.items:
        if isinstance(item, Frame):
            hit = target.symbols.resolve(item.pc)
            if hit is not None and ref in (hit[0].name, display_name(hit[0].name)) \
                    or value in (item.pc, item.slot):
                return True
        elif isinstance(item, ExceptionFrame) and value is not None \
                and value in item.regs.values():
            return True
    return False


def thread_groups(target: LinuxTarget, tasks: list[int]) -> list[int]:
    """bt -g: every thread of each task's thread group, in task-list order."""
    tgids = [int(task_object(target, t).tgid) for t in tasks]
    out: list[int] = []
    members: dict[int, list[int]] = {}
    for t in for_each_task(target):
        addr = t.address_
        assert addr is not None                 # a task is an object in memory
        try:
            members.setdefault(int(t.tgid), []).append(addr)
        except MemoryError_ as err:
            caveat(f"task {addr:x}: tgid unreadable ({err}): left out of the thread groups")
    for tgid in dict.fromkeys(tgids):
        out += [t for t in members.get(tgid, ()) if t not in out]
    return out
