"""Which task: crash's context task (``set``), tasks named by PID or address, the panic task.

The context starts at the panic task (:func:`panic_task`) and is the target's
``selected_task`` once ``set`` chose another; commands that default to "the current
task" (``bt``, ``task``, ``vm``, ...) ask :func:`current_task`.  Every command that
names tasks by PID or address resolves them through one index per target
(:func:`task_index`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ...caveats import caveat
from ...errors import MemoryError_, NoSuchMember, NoSuchSymbol, NoSuchType, XcrashError
from ...objects import Fields
from ..base import cached_per_target
from .taskinfo import TaskRef, comm_of
from .tasks import active_tasks, task_addresses, task_cpu
from .xarray import CorruptXArray, lookup

if TYPE_CHECKING:
    from ...objects import Object
    from .kernel import LinuxTarget


class NoSuchTask(XcrashError):
    """A PID or task address that names no task of the dump."""

    def __init__(self, arg: str) -> None:
        super().__init__(f"invalid task or pid value: {arg}")
        self.arg = arg


class NoSuchCpu(XcrashError):
    def __init__(self, arg: str) -> None:
        super().__init__(f"invalid cpu: {arg}")
        self.arg = arg


class NoPanicTask(XcrashError):
    def __init__(self) -> None:
        super().__init__("no panic task found")


#: crash's names of the task state bits (task_state_string)
STATE_BITS = ((0x1, "TASK_INTERRUPTIBLE"), (0x2, "TASK_UNINTERRUPTIBLE"), (0x4, "TASK_STOPPED"),
              (0x8, "TASK_TRACED"), (0x10, "EXIT_DEAD"), (0x20, "EXIT_ZOMBIE"),
              (0x40, "TASK_PARKED"), (0x80, "TASK_DEAD"), (0x100, "TASK_WAKEKILL"),
              (0x200, "TASK_WAKING"), (0x400, "TASK_NOLOAD"), (0x800, "TASK_NEW"))


def state_string(task: Object) -> str:
    """crash's long state name: TASK_RUNNING, TASK_INTERRUPTIBLE, TASK_IDLE, ..."""
    t = task.type_
    state = int(task.member_("__state" if t.has_member("__state") else "state"))
    state |= int(task.exit_state)
    if state == 0:
        return "TASK_RUNNING"
    if state & 0x402 == 0x402:
        return "TASK_IDLE"
    names = [name for bit, name in STATE_BITS if state & bit]
    return "|".join(names) if names else f"{state:#x}"


# -- the task index -------------------------------------------------------------------
@dataclass
class TaskIndex:
    """Every task of the target by PID and by address, walked once: a dump does not
    change, and `foreach` resolves every task it runs a command for."""
    #: PID → its tasks in task-list order (PID 0: each CPU's idle task, by CPU)
    by_pid: dict[int, list[int]] = field(default_factory=dict)
    #: every task address the walk met (those whose PID could not be read too)
    addresses: set[int] = field(default_factory=set)
    #: what the walk could not read (a broken list, a task's PID)
    problems: list[str] = field(default_factory=list)

    def in_pid_order(self) -> list[int]:
        """The tasks as crash orders its task table: by PID, the idle tasks by CPU."""
        return [addr for pid in sorted(self.by_pid) for addr in self.by_pid[pid]]

    def announce(self) -> None:
        """Say what the index lacks (each command that lists every task calls it)."""
        for problem in self.problems:
            caveat(problem)


@cached_per_target
def task_index(target: LinuxTarget) -> TaskIndex:
    index = TaskIndex()
    errors: list[str] = []
    pid_of = Fields(target, "struct task_struct", ("pid",)).read
    for addr in task_addresses(target, errors):
        index.addresses.add(addr)
        try:
            index.by_pid.setdefault(pid_of(addr)[0], []).append(addr)
        except MemoryError_ as err:
            index.problems.append(f"task {addr:x}: PID unreadable ({err}): known by its "
                                  "address only")
    index.problems += [f"{e}: the tasks past that point are not known" for e in errors]
    return index


def resolve_task(target: LinuxTarget, arg: str) -> int:
    """A PID (decimal) or task address (hex) → the task's address (a PID shared by
    several tasks, as the idle tasks' 0: the first of them).  A PID is looked up in the
    kernel's PID table first (one path down its radix tree), the list of every task
    only when that says nothing (10,000 tasks: 0.15 s)."""
    if arg.isdigit() and int(arg):
        found = task_of_pid(target, int(arg))
        if found is not None:
            return found
    index = task_index(target)
    if arg.isdigit() and int(arg) in index.by_pid:
        return index.by_pid[int(arg)][0]
    try:
        addr = int(arg, 16)
    except ValueError:
        addr = None               # neither a PID nor an address
    if addr is not None and addr in index.addresses:
        return addr
    index.announce()
    raise NoSuchTask(arg)


