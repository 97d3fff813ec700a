"""What a report reads first of a Linux kernel: how it crashed, what was stuck, what
the log said went wrong, and what was loaded that the distribution did not build.

- :func:`crash_site`: the crash's title (syzbot's style: ``BUG: unable to handle page
  fault in ext4_foo``) and the frames of its trace that are not crash machinery
  (:data:`MACHINERY`), for :class:`~xcrash.targets.signature.CrashSite`'s signature;
- :func:`~xcrash.targets.linux.logreports.log_reports` (``logreports.py``): every
  ``WARNING``/``BUG``/``Oops``/``Call Trace``/panic block of the log, each with its lines;
- :func:`blocked_tasks`: the tasks in ``D`` state (TASK_UNINTERRUPTIBLE) and how long
  each had been off its CPU;
- :func:`module_notes`: the modules whose taint flags say out-of-tree, unsigned,
  proprietary, staging or forced.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ...caveats import Unreadable, caveat
from ...errors import MemoryError_, XcrashError
from ..signature import CrashSite, function_name
from .context import panic_task, task_index
from .logreports import LogReport, log_lines, log_reports
from .taskinfo import TaskRef, comm_of
from .tasks import for_each_task, task_cpu, task_state_name

if TYPE_CHECKING:
    from .kernel import LinuxTarget

#: functions of a trace that say how the kernel died, not where: kexec and panic,
#: oops and trap handling, page-fault handling, NMI and interrupt entry, the
#: watchdogs' timers, dump_stack, the system-call entry and the bottoms of kernel
#: threads and idle CPUs
MACHINERY = frozenset("""
machine_kexec __crash_kexec crash_kexec panic vpanic nmi_panic check_panic_on_warn __warn
warn_slowpath_fmt warn_slowpath_null report_bug __report_bug handle_bug
oops_end die die_addr __die __die_body do_trap do_error_trap do_invalid_op handle_invalid_op
exc_invalid_op asm_exc_invalid_op invalid_op do_general_protection exc_general_protection
asm_exc_general_protection general_protection exc_divide_error asm_exc_divide_error
do_divide_error divide_error exc_double_fault asm_exc_double_fault do_double_fault double_fault
handle_stack_overflow exc_stack_segment asm_exc_stack_segment do_int3 do_int3_user exc_int3
asm_exc_int3 exc_control_protection asm_exc_control_protection
page_fault_oops kernelmode_fixup_or_oops no_context __bad_area_nosemaphore
bad_area_nosemaphore bad_area bad_area_access_error do_kern_addr_fault do_user_addr_fault
handle_page_fault exc_page_fault asm_exc_page_fault do_page_fault __do_page_fault page_fault
async_page_fault fixup_exception
crash_nmi_callback nmi_handle default_do_nmi do_nmi exc_nmi asm_exc_nmi nmi end_repeat_nmi
repeat_nmi first_nmi nested_nmi nested_nmi_out unknown_nmi_error io_check_error
pci_serr_error watchdog_overflow_callback __perf_event_overflow perf_event_overflow
handle_pmi_common intel_pmu_handle_irq amd_pmu_handle_irq perf_event_nmi_handler
watchdog_hardlockup_check
watchdog_timer_fn __hrtimer_run_queues hrtimer_interrupt __sysvec_apic_timer_interrupt
sysvec_apic_timer_interrupt asm_sysvec_apic_timer_interrupt smp_apic_timer_interrupt
apic_timer_interrupt local_apic_timer_interrupt irq_exit_rcu irq_exit __irq_exit_rcu
__do_softirq handle_softirqs do_softirq do_softirq_own_stack run_on_irqstack_cond
__run_sysvec_on_irqstack __run_irq_on_irqstack call_on_stack asm_call_irq_on_stack
asm_call_on_stack asm_call_sysvec_on_stack irq_enter_rcu common_interrupt
asm_common_interrupt ret_from_intr __common_interrupt handle_irq do_IRQ
dump_stack dump_stack_lvl __dump_stack show_stack show_trace_log_lvl
xen_hypercall_pv xen_hypercall_hvm xen_reboot xen_emergency_restart xen_crash_shutdown
xen_panic_event emergency_restart machine_emergency_restart
do_syscall_64 entry_SYSCALL_64 entry_SYSCALL_64_after_hwframe entry_SYSCALL_64_safe_stack
do_fast_syscall_32 do_int80_syscall_32 entry_SYSENTER_compat_after_hwframe
entry_SYSCALL_compat_after_hwframe x64_sys_call syscall_exit_to_user_mode
exit_to_user_mode_prepare irqentry_exit irqentry_enter ret_from_fork ret_from_fork_asm kthread
cpu_startup_entry start_secondary secondary_startup_64 secondary_startup_64_no_verify
common_startup_64 rest_init start_kernel x86_64_start_reservations x86_64_start_kernel
check_hung_uninterruptible_tasks check_hung_task
""".split())

#: functions a blocked task waits in: the hung task's title names the first other one
SCHEDULER = frozenset("""
__schedule schedule schedule_timeout schedule_preempt_disabled schedule_hrtimeout_range_clock
schedule_hrtimeout_range schedule_hrtimeout io_schedule io_schedule_timeout
preempt_schedule_common __mutex_lock __mutex_lock_slowpath mutex_lock mutex_lock_nested
mutex_lock_killable mutex_lock_interruptible __mutex_lock_killable_slowpath __down
__down_common __down_timeout __down_interruptible __down_killable down down_timeout
down_interruptible down_killable rwsem_down_read_slowpath rwsem_down_write_slowpath down_read
down_write down_read_killable down_write_killable __wait_for_common wait_for_completion
wait_for_completion_timeout wait_for_completion_io wait_for_completion_killable
wait_for_completion_interruptible do_wait_for_common wait_for_common msleep
usleep_range_state bit_wait bit_wait_io __wait_on_bit out_of_line_wait_on_bit
wait_on_page_bit_common folio_wait_bit_common rt_mutex_slowlock __rt_mutex_slowlock
percpu_rwsem_wait __percpu_down_read schedule_idle
""".split())

#: the kinds of "Kernel panic" message that only say an earlier report was fatal
_CONSEQUENCES = ("Fatal exception", "panic_on_warn set", "softlockup: hung tasks",
                 "hung_task: blocked tasks", "Fatal hardware error", "hard LOCKUP",
                 "Hard LOCKUP", "panic_on_oops", "Fatal Machine check")
_FRAME = re.compile(r"^\s+([\w.$]+)\+0x[0-9a-f]+/0x[0-9a-f]+")
_RIP = re.compile(r"^RIP: [0-9a-f]{4}:([\w.$]+)\+0x")
_WARNING_AT = re.compile(r"^WARNING: .* at \S+ ([\w.$]+)\+0x")
_HUNG = re.compile(r"^INFO: task (.+):(\d+) blocked for more than")
#: the task names a report line carries (``task xc:12``, ``[xc:12]``, ``: xc/12/0x2``): the
#: same bug hit by another program is the same crash
_TASK_NAMES = [(re.compile(p), r) for p, r in [
    (r"^(INFO: task) .+:\d+ (blocked for)", r"\1 \2"),
    (r"\s*\[[^\]\s]+:\d+\]\s*$", ""),
    (r"^(BUG: [^:]+): \S+/\d+/0x[0-9a-f]+$", r"\1"),
]]


def signed_message(line: str) -> str:
    """A report line without the name and PID of the task that hit it."""
    text = line.strip()
    for pattern, repl in _TASK_NAMES:
        text = pattern.sub(repl, text)
    return text


def _cause(reports: list[LogReport]) -> LogReport | None:
    """The report that says why the kernel died: the last one, or when it is a panic
    that only says an earlier report was fatal (``Fatal exception``, ``panic_on_warn
    set``, ...), the report before it."""
    fatal = [r for r in reports if r.kind != "call trace"]
    if not fatal:
        return None
    last = fatal[-1]
    if last.kind == "panic" and any(c in last.first for c in _CONSEQUENCES) and len(fatal) > 1:
        return fatal[-2]
    return last


# -- titles ---------------------------------------------------------------------------------
_TITLES: list[tuple[re.Pattern[str], str]] = [(re.compile(p), t) for p, t in [
    (r"^BUG: kernel NULL pointer dereference", "BUG: kernel NULL pointer dereference"),
    (r"^BUG: unable to handle page fault", "BUG: unable to handle page fault"),
    (r"^BUG: unable to handle kernel (paging request|NULL pointer dereference)",
     r"BUG: unable to handle kernel \1"),
    (r"^BUG: (TASK )?stack guard page was hit", "BUG: stack guard page was hit"),
    (r"^kernel stack overflow", "kernel stack overflow"),
    (r"^(watchdog: )?BUG: soft lockup", "BUG: soft lockup"),
    (r"^BUG: (.+?)(:| at |,|$)", r"BUG: \1"),
    (r"^kernel BUG at", "kernel BUG"),
    (r"^WARNING: ", "WARNING"),
    (r"^general protection fault", "general protection fault"),
    (r"^INFO: task .* blocked for more than", "INFO: task hung"),
    (r"^(rcu: )?INFO: (rcu_\w+) (self-)?detected", r"INFO: \2 detected stall"),
    (r"^(NMI watchdog: )?Watchdog detected hard LOCKUP", "Watchdog detected hard LOCKUP"),
    (r"^(divide error|invalid opcode|stack segment|double fault)", r"\1"),
    (r"^Oops: ", "Oops"),
    (r"^(Kernel panic - not syncing: .*?)\s*$", r"\1"),
]]


def title_of(line: str, function: str | None) -> str:
    """syzbot's title for a report's first line, ``in FUNCTION`` when one is known."""
    base = line.strip()
    for pattern, template in _TITLES:
        m = pattern.match(base)
        if m:
            base = m.expand(template)
            break
    return f"{base} in {function}" if function else base


def trace_functions(records: list[Any], skip: frozenset[str] = MACHINERY) -> list[str]:
    """The functions of a task's trace records (bt's), innermost first, without the
    machinery: each frame's function and each kernel-mode exception frame's RIP
    function, compiler suffixes stripped, a repeat of the one before dropped."""
    from .traces import BtFrame, TaskExceptionFrame
    out: list[str] = []
    for r in records:
        name = None
        if isinstance(r, BtFrame):
            name = r.function
        elif isinstance(r, TaskExceptionFrame) and not r.user_mode:
            name = r.function
        if name is None:
            continue
        name = function_name(name)
        if name in skip or out and out[-1] == name:
            continue
        out.append(name)
    return out


def _block_functions(report: LogReport, skip: frozenset[str]) -> list[str]:
    """The functions of a log block: its RIP line's, then its Call Trace's reliable
    frames (``?`` ones are guesses)."""
    out: list[str] = []
    for line in report.lines:
        m = _RIP.match(line) or _FRAME.match(line)
        if m is None or line.lstrip().startswith("? "):
            continue
        name = function_name(m.group(1))
        if name not in skip and (not out or out[-1] != name):
            out.append(name)
    return out


def _task_trace(target: LinuxTarget, addr: int) -> list[Any]:
    from .traces import trace_records
    return trace_records(target, addr)


def crash_site(target: LinuxTarget) -> CrashSite | None:
    """How the kernel died: None when it did not (a Xen guest that was running when
    its host crashed: no panic CPU, and no fatal report in its log)."""
    from ..linux.sysinfo import panic as panic_message
    try:
        lines = log_lines(target)
    except XcrashError as err:
        caveat(f"the log is unreadable ({err}): the crash title has no report line")
        lines = []
    reports = log_reports(target, lines)
    cause = _cause(reports)
    message = panic_message(target)
    hit = panic_task(target, guess=False)
    if hit is None and (cause is None or cause.kind in ("warning", "call trace")):
        return None
    records: list[Any] = []
    cpu = pid = task = None
    comm = None
    if hit is not None:
        cpu, task = hit
        try:
            records = _task_trace(target, task)
        except XcrashError as err:
            caveat(f"the panic task's trace is unreadable ({err}): the crash frames come "
                   "from the log")
    frames = trace_functions(records)
    if records:
        start = records[0]
        pid, comm = start.pid, start.comm
    kind = cause.kind if cause is not None else "panic"
    line = cause.first if cause is not None else (message if isinstance(message, str) else "")
    function: str | None = None
    if kind == "hung task" and cause is not None:
        hung = _hung_task(target, cause)
        if hung is not None:
            ref, hung_records = hung
            frames = trace_functions(hung_records, MACHINERY | SCHEDULER)
            pid, comm, task, cpu = ref.pid, ref.comm, ref.task, ref.cpu
        if not frames:
            frames = _block_functions(cause, MACHINERY | SCHEDULER)
    elif kind == "warning" and cause is not None:
        m = _WARNING_AT.match(cause.first)
        function = function_name(m.group(1)) if m else None
    if not frames and cause is not None:
        frames = _block_functions(cause, MACHINERY)
    function = function or (frames[0] if frames else None)
    if not line:
        line = "unknown crash (no panic message, no report in the log)"
    return CrashSite(target=target.name, title=title_of(line, function), message=signed_message(line),
                     frames=frames, cpu=cpu, pid=pid, comm=comm, task=task, kind=kind)


def _hung_task(target: LinuxTarget, report: LogReport) -> tuple[TaskRef, list[Any]] | None:
    """The task a hung-task report names, and its trace from the dump."""
    m = _HUNG.match(report.first)
    if m is None:
        return None
    pid = int(m.group(2))
    try:
        addr = next((a for a in task_index(target).by_pid.get(pid, [])), None)
        if addr is None:
            caveat(f"the hung task {pid} is not in the task list: its frames come from the log")
            return None
        records = _task_trace(target, addr)
    except XcrashError as err:
        caveat(f"the hung task {pid} is unreadable ({err}): its frames come from the log")
        return None
    start = records[0]
    return TaskRef(start.pid, start.task, start.cpu, start.comm), records


# -- tasks in D state ------------------------------------------------------------------------
@dataclass
class BlockedTask(TaskRef):
    """A task in ``D`` state (TASK_UNINTERRUPTIBLE, ``UN`` in ps) and how long it had been
    off its CPU at the crash: its run queue's ``clock_task`` minus its ``se.exec_start``
    (when it last stopped running), in nanoseconds."""
    state: str = "UN"
    waited_ns: int | Unreadable = field(default_factory=lambda: Unreadable("not read"))


def blocked_tasks(target: LinuxTarget, states: tuple[str, ...] = ("UN",)) -> list[BlockedTask]:
    """The tasks whose state is one of ``states`` (ps's names; ``UN``: D state), the
    longest-waiting first."""
    clocks: dict[int, int | Unreadable] = {}
    out: list[BlockedTask] = []
    errors: list[str] = []
    for t in for_each_task(target, errors):
        try:
            state = task_state_name(t)
            if state not in states:
                continue
            cpu = task_cpu(t)
            addr = t.address_
            assert addr is not None             # a task is an object in memory
            entry = BlockedTask(int(t.pid), addr, cpu, comm_of(t), state=state)
            if cpu not in clocks:
                clocks[cpu] = _clock_task(target, cpu)
            clock = clocks[cpu]
            entry.waited_ns = (max(clock - int(t.se.exec_start), 0)
                               if isinstance(clock, int) else clock)
        except MemoryError_ as err:
            caveat(f"task {t.address_ or 0:x} unreadable ({err}): left out of the blocked tasks")
            continue
        out.append(entry)
    for error in errors:
        caveat(f"{error}: the blocked tasks past that point are left out")
    out.sort(key=lambda b: -b.waited_ns if isinstance(b.waited_ns, int) else 0)
    return out


def _clock_task(target: LinuxTarget, cpu: int) -> int | Unreadable:
    try:
        return int(target.per_cpu("runqueues", cpu).clock_task)
    except XcrashError as err:
        caveat(f"CPU {cpu}'s run queue clock unreadable ({err}): its tasks' wait shown as ?")
        return Unreadable(str(err))


# -- modules -------------------------------------------------------------------------------
#: module taint letters a report points out, and what they mean
MODULE_FLAGS = {"O": "out-of-tree", "E": "unsigned", "P": "proprietary", "C": "staging",
                "F": "forced", "X": "unsupported", "K": "livepatch"}


@dataclass
class ModuleNote:
    """A loaded module whose taint flags a report points out."""
    name: str
    #: its taint letters (``OE``), as ``mod -t`` shows them
    taints: str | Unreadable
    #: what they mean: ``out-of-tree``, ``unsigned``, ...
    flags: list[str] = field(default_factory=list)


def module_notes(target: LinuxTarget) -> list[ModuleNote]:
    """The tainted modules (``mod -t``), with what their letters mean."""
    from .taints import module_taints
    table = target.modules
    if table.unreadable is not None:
        caveat(f"the module list is unreadable ({table.unreadable}): no module listed")
        return []
    out = []
    modules = list(table)
    for t in module_taints(target, modules):
        letters = t.taints if isinstance(t.taints, str) else ""
        out.append(ModuleNote(t.name, t.taints, [MODULE_FLAGS[c] for c in letters
                                                 if c in MODULE_FLAGS]))
    return out

