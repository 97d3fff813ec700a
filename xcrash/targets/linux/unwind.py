"""Back traces of Linux x86_64 tasks: ORC unwinding, frame-pointer fallback.

A trace is a list of items, each one of

* :class:`Frame` — a return address and the stack slot it was read from
  (crash's ``#n [slot] function at pc``);
* :class:`ExceptionFrame` — a ``struct pt_regs`` met on the way (entry code,
  interrupts, NMIs, the user-mode registers at the top of a task's stack);
* :class:`StackSwitch` — the walk left an IRQ or exception stack.

Where a trace starts follows crash (see unwinding.md, "corrections"): a
sleeping task at its ``inactive_task_frame``; the panicking CPU at the
``machine_kexec`` frame found on its stack; a CPU stopped by the crash NMI at
its ``crash_nmi_callback`` frame; otherwise at the NT_PRSTATUS registers.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ...errors import MemoryError_, XcrashError
from ...objects import Fields
from ..base import cached_per_target
from . import orc as O
from .stacks import PT_REGS, PT_REGS_SIZE, StackMemory, Stacks, cpu_stacks, memory
from .tasks import active_tasks, task_cpu

if TYPE_CHECKING:
    from ...objects import Object
    from .kernel import LinuxTarget

#: what other modules take from here (the stacks' part lives in stacks.py)
__all__ = ["PT_REGS", "PT_REGS_SIZE", "ExceptionFrame", "Frame", "StackSwitch", "Stacks",
           "Trace", "backtrace", "cpu_stacks", "memory", "task_on_cpu"]

MAX_FRAMES = 256
MASK = 0xFFFFFFFFFFFFFFFF


class _Stop(Exception):
    """The walk cannot go on: why (a trace's ``error``)."""


@dataclass
class Frame:
    slot: int            # where the return address (pc) was read
    pc: int
    stack: str           # "task", "IRQ", "NMI", ...


@dataclass
class ExceptionFrame:
    address: int         # of the pt_regs
    regs: dict[str, int]
    stack: str

    @property
    def user_mode(self) -> bool:
        return bool(self.regs["cs"] & 3)


@dataclass
class StackSwitch:
    left: str            # the stack the walk leaves ("IRQ", "NMI", ...)


@dataclass
class Trace:
    task: int
    cpu: int
    items: list[Frame | ExceptionFrame | StackSwitch] = field(default_factory=list)
    #: why the walk stopped, when it was not a normal end
    error: str | None = None
    #: the task has no kernel stack (exited: ``task.stack`` is NULL)
    no_stack: bool = False
    stacks: list[tuple[int, int, str]] = field(default_factory=list)
    #: (code address, how its caller was found: orc.rule_text) of each step, for --explain
    rules: list[tuple[int, str]] = field(default_factory=list)
    #: where the frames come from, when neither registers nor a switch frame gave them
    note: str | None = None


# -- starting points -----------------------------------------------------------------------
def _func_range(target: LinuxTarget, name: str) -> tuple[int, int] | None:
    sym = target.symbols.get(name)
    if sym is None or not sym.size:
        return None
    return sym.address, sym.address + sym.size


def _scan(mem: StackMemory, lo: int, hi: int, fn: tuple[int, int]) -> int | None:
    """The highest slot in [lo, hi) holding a return address inside ``fn``."""
    addr = (hi - 8) & ~7
    while addr >= lo:
        try:
            v = mem.u64(addr)
        except MemoryError_:
            # an exception stack the kernel left unmapped (VC without SEV-ES, a guard
            # page): nothing ran there; an unreadable task stack fails the walk itself
            return None
        if fn[0] < v < fn[1]:
            return addr
        addr -= 8
    return None


def _active_start(target: LinuxTarget, mem: StackMemory, stacks: Stacks, regs: dict[str, int]
                  ) -> tuple[int, int] | None:
    """(slot, pc) where crash starts a running task: machine_kexec or crash_nmi_callback."""
    rsp = regs.get("rsp", 0)
    kexec = _func_range(target, "machine_kexec")
    if kexec is not None:
        order = sorted(stacks.ranges, key=lambda r: not (r[0] <= rsp < r[1]))
        for lo, hi, _kind in order:
            top = rsp if lo <= rsp < hi else hi
            slot = _scan(mem, lo, top, kexec)
            if slot is not None:
                return slot, mem.u64(slot)
    nmi = _func_range(target, "crash_nmi_callback")
    if nmi is not None:
        order = sorted(stacks.ranges, key=lambda r: r[2] != "NMI")
        for lo, hi, kind in order:
            if kind not in ("NMI", "task"):
                continue
            slot = _scan(mem, lo, hi, nmi)
            if slot is not None:
                return slot, mem.u64(slot)
    return None


def cpu_regs(target: LinuxTarget, cpu: int) -> dict[str, int] | None:
    for c in target.cpus:
        if c.index == cpu and any(c.regs.values()):
            return c.regs
    return None


def task_on_cpu(target: LinuxTarget, task_addr: int) -> int | None:
    for cpu, addr in active_tasks(target).items():
        if addr == task_addr:
            return cpu
    return None


def backtrace(target: LinuxTarget, task: Object) -> Trace:
    """The back trace of a task (an Object of ``struct task_struct``)."""
    addr = task.address_
    assert addr is not None                     # a task is an object in memory
    cpu = task_on_cpu(target, addr)
    saved_sp: int | None
    try:    # what the walk reads of the task, in one go (member by member if that fails)
        stack, saved_sp, own_cpu = _trace_fields(target).read(addr)
        trace = Trace(addr, cpu if cpu is not None else own_cpu)
    except MemoryError_:
        trace = Trace(addr, cpu if cpu is not None else task_cpu(task))
        stack, saved_sp = int(task.stack), None
    if not stack:
        trace.no_stack = True
        return trace
    stacks = Stacks(target, task, cpu if cpu is not None else None, base=stack)
    trace.stacks = stacks.ranges
    mem = memory(target)
    regs = cpu_regs(target, cpu) if cpu is not None else None
    unknown = target.registers_unknown
    if cpu is not None and regs is None and unknown:
        # running, and thread.sp is from its last switch: any walk from it would lie
        trace.error = f"the registers of CPU {cpu} are unknown ({unknown}); bt -t lists the " \
                      "text addresses on its stack"
        return trace
    try:
        if cpu is not None and regs is None:
            # running on a CPU that saved no registers (offline: it was not stopped by
            # the crash): thread.sp is from its last switch, long overwritten
            _search_start(target, mem, stacks, trace, stack)
        elif cpu is not None and regs is not None:
            start = _active_start(target, mem, stacks, regs)
            if start is not None:
                slot, pc = start
                _walk(target, mem, stacks, trace, pc, slot + 8, _guess_bp(mem, slot),
                      signal=False, slot=slot)
            elif regs["cs"] & 3:
                trace.items.append(ExceptionFrame(0, dict(regs), "user"))
            else:
                _walk(target, mem, stacks, trace, regs["rip"], regs["rsp"], regs["rbp"],
                      signal=True, slot=regs["rsp"], known=dict(regs))
        else:
            ret_off, bp_off, frame_size = _switch_frame(target)
            sp = int(task.thread.sp) if saved_sp is None else saved_sp
            pc = mem.u64(sp + ret_off)
            rff = target.symbols.get("ret_from_fork")
            _walk(target, mem, stacks, trace, pc, sp + frame_size, mem.u64(sp + bp_off),
                  signal=rff is not None and pc == rff.address, slot=sp + ret_off)
    except _Stop as why:
        trace.error = str(why)
    except XcrashError as err:
        trace.error = str(err)
    return trace


def _search_start(target: LinuxTarget, mem: StackMemory, stacks: Stacks, trace: Trace,
                  stack: int) -> None:
    """The trace of a task running on a CPU that saved no registers: from the deepest
    return address on its stack whose unwind reaches the stack's end with every return
    address following a call to the function of the frame below it (a stale return
    address, left by a call that returned, fails that check where the live frames
    begin: crash, which searches without it, shows such frames)."""
    cpu = trace.cpu
    why = ("offline" if cpu not in target.online_cpus else "online, but it saved no "
           "registers")
    lo, hi = stack, stack + thread_size_of(stacks, stack)
    for slot in range(lo, hi - 8, 8):
        try:
            pc = mem.u64(slot)
        except MemoryError_:
            continue            # an unreadable page of the stack holds no frame
        if pc < 0xFFFFFFFF80000000 or not target.symbols.resolve(pc - 1) or \
                not _after_call(target, mem, pc, None):
            continue
        trial = Trace(trace.task, cpu)
        try:
            _walk(target, mem, stacks, trial, pc, slot + 8, _guess_bp(mem, slot),
                  signal=False, slot=slot, verified=True)
        except (_Stop, XcrashError):
            continue            # no verified chain from this slot: try the next one up
        trace.items, trace.rules = trial.items, trial.rules
        callee = _call_target(target, pc)
        trace.note = (f"CPU {cpu} was {why}: the frames start at the deepest return address "
                      f"on the stack that unwinds to its end" +
                      (f"; its call went to {callee}" if callee else ""))
        return
    trace.note = f"CPU {cpu} was {why}: no return address on its stack unwinds to its end"


def thread_size_of(stacks: Stacks, base: int) -> int:
    """The length of the task stack that starts at ``base``."""
    rng = stacks.range_of(base)
    return rng[1] - base if rng is not None else 0


def _call_target(target: LinuxTarget, pc: int) -> str | None:
    """The function a direct call just before ``pc`` went to (None: not a direct call)."""
    try:
        code = bytes(target.space.read(pc - 5, 5))
    except MemoryError_:
        return None             # checked readable by _after_call: not met
    if code[0] != 0xE8:
        return None
    hit = target.symbols.resolve((pc + int.from_bytes(code[1:], "little", signed=True)) & MASK)
    return hit[0].name if hit else None


@cached_per_target
def _trace_fields(target: LinuxTarget) -> Fields:
    """task->stack, thread.sp and the task's CPU."""
    task_t = target.type("struct task_struct")
    return Fields(target, task_t, ("stack", "thread.sp",
                                   "cpu" if task_t.has_member("cpu") else "thread_info.cpu"))


@cached_per_target
def _switch_frame(target: LinuxTarget) -> tuple[int, int, int]:
    """Offsets of ret_addr and bp in struct inactive_task_frame, and its size."""
    frame_t = target.type("struct inactive_task_frame")
    return frame_t.offsetof("ret_addr"), frame_t.offsetof("bp"), frame_t.byte_size


def _guess_bp(mem: StackMemory, slot: int) -> int:
    """rbp at a scanned return slot: a frame-pointer callee saved it just below."""
    try:
        return mem.u64(slot - 8)
    except MemoryError_:
        # unknown: ORC rarely needs rbp, and an entry that does stops the walk there
        # with its own error
        return 0


# -- the walk ---------------------------------------------------------------------------------
def _walk(target: LinuxTarget, mem: StackMemory, stacks: Stacks, trace: Trace, ip: int, sp: int,
          bp: int, *, signal: bool, slot: int, known: dict[str, int] | None = None,
          verified: bool = False) -> None:
    """Unwind from ``ip`` at ``sp``, appending to ``trace``; with ``verified`` each
    return address must follow a call to the function of the frame below it (a direct
    call's target checked, an indirect call taken as it is)."""
    items = trace.items
    kind = stacks.kind(slot) or "task"
    items.append(Frame(slot, ip, kind))
    regs_full: dict[str, int] | None = known
    prev_kind = kind
    for _ in range(MAX_FRAMES):
        entry: O.OrcEntry | None
        scanned = False
        if ip == 0:
            entry = O.NULL_ENTRY
        else:
            entry = O.find_entry(target, ip if signal else ip - 1)
        if entry is None or entry.type == "undefined":
            # code objtool did not annotate (6.1: kexec_core.o) or generated code:
            # the frame pointer when its frame returns just after a direct call to this
            # function, else the nearest word above sp that does
            entry = _frame_pointer_entry(target, mem, stacks, sp, bp, ip if signal else ip - 1)
            if entry is None:
                ret_slot = _scan_return(target, mem, stacks, sp, ip if signal else ip - 1)
                if ret_slot is None:
                    raise _Stop(f"no unwind information for {ip:x}")
                # the caller's rbp: where this function's prologue pushed it, if it did
                # (5.10's panic computes its frame from rbp, which __crash_kexec saved)
                saved = _rbp_save_offset(target, ip if signal else ip - 1)
                entry = O.OrcEntry(ret_slot + 8 - sp, 0 if saved is None else saved, O.REG_SP,
                                   O.REG_UNDEFINED if saved is None else O.REG_PREV_SP,
                                   O.TYPE_CALL)
                scanned = True
        trace.rules.append((ip, O.rule_text(entry, scanned)))
        if entry.type == "end":
            return
        r = entry.sp_reg
        if r == O.REG_SP:
            cfa = sp + entry.sp_offset
        elif r == O.REG_BP:
            cfa = bp + entry.sp_offset
        elif r == O.REG_SP_INDIRECT:
            cfa = mem.u64(sp) + entry.sp_offset
        elif r == O.REG_BP_INDIRECT:
            cfa = mem.u64(bp + entry.sp_offset)
        else:
            name = {O.REG_R10: "r10", O.REG_R13: "r13", O.REG_DI: "rdi", O.REG_DX: "rdx",
                    O.REG_AX: "rax"}.get(r)
            if regs_full is None or name is None:
                raise _Stop(f"unwind at {ip:x} needs a register that is not known")
            cfa = regs_full[name] + entry.sp_offset
        cfa &= MASK
        old_sp, old_bp, old_ip, old_signal = sp, bp, ip, signal
        if entry.type == O.TYPE_CALL:
            ret_slot = cfa - 8
            ip = mem.u64(ret_slot)
            sp = cfa
            signal = False
            if entry.bp_reg == O.REG_PREV_SP:
                bp = mem.u64(cfa + entry.bp_offset)
            elif entry.bp_reg == O.REG_BP:
                bp = mem.u64(old_bp + entry.bp_offset)
            regs_full = None
            new_kind = stacks.kind(ret_slot)
            if new_kind is None:
                raise _Stop(f"return address slot {ret_slot:x} is not on a known stack")
            if new_kind == stacks.kind(old_sp) and sp <= old_sp:
                raise _Stop(f"stack going the wrong way at {ret_slot:x}")
            if new_kind != prev_kind and prev_kind != "task":
                items.append(StackSwitch(prev_kind))
            prev_kind = new_kind
            if ip < 0xFFFFFFFF80000000:                  # kernel image and modules
                raise _Stop(f"return address {ip:x} at {ret_slot:x} is not kernel text")
            if verified:
                below = target.symbols.resolve(old_ip if old_signal else old_ip - 1)
                if below is None or not _after_call(target, mem, ip, below[0].address):
                    raise _Stop(f"{ip:x} at {ret_slot:x} follows no call to the frame below")
            items.append(Frame(ret_slot, ip, new_kind))
        else:
            full = entry.type == O.TYPE_REGS
            regs_addr = cfa if full else cfa - 128
            regs = mem.regs(regs_addr)
            items.append(ExceptionFrame(regs_addr, regs, stacks.kind(cfa) or "?"))
            if regs["cs"] & 3:
                return                                    # user mode: end of the kernel stack
            ip, sp = regs["rip"], regs["rsp"]
            signal = True
            if full:
                bp = regs["rbp"]
                regs_full = regs
            elif entry.bp_reg == O.REG_PREV_SP:
                bp = mem.u64(cfa + entry.bp_offset)
            new_kind = stacks.kind_or_guard(sp)
            if new_kind is None:
                raise _Stop(f"exception frame at {regs_addr:x}: rsp {sp:x} is not on a known stack")
            if new_kind == stacks.kind(old_sp) and sp <= old_sp:
                raise _Stop(f"stack going the wrong way at exception frame {regs_addr:x}")
            if new_kind != stacks.kind(regs_addr):
                # the registers were saved on an exception stack (an NMI's, a double
                # fault's): the interrupted function is a frame of its own at its rsp, on
                # the stack the walk goes back to (crash shows it so)
                items.append(StackSwitch(prev_kind))
                items.append(Frame(sp, ip, new_kind))
                prev_kind = new_kind
    raise _Stop(f"more than {MAX_FRAMES} frames")


_THUNKS = ("__x86_indirect_thunk", "__x86_indirect_call_thunk", "__x86_return_thunk")


def _after_call(target: LinuxTarget, mem: StackMemory, value: int, callee: int | None) -> bool:
    """Whether ``value`` is a return address after a call (to ``callee`` if direct)."""
    try:
        code = bytes(target.space.read(value - 7, 7))
    except MemoryError_:
        return False        # a probe: no readable code before it, so no call there
    if code[2] == 0xE8:                                   # call rel32
        dest = (value + int.from_bytes(code[3:7], "little", signed=True)) & MASK
        if callee is None or dest == callee:
            return True
        hit = target.symbols.resolve(dest)
        return bool(hit) and hit[0].name.startswith(_THUNKS)
    if code[1:3] == b"\xff\x15":                          # call *disp32(%rip)
        return True
    if code[5] == 0xFF and 0xD0 <= code[6] <= 0xD7:       # call *%reg
        return True
    if code[4] == 0xFF and 0x50 <= code[5] <= 0x57:       # call *disp8(%reg)
        return True
    return False


def _frame_pointer_entry(target: LinuxTarget, mem: StackMemory, stacks: Stacks, sp: int, bp: int,
                         ip: int) -> O.OrcEntry | None:
    """The kernel's own fallback (a frame-pointer frame) when ``bp`` is a frame on the
    current stack whose return address follows a direct call to the function at
    ``ip``; None otherwise (frame pointers are not trusted blindly: 6.1's
    ``__crash_kexec`` has none, and following rbp there skips ``panic``)."""
    rng = stacks.range_of(sp)
    if rng is None or not sp <= bp < rng[1] - 8:
        return None
    hit = target.symbols.resolve(ip)
    if hit is None:
        return None
    try:
        ret = mem.u64(bp + 8)
    except MemoryError_:
        return None         # a probe: no frame there; the caller scans for the return
    code_hit = target.symbols.resolve(ret)
    if code_hit is None or not _after_call(target, mem, ret, hit[0].address):
        return None
    try:
        code = bytes(target.space.read(ret - 5, 1))
    except MemoryError_:
        return None         # a probe, as above
    if code[0] != 0xE8:                # only a direct call proves the frame is ours
        return None
    return O.FP_ENTRY


#: prologue bytes that save nothing: endbr64, and the 5-byte nops a patched-out
#: ``call __fentry__`` becomes (ideal_nops: 0f 1f 44 00 00 on 6.x, 66 66 66 66 90 on 5.10)
_PROLOGUE_SKIP = (b"\xf3\x0f\x1e\xfa", b"\x0f\x1f\x44\x00\x00", b"\x66\x66\x66\x66\x90",
                  b"\x66\x0f\x1f\x44\x00\x00")
_PUSH_RBP = 5            # push's register number of rbp (0x55, 0x50 + 5)


def _rbp_save_offset(target: LinuxTarget, ip: int) -> int | None:
    """For a function ORC does not describe: where its prologue pushed rbp, as an
    offset from the frame's CFA (the slot above the return address is CFA - 8), or
    None when it did not (or the prologue is not the plain push sequence gcc makes)."""
    hit = target.symbols.resolve(ip)
    if hit is None:
        return None
    start = hit[0].address
    try:
        code = bytes(target.space.read(start, 48))
    except MemoryError_:
        return None         # a probe: no code to read, so no saved rbp known
    pos, pushes = 0, 0
    while pos < len(code) and start + pos < ip:
        skip = next((p for p in _PROLOGUE_SKIP if code.startswith(p, pos)), None)
        if skip is not None:
            pos += len(skip)
        elif code[pos] == 0xE8 and pushes == 0:         # call __fentry__, not patched out
            pos += 5
        elif 0x50 <= code[pos] <= 0x57:                 # push %rax..%rdi
            pushes += 1
            if code[pos] - 0x50 == _PUSH_RBP:
                return -8 - 8 * pushes
            pos += 1
        elif code[pos] == 0x41 and pos + 1 < len(code) and 0x50 <= code[pos + 1] <= 0x57:
            pushes += 1                                 # push %r8..%r15
            pos += 2
        else:
            return None
    return None


def _scan_return(target: LinuxTarget, mem: StackMemory, stacks: Stacks, sp: int, ip: int
                 ) -> int | None:
    rng = stacks.range_of(sp)
    if rng is None:
        return None
    hit = target.symbols.resolve(ip)
    callee = hit[0].address if hit else None
    addr = sp
    end = min(rng[1], sp + 8 * 512)
    while addr < end:
        v = mem.u64(addr)
        if v >= 0xFFFFFFFF80000000 and target.symbols.resolve(v) and \
                _after_call(target, mem, v, callee):
            return addr
        addr += 8
    return None