def task_of_pid(target: LinuxTarget, pid: int) -> int | None:
    """The task of ``pid`` in the initial PID namespace's table (``init_pid_ns.idr``:
    struct pid, whose ``tasks[PIDTYPE_PID]`` links the task's ``pid_links[0]``); None
    when the table does not say (no such PID, a layout without these members, a page
    not in the dump), or says a task whose own ``pid`` is not that PID."""
    try:
        ns = target.object("init_pid_ns")
        idr = ns.idr
        entry = lookup(target, int(idr.idr_rt.address_of_()), pid - int(idr.idr_base))
        if entry is None:
            return None
        first = int(target.object_at("struct pid", entry).tasks[0].first)
        if not first:
            return None
        task = first - target.offsetof("struct task_struct", "pid_links")
        if int(target.object_at("struct task_struct", task).pid) != pid:
            return None
        return task
    except (MemoryError_, NoSuchMember, NoSuchSymbol, NoSuchType, CorruptXArray):
        return None             # the list of every task answers


# -- the panic task and the context task ------------------------------------------------
def panic_task_address(target: LinuxTarget, *, guess: bool = True) -> int | None:
    """The panic task (see :func:`panic_task`: with ``guess``, a stand-in when no task
    panicked, with a caveat)."""
    hit = panic_task(target, guess=guess)
    return hit[1] if hit else None


def current_task(target: LinuxTarget) -> int | None:
    """The context task's address: the one ``set`` selected, else the panic task.  In a
    dump where no task panicked (a Xen guest) the context starts, as crash's, at the
    task of the first CPU whose registers are in kernel mode (no panic is claimed:
    `set` does not mark it PANIC)."""
    if target.selected_task is not None:
        return target.selected_task
    found = panic_task_address(target, guess=False)
    if found is None:
        first = first_active(target)
        found = first[1] if first else None
    return found


def panic_task(target: LinuxTarget, *, guess: bool = True) -> tuple[int, int] | None:
    """(cpu, task address) of the panicking CPU, ``panic_cpu``'s.  Without one (a Xen
    guest: the guest did not panic; a dump taken without a panic) and with ``guess``,
    the task of the first CPU whose saved registers are in kernel mode, else of the
    first CPU, saying so; None otherwise."""
    active = active_tasks(target, as_dumped=True)
    sym = target.symbols.get("panic_cpu")
    why = "no panic_cpu in this kernel"
    if sym is not None:
        try:
            cpu = target.space.read_u32(sym.address)
        except MemoryError_ as err:
            why = f"panic_cpu unreadable ({err})"
            if not guess:
                caveat(f"{why}: the panic task is not known")
        else:
            if cpu in active:
                return cpu, active[cpu]
            why = f"panic_cpu is {cpu if cpu < 0x80000000 else cpu - (1 << 32)}"
    if not guess:
        return None
    hit = first_active(target)
    if hit is not None:
        caveat(f"no panic task ({why}): the task of CPU {hit[0]}, "
               + ("the first CPU whose saved registers are in kernel mode, is taken"
                  if hit[2] else "the first CPU, is taken"))
    return hit[:2] if hit else None


def first_active(target: LinuxTarget) -> tuple[int, int, bool] | None:
    """(cpu, task, in kernel mode) of the first CPU whose saved registers are in kernel
    mode, else of the first CPU: a dump's current task when none panicked."""
    active = active_tasks(target, as_dumped=True)
    for c in target.cpus:
        if c.regs.get("cs", 0) & 3 == 0 and c.regs.get("rip") and c.index in active:
            return c.index, active[c.index], True
    if active:
        cpu = min(active)
        return cpu, active[cpu], False
    return None


def cpu_task(target: LinuxTarget, spec: str) -> int:
    """The task that was active on a CPU (``set -c CPU``)."""
    try:
        cpu = int(spec)
    except ValueError:
        raise NoSuchCpu(spec) from None
    active = active_tasks(target)
    if cpu not in active:
        raise NoSuchCpu(str(cpu))
    return active[cpu]


@dataclass
class TaskContext(TaskRef):
    """crash's ``set`` block: a task as the context shows it."""
    thread_info: int
    #: crash's long state name (TASK_RUNNING, TASK_INTERRUPTIBLE, ...)
    state: str
    panic: bool
    #: the task was running on a CPU (the panic task too)
    active: bool
    #: how many tasks share the PID (each CPU's idle task: PID 0)
    same_pid: int


def task_context(target: LinuxTarget, addr: int) -> TaskContext:
    task = target.object_at(target.type("struct task_struct"), addr)
    if task.type_.has_member("thread_info") and \
            task.type_.strip_typedefs().member_path("thread_info")[0] == 0:
        thread_info = addr                       # CONFIG_THREAD_INFO_IN_TASK
    else:
        thread_info = int(task.stack)
    pid = int(task.pid)
    return TaskContext(pid=pid, task=addr, cpu=task_cpu(task), comm=comm_of(task),
                       thread_info=thread_info, state=state_string(task),
                       panic=addr == panic_task_address(target, guess=False),
                       active=addr in active_tasks(target).values(),
                       same_pid=len(task_index(target).by_pid.get(pid, ())))

