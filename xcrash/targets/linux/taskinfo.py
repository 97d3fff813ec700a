"""What a process listing shows of each task: typed records for ``ps`` and its views.

Every record starts with the task's identity (:class:`TaskRef`: what crash's task
header ``PID: ... TASK: ... CPU: ... COMMAND: ...`` shows), so that the JSON of any
view names its task the same way.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from ...caveats import Unreadable, caveat
from ...errors import MemoryError_, XcrashError
from ...objects import Fields, Object
from ..base import cached_per_target
from . import sysinfo
from .tasks import (PF_KTHREAD, NoUserMemory, active_tasks, is_kernel_thread, task_addresses,
                    mm_rss, state_name, task_arguments, task_cpu, task_memory,
                    task_state_name, thread_rss_deltas, threads)

if TYPE_CHECKING:
    from .kernel import LinuxTarget


@dataclass
class TaskRef:
    """A task as crash's task header names it."""
    pid: int
    task: int
    cpu: int
    comm: str


def task_ref(task: Object) -> TaskRef:
    try:        # the three members read together (a listing names thousands of tasks)
        pid, cpu, comm = _ref_fields(cast("LinuxTarget", task.prog_)).read(task.at_)
    except MemoryError_:
        return TaskRef(int(task.pid), task.at_, task_cpu(task), comm_of(task))
    nul = comm.find(b"\0")
    return TaskRef(pid, task.at_, cpu, (comm if nul < 0 else comm[:nul]).decode("utf-8",
                                                                             "replace"))


@cached_per_target
def _ref_fields(target: LinuxTarget) -> Fields:
    task_t = target.type("struct task_struct")
    return Fields(target, task_t, ("pid", "cpu" if task_t.has_member("cpu")
                                   else "thread_info.cpu", "comm"))


def comm_of(task: Object) -> str:
    return task.comm.string_().decode("utf-8", "replace")


@dataclass
class TaskEntry(TaskRef):
    """A line of ``ps``."""
    ppid: int
    state: str
    mem_percent: float | Unreadable
    vsz: int | Unreadable
    rss: int | Unreadable
    kernel_thread: bool
    active: bool
    tgid: int
    policy: int
    #: the stack pointer saved at the task's last switch (None while it ran); ps -s
    kstackp: int | None = field(default=None, metadata={"json": False})


def task_entries(target: LinuxTarget) -> list[TaskEntry]:
    """Every task (idle tasks of all CPUs first among PID 0), sorted by PID, as
    crash's task table lists them."""
    active = set(active_tasks(target).values())
    total = sysinfo.lowmem_kib(target)
    group_deltas: dict[int, int] = {}
    errors: list[str] = []
    entries = []
    bulk = _PsFields.of(target)
    pids: dict[int, int] = {}
    mms: dict[int, tuple[int, int]] = {}
    task_t = target.type("struct task_struct")
    for addr in task_addresses(target, errors):
        try:
            entries.append(bulk.entry(addr, active, total, group_deltas, pids, mms))
            continue
        except XcrashError:
            pass    # anything unusual: the member-by-member reading says what (below)
        task = target.object_at(task_t, addr)
        try:
            entries.append(_entry(target, task, active, total, group_deltas))
        except MemoryError_ as err:
            caveat(f"task {task.address_:x} unreadable ({err}): left out of the list")
    for error in errors:
        caveat(f"{error}: the tasks past that point are left out")
    entries.sort(key=lambda e: (e.pid, e.cpu if e.pid == 0 else 0))
    return entries


def _entry(target: LinuxTarget, task: Object, active: set[int], total_kib: int | None,
           group_deltas: dict[int, int]) -> TaskEntry:
    pid = int(task.pid)
    vsz: int | Unreadable
    rss: int | Unreadable
    try:
        vsz, rss = task_memory(target, task, group_deltas)
    except (MemoryError_, XcrashError) as err:
        caveat(f"mm of task {task.address_:x} (pid {pid}) unreadable: {err}; VSZ and RSS shown "
               "as ?")
        vsz = rss = Unreadable(str(err))
    percent: float | Unreadable
    if isinstance(rss, Unreadable):
        percent = rss
    else:
        percent = round(rss * 100 / total_kib, 1) if total_kib else 0.0
    return TaskEntry(
        pid=pid, task=task.at_, cpu=task_cpu(task), comm=comm_of(task),
        # crash shows PPID 0 for the idle tasks, whose parent is init on CPUs > 0
        ppid=int(task.parent.pid) if pid else 0,
        state=task_state_name(task), mem_percent=percent, vsz=vsz, rss=rss,
        kernel_thread=is_kernel_thread(task), active=task.address_ in active,
        tgid=int(task.tgid), policy=int(task.policy))


