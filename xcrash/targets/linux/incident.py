"""How a Linux kernel died, as an engineer reads it first: the facts of a dump.

:func:`incident` gathers what the first look at a dump finds -- the panic message and
the way of dying it names (sysrq, Oops, BUG, WARN, soft lockup, NMI, hung task, OOM,
stack overflow), the panic task and CPU, the function that called into the panic, the
faulting function, address and stack when an exception frame interrupted kernel code,
the tasks blocked in D state and what each waits in, and the biggest task -- from the
dump itself: the task list and the panic task's trace, the log for what only the log
says (the faulting address, the ``kernel BUG at`` line).  The course and the exercises
built on any dump ask about these facts (``xcrash/course``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ...caveats import Unreadable
from ...errors import XcrashError
from .context import panic_task
from .taskinfo import TaskEntry, TaskRef, task_entries
from .traces import BtFrame, TaskExceptionFrame, TraceStart, trace_records

if TYPE_CHECKING:
    from .kernel import LinuxTarget

#: frames of the panic machinery itself: the function that called into them is the
#: one that decided to die (or faulted)
PANIC_FRAMES = {"panic", "vpanic", "nmi_panic", "__crash_kexec", "crash_kexec", "machine_kexec",
                "native_machine_crash_shutdown", "crash_setup_regs", "oops_end", "__die", "die",
                "die_addr", "do_trap", "do_error_trap", "handle_invalid_op", "exc_invalid_op",
                "asm_exc_invalid_op", "kexec_crash", "machine_crash_shutdown",
                "dump_stack_lvl", "dump_stack", "check_panic_on_warn", "__warn", "report_bug",
                "handle_bug", "nmi_panic_self_stop", "crash_nmi_callback"}

#: functions a sleeping task passes through to wait: what it waits *in* is the first
#: frame above them
WAIT_MACHINERY = ("__schedule", "schedule", "schedule_timeout", "schedule_hrtimeout",
                  "io_schedule", "schedule_preempt_disabled", "__mutex_lock", "mutex_lock",
                  "__mutex_lock_slowpath", "rwsem_down_", "down_", "__down", "down",
                  "wait_for_completion", "__wait_for_common", "do_wait_for_common",
                  "wait_for_common", "bit_wait", "__wait_on_bit", "out_of_line_wait_on_bit",
                  "rt_mutex", "__rt_mutex", "msleep", "usleep_range", "do_nanosleep",
                  "hrtimer_nanosleep", "schedule_hrtimeout_range", "__wait_event",
                  "wait_woken", "prepare_to_wait", "__x64_sys_", "__do_sys_", "do_syscall_64",
                  "entry_SYSCALL_64")

#: the ways to die the log names, in the order they are recognised: (kind, pattern)
DEATHS = (
    ("sysrq", re.compile(r"sysrq triggered crash|SysRq : Trigger a crash|sysrq: Trigger a crash")),
    ("softlockup", re.compile(r"soft lockup - CPU#\d+|softlockup: hung tasks")),
    ("hardlockup", re.compile(r"hard LOCKUP|hardlockup: ")),
    ("hung", re.compile(r"hung_task: blocked tasks|blocked for more than \d+ seconds")),
    ("oom", re.compile(r"Out of memory|deadlocked on memory|panic_on_oom")),
    ("overflow", re.compile(r"stack guard page was hit|kernel stack overflow")),
    ("warn", re.compile(r"panic_on_warn set|^WARNING: CPU: ", re.M)),
    ("bug", re.compile(r"kernel BUG at |invalid opcode: ")),
    ("nmi", re.compile(r"NMI: Not continuing|NMI received for unknown reason|"
                       r"NMI IOCK error|NMI: IOCK")),
    ("oops", re.compile(r"BUG: unable to handle|NULL pointer dereference|general protection "
                        r"fault|Oops: |Fatal exception|double fault")),
)

_ADDRESS = re.compile(r"(?:NULL pointer dereference, address: |unable to handle page fault for "
                      r"address: |dereference at |paging request at |non-canonical address "
                      r"|stack guard page was hit at )(?:0x)?([0-9a-f]+)")
_BUG_AT = re.compile(r"kernel BUG at (\S+?):(\d+)!")
_WARNING_AT = re.compile(r"WARNING: CPU: \d+ PID: \d+ at (\S+?):(\d+) (\S+?)\+")
_LOCKUP_CPU = re.compile(r"soft lockup - CPU#(\d+) stuck for (\d+)s! \[(.+?):(\d+)\]")
_HUNG = re.compile(r"INFO: task (.+?):(\d+) blocked for more than (\d+) seconds")
_OOPS_HEAD = re.compile(r"^(?:BUG: |Oops: |general protection fault|kernel BUG at |invalid opcode"
                        r"|sysrq: Trigger a crash|SysRq : Trigger a crash"
                        r"|WARNING: CPU: |watchdog: BUG: soft lockup|Uhhuh\. NMI|"
                        r"INFO: task .* blocked|.*invoked oom-killer|kernel stack overflow)")


@dataclass
class Fault:
    """An exception frame that interrupted kernel code on the panic task's way to the
    panic: where the kernel was when it faulted (or the NMI, the timer, the BUG hit)."""
    function: str | None
    offset: int | None
    #: the faulting instruction's address (the frame's RIP)
    rip: int
    #: the module the function is in (None: the kernel's own code)
    module: str | None
    #: the stack the interrupted code ran on: "task", "IRQ", "NMI", "DOUBLEFAULT", ...
    stack: str
    #: the stack the exception frame itself is on
    frame_stack: str
    #: the interrupted code's callers, innermost first: (function, module or None)
    callers: list[tuple[str, str | None]] = field(default_factory=list)


@dataclass
class BlockedTask(TaskRef):
    """A task in uninterruptible sleep (D, ps's UN): what it waits in."""
    #: the first function of its trace above the scheduler and wait machinery
    waiting_in: str | None
    #: the wait primitive it sleeps in (mutex_lock, wait_for_completion, msleep, ...)
    primitive: str | None
    #: its whole trace, innermost first (function names)
    functions: list[str] = field(default_factory=list)


@dataclass
class Incident:
    """The facts of a dump: see the module's description.  None: not in this dump."""
    #: sysrq, oops, bug, warn, softlockup, hardlockup, nmi, hung, oom, overflow, panic
    #: (another panic() call), or "" (no panic message: the kernel did not panic)
    kind: str
    #: the panic message as sys shows it ("" when none)
    panic_message: str
    panic_task: TaskRef | None
    panic_cpu: int | None
    #: the panic task's trace, innermost first (function names)
    functions: list[str] = field(default_factory=list)
    #: the function below the panic machinery: what called into the panic
    caller: str | None = None
    fault: Fault | None = None
    #: the faulting data address the log gives (CR2 of a page fault, a guard page's)
    fault_address: int | None = None
    #: the first line of the report before the panic (the Oops/BUG/WARNING header)
    report: str | None = None
    #: where the log's "kernel BUG at" or "WARNING: ... at" points: (file, line)
    source: tuple[str, int] | None = None
    #: the CPU a soft lockup names, and the task it names there (comm, pid)
    lockup_cpu: int | None = None
    lockup_task: tuple[str, int] | None = None
    #: the task the hung-task detector names (comm, pid)
    hung_task: tuple[str, int] | None = None
    blocked: list[BlockedTask] = field(default_factory=list)
    #: how the panic task entered the kernel: the entry code's frame before the first
    #: exception frame of its trace (entry_SYSCALL_64..., asm_exc_nmi, asm_exc_page_fault),
    #: and whether that frame's registers are user mode's
    entry: str | None = None
    entry_user: bool | None = None
    #: the task with the largest RSS (KiB), what an OOM looks for
    biggest: TaskEntry | None = None
    tasks: int = 0
    release: str | Unreadable = ""


def death_kind(lines: list[str], message: str) -> str:
    """The way of dying the log names (see DEATHS); "panic" for another panic() call,
    "" when there is no panic message."""
    text = "\n".join(lines[-400:])
    # "oops" last: its words (Fatal exception, Oops:) end the other reports too
    for where in (message, text):
        for kind, pattern in DEATHS[:-1]:
            if pattern.search(where):
                return kind
    if DEATHS[-1][1].search(message) or DEATHS[-1][1].search(text):
        return "oops"
    return "panic" if message else ""


def _report(lines: list[str]) -> str | None:
    """The first header line of the last report before the panic."""
    panic_at = max((i for i, line in enumerate(lines) if "Kernel panic - not syncing" in line),
                   default=len(lines))
    found = None
    for line in reversed(lines[max(0, panic_at - 200):panic_at + 1]):
        if _OOPS_HEAD.match(line.strip()):
            found = line.strip()
        elif found is not None and line.strip().startswith("---[ end trace"):
            break
    return found


def _strip(name: str | None) -> str:
    return (name or "").split(".")[0]


def _is_wait(name: str) -> bool:
    return any(name == w or name.startswith(w) for w in WAIT_MACHINERY if w.endswith("_")) or \
        _strip(name) in WAIT_MACHINERY


def blocked_tasks(target: LinuxTarget, entries: list[TaskEntry]) -> list[BlockedTask]:
    """Every task in D state (UN) with what it waits in."""
    out = []
    for e in entries:
        if e.state != "UN":
            continue
        try:
            frames = [r.function for r in trace_records(target, e.task)
                      if isinstance(r, BtFrame) and r.function]
        except XcrashError:
            frames = []
        at = next((i for i, f in enumerate(frames) if not _is_wait(f)), None)
        waiting = frames[at] if at is not None else None
        # the outermost wait function below it: mutex_lock, msleep, ... (schedule: none)
        primitive = _strip(frames[at - 1]) if at else None
        out.append(BlockedTask(e.pid, e.task, e.cpu, e.comm, waiting, primitive, frames))
    return out


def incident(target: LinuxTarget) -> Incident:
    from . import printk, sysinfo
    try:
        lines = [line for r in printk.records(target) for line in r.text.split("\n")]
    except XcrashError:
        lines = []
    message = printk.panic_message(target)
    message = message if isinstance(message, str) else ""
    found = Incident(death_kind(lines, message), message, None, None)
    try:
        found.release = target.utsname["release"]
    except XcrashError as err:
        found.release = Unreadable(str(err))
    entries = task_entries(target)
    found.tasks = sysinfo.task_count(target) or len(entries)
    found.blocked = blocked_tasks(target, entries)
    users = [(e.rss, e) for e in entries if not e.kernel_thread and isinstance(e.rss, int)]
    found.biggest = max(users, key=lambda pair: pair[0], default=(0, None))[1]
    hit = panic_task(target, guess=False)
    if hit is not None:
        cpu, addr = hit
        found.panic_cpu = cpu
        _from_trace(target, found, addr)
    _from_log(found, lines)
    return found


def _from_trace(target: LinuxTarget, found: Incident, addr: int) -> None:
    records = trace_records(target, addr)
    start = records[0]
    assert isinstance(start, TraceStart)
    found.panic_task = TaskRef(start.pid, start.task, start.cpu, start.comm)
    found.functions = [r.function or "?" for r in records if isinstance(r, BtFrame)]
    deepest = -1
    for i, name in enumerate(found.functions):
        if _strip(name) in PANIC_FRAMES or name.startswith(("nmi_panic", "panic")):
            deepest = i
    if 0 <= deepest < len(found.functions) - 1:
        found.caller = found.functions[deepest + 1]
    last: str | None = None
    for r in records:
        if isinstance(r, BtFrame):
            last = r.function
            if found.fault is not None and r.function:
                found.fault.callers.append((r.function, r.module))
        if isinstance(r, TaskExceptionFrame) and found.entry is None:
            found.entry, found.entry_user = last, r.user_mode
        if isinstance(r, TaskExceptionFrame) and not r.user_mode and found.fault is None:
            hit = target.symbols.resolve(r.regs["rip"])
            found.fault = Fault(r.function, r.offset, r.regs["rip"],
                                getattr(hit[0], "module", None) if hit else None,
                                _stack_of(target, r.regs["rsp"], addr), r.stack)


def _stack_of(target: LinuxTarget, sp: int, task: int) -> str:
    from .stacks import Stacks
    from .unwind import task_on_cpu
    obj = target.object_at("struct task_struct", task)
    return Stacks(target, obj, task_on_cpu(target, task)).kind(sp) or "?"


def _from_log(found: Incident, lines: list[str]) -> None:
    found.report = _report(lines)
    tail = lines[-400:]
    for line in reversed(tail):
        m = _ADDRESS.search(line)
        if m and found.fault_address is None:
            found.fault_address = int(m.group(1), 16)
        m = _BUG_AT.search(line) or _WARNING_AT.search(line)
        if m and found.source is None:
            found.source = (m.group(1), int(m.group(2)))
        m = _LOCKUP_CPU.search(line)
        if m and found.lockup_cpu is None:
            found.lockup_cpu = int(m.group(1))
            found.lockup_task = (m.group(3), int(m.group(4)))
        m = _HUNG.search(line)
        if m and found.hung_task is None:
            found.hung_task = (m.group(1), int(m.group(2)))