class _PsFields:
    """What ps reads of every task and its mm, decoded in bulk (:class:`Fields`): the
    same values as :func:`_entry` reads member by member, which serves the tasks this
    cannot read."""

    def __init__(self, target: LinuxTarget) -> None:
        self.target = target
        task_t = target.type("struct task_struct")
        self.task = Fields(target, task_t, (
            "pid", "tgid", "comm", "__state" if task_t.has_member("__state") else "state",
            "exit_state", "flags", "cpu" if task_t.has_member("cpu") else "thread_info.cpu",
            "mm", "parent", "policy", "group_leader"))
        self.pid = Fields(target, task_t, ("pid",))
        self.rss = mm_rss(target)

    @staticmethod
    def of(target: LinuxTarget) -> _PsFields:
        return _ps_fields(target)

    def entry(self, addr: int, active: set[int], total_kib: int | None,
              group_deltas: dict[int, int], pids: dict[int, int],
              mms: dict[int, tuple[int, int]]) -> TaskEntry:
        """The entry of the task at ``addr``; ``pids``, ``mms`` and ``group_deltas``
        keep what the other tasks of a listing share (parents, mms, thread groups)."""
        (pid, tgid, comm, state, exit_state, flags, cpu, mm, parent, policy,
         leader) = self.task.read(addr)
        vsz = rss = 0
        if mm:
            counted = mms.get(mm)
            if counted is None:
                counted = mms[mm] = self.rss.read(mm)
            total_vm, pages = counted
            if self.rss.thread_deltas:
                deltas = group_deltas.get(leader)
                if deltas is None:
                    deltas = group_deltas[leader] = thread_rss_deltas(
                        self.target, self.target.object_at(self.task.type, leader),
                        self.rss.counters, strict=True)
                pages += deltas
            vsz, rss = total_vm * 4, max(pages, 0) * 4
        ppid = 0
        if pid and parent not in active and self.target.cache.get("option active"):
            ppid = -1           # --active: crash tracks no parent, and says -1
        elif pid:
            ppid = pids.get(parent, -1)
            if ppid < 0:
                ppid = pids[parent] = self.pid.read(parent)[0]
        nul = comm.find(b"\0")
        return TaskEntry(
            pid=pid, task=addr, cpu=cpu,
            comm=(comm if nul < 0 else comm[:nul]).decode("utf-8", "replace"),
            ppid=ppid, state=state_name(state | exit_state),
            mem_percent=round(rss * 100 / total_kib, 1) if total_kib else 0.0,
            vsz=vsz, rss=rss, kernel_thread=bool(flags & PF_KTHREAD), active=addr in active,
            tgid=tgid, policy=policy)


@cached_per_target
def _ps_fields(target: LinuxTarget) -> _PsFields:
    return _PsFields(target)


def saved_stack_pointer(target: LinuxTarget, entry: TaskEntry) -> int | None:
    """thread.sp saved at the task's last switch; None for a task that was running."""
    if entry.active:
        return None
    return int(target.object_at("struct task_struct", entry.task).thread.sp)


# -- the detail views of ps --------------------------------------------------------------
@dataclass
class TaskArguments(TaskRef):
    """ps -a: the command line and environment in the task's user memory."""
    argv: list[str] | None = None
    env: list[str] | None = None
    #: where the arguments start when their pages are not in the dump
    unreadable_at: int | None = None
    kernel_thread: bool = False


def arguments(target: LinuxTarget, entry: TaskRef) -> TaskArguments:
    task = target.object_at("struct task_struct", entry.task)
    ref = _ref(entry)
    try:
        found = task_arguments(target, task)
    except NoUserMemory as err:
        return TaskArguments(**ref, unreadable_at=err.address)
    if found is None:
        return TaskArguments(**ref, kernel_thread=True)
    return TaskArguments(**ref, argv=found[0], env=found[1])


@dataclass
class TaskFamily(TaskRef):
    """ps -p: the chain of ancestors (oldest first, the task last); ps -c: the
    children; ps -g: the other threads of the group (the record is the leader)."""
    related: list[TaskRef] = field(default_factory=list)
    #: why the list stops early (a thread list that could not be read)
    unreadable: str | None = None


def ancestry(target: LinuxTarget, entry: TaskRef) -> TaskFamily:
    chain = []
    task = target.object_at("struct task_struct", entry.task)
    for _ in range(64):
        chain.append(task)
        parent = task.parent.deref_()
        if parent.address_ == task.address_ or int(task.pid) == 0:
            break
        task = parent
    return TaskFamily(**_ref(entry), related=[task_ref(t) for t in reversed(chain)])


def children_by_parent(target: LinuxTarget, entries: list[TaskEntry]) -> dict[int, list[TaskEntry]]:
    """Each parent task's children, in PID order."""
    by_parent: dict[int, list[TaskEntry]] = {}
    for entry in entries:
        if entry.pid:
            parent = int(target.object_at("struct task_struct", entry.task).parent)
            by_parent.setdefault(parent, []).append(entry)
    return by_parent


def thread_group(target: LinuxTarget, entry: TaskRef) -> TaskFamily:
    """The group leader of a task with its other threads."""
    leader = target.object_at("struct task_struct", entry.task).group_leader.deref_()
    family = TaskFamily(**_ref(task_ref(leader)))
    try:
        family.related = [task_ref(t) for t in threads(target, leader)
                          if t.address_ != leader.address_]
    except XcrashError as err:
        family.unreadable = str(err)
    return family


@dataclass
class TaskTimes(TaskRef):
    """ps -t: seconds since the task started (to the crash), its start time (ns
    since boot), user and system time."""
    run_time: int = 0
    start_time: int = 0
    utime: int = 0
    stime: int = 0


def times(target: LinuxTarget, entry: TaskRef, uptime_ns: int) -> TaskTimes:
    task = target.object_at("struct task_struct", entry.task)
    start = int(task.start_time)
    return TaskTimes(**_ref(entry), run_time=max(uptime_ns - start, 0) // 10**9, start_time=start,
                     utime=int(task.utime), stime=int(task.stime))


def uptime_ns(target: LinuxTarget) -> int:
    up = sysinfo.uptime_seconds(target)
    if up is None:
        caveat("uptime unknown: run times counted from 0")
        return 0
    return int(up * 10**9)


@dataclass
class LastRun(TaskRef):
    """ps -l/-m: when the task last arrived on a CPU (sched_info.last_arrival, ns
    of its run queue's clock) and that run queue's clock at the crash."""
    state: str = ""
    last_arrival: int = 0
    rq_clock: int = 0


def has_sched_info(target: LinuxTarget) -> bool:
    info_t = target.type("struct task_struct").member("sched_info")[1].type
    return bool(info_t.has_member("last_arrival"))


def last_runs(target: LinuxTarget, entries: list[TaskEntry]) -> list[LastRun]:
    """Newest first (needs sched_info: :func:`has_sched_info`)."""
    clocks: dict[int, int] = {}
    out = []
    for e in entries:
        task = target.object_at("struct task_struct", e.task)
        if e.cpu not in clocks:
            clocks[e.cpu] = int(target.per_cpu("runqueues", e.cpu).clock)
        out.append(LastRun(**_ref(e), state=e.state,
                           last_arrival=int(task.sched_info.last_arrival), rq_clock=clocks[e.cpu]))
    out.sort(key=lambda r: -r.last_arrival)
    return out


RLIMIT_NAMES = ["CPU", "FSIZE", "DATA", "STACK", "CORE", "RSS", "NPROC", "NOFILE", "MEMLOCK",
                "AS", "LOCKS", "SIGPENDING", "MSGQUEUE", "NICE", "RTPRIO", "RTTIME"]
RLIM_INFINITY = (1 << 64) - 1


@dataclass
class Rlimit:
    current: int
    maximum: int


@dataclass
class TaskLimits(TaskRef):
    """ps -r: the resource limits of the task's signal_struct, by name (CPU, FSIZE, ...)."""
    rlimits: dict[str, Rlimit] = field(default_factory=dict)


def limits(target: LinuxTarget, entry: TaskRef) -> TaskLimits:
    task = target.object_at("struct task_struct", entry.task)
    rlim = task.signal.deref_().rlim
    count = rlim.type_.strip_typedefs().length or len(RLIMIT_NAMES)
    out = TaskLimits(**_ref(entry))
    for i in range(count):
        name = RLIMIT_NAMES[i] if i < len(RLIMIT_NAMES) else "(unknown)"
        out.rlimits[name] = Rlimit(int(rlim[i].rlim_cur), int(rlim[i].rlim_max))
    return out


def _ref(entry: TaskRef) -> dict[str, Any]:
    return {"pid": entry.pid, "task": entry.task, "cpu": entry.cpu, "comm": entry.comm}

