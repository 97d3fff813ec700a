"""Run queues: what each CPU was running and what waited (CFS rb-tree, RT arrays),
their clocks, and the tasks whose ``on_rq`` is set: typed records for ``runq``."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from collections.abc import Iterable, Iterator

from ...caveats import caveat
from ...errors import XcrashError
from ...objects import Object, list_for_each_entry
from .rbtree import rb_inorder
from .tasks import active_tasks, for_each_task, task_cpu

if TYPE_CHECKING:
    from .kernel import LinuxTarget


@dataclass
class RqTask:
    """A task as runq names it, with its priority (``prio``)."""
    pid: int
    task: int
    comm: str
    prio: int


def rq_task(task: Object) -> RqTask:
    return RqTask(int(task.pid), task.at_, task.comm.string_().decode("utf-8", "replace"),
                  int(task.prio))


@dataclass
class RunQueue:
    """A CPU's ``struct rq``: the task it ran, the tasks waiting on its real-time
    priority array (``rt``, each with its priority index) and in its CFS tree
    (``cfs``, in tree order; group entities left out: their tasks are on their own
    queues)."""
    cpu: int
    rq: int
    current: RqTask
    rt_array: int
    cfs_root: int
    rt: list[RqTask] = field(default_factory=list)
    cfs: list[RqTask] = field(default_factory=list)


def run_queue(target: LinuxTarget, cpu: int) -> RunQueue:
    rq = target.per_cpu("runqueues", cpu)
    task_t = target.type("struct task_struct")
    rt_active = rq.rt.active
    cfs_root = rq.cfs.tasks_timeline.rb_root
    out = RunQueue(cpu, rq.at_, rq_task(rq.curr.deref_()), rt_active.at_, cfs_root.at_)
    rt_off = target.offsetof("struct task_struct", "rt")
    queues = rt_active.queue
    for prio in range(queues.type_.strip_typedefs().length or 0):
        head = queues[prio].at_
        for se in list_for_each_entry(target, "struct sched_rt_entity", head, "run_list"):
            task = rq_task(target.object_at(task_t, se.at_ - rt_off))
            task.prio = prio            # crash shows the array index
            out.rt.append(task)
    se_t = target.type("struct sched_entity")
    node_off = se_t.offsetof("run_node")
    se_off = target.offsetof("struct task_struct", "se")
    group_entities = se_t.has_member("my_q")       # CONFIG_FAIR_GROUP_SCHED
    for node in rb_inorder(target, int(cfs_root.rb_node)):
        se = target.object_at(se_t, node - node_off)
        if group_entities and int(se.my_q):
            continue        # a group entity: its tasks are on its own queue
        out.cfs.append(rq_task(target.object_at(task_t, node - node_off - se_off)))
    return out


def run_queues(target: LinuxTarget, cpus: Iterable[int]) -> Iterator[RunQueue]:
    """The run queues of these CPUs; one that cannot be read is left out, with a caveat."""
    for cpu in cpus:
        try:
            yield run_queue(target, cpu)
        except XcrashError as err:
            caveat(f"CPU {cpu}: run queue unreadable ({err}): left out")


# -- clocks ---------------------------------------------------------------------------------
@dataclass
class RqClock:
    """A run queue's clock (``rq->clock``, ns) and its current task's last arrival on
    the CPU (``sched_info.last_arrival``, ns of that clock; 0 where the kernel keeps
    no sched_info, as crash shows it).  ``current`` None: no current task known."""
    cpu: int
    clock: int
    current: RqTask | None
    last_arrival: int


def _last_arrival(task: Object) -> int:
    info = task.sched_info
    # no CONFIG_SCHED_INFO: crash shows 0 (runq -m refuses, see has_sched_info)
    return int(info.last_arrival) if info.type_.has_member("last_arrival") else 0


def rq_clocks(target: LinuxTarget, cpus: Iterable[int]) -> Iterator[RqClock]:
    active = active_tasks(target)
    for cpu in cpus:
        clock = int(target.per_cpu("runqueues", cpu).clock)
        addr = active.get(cpu)
        if addr is None:
            yield RqClock(cpu, clock, None, 0)
            continue
        task = target.object_at("struct task_struct", addr)
        yield RqClock(cpu, clock, rq_task(task), _last_arrival(task))


@dataclass
class RqLag:
    """How far a run queue's clock lags the newest one (ns)."""
    cpu: int
    clock: int
    lag: int


def rq_lags(target: LinuxTarget, cpus: Iterable[int]) -> list[RqLag]:
    """Newest clock first."""
    clocks = sorted(((int(target.per_cpu("runqueues", c).clock), c) for c in cpus),
                    key=lambda x: -x[0])
    newest = clocks[0][0] if clocks else 0
    return [RqLag(cpu, clock, newest - clock) for clock, cpu in clocks]


# -- on_rq ----------------------------------------------------------------------------------
@dataclass
class QueuedTasks:
    """runq -d: the tasks whose ``on_rq`` is set that were last on this CPU, in
    task-list order."""
    cpu: int
    tasks: list[RqTask]


def queued_tasks(target: LinuxTarget, cpus: Iterable[int]) -> list[QueuedTasks]:
    queued: dict[int, list[RqTask]] = {}
    errors: list[str] = []
    for task in for_each_task(target, errors):
        if int(task.on_rq):
            queued.setdefault(task_cpu(task), []).append(rq_task(task))
    for error in errors:
        caveat(f"{error}: the tasks past that point are left out")
    return [QueuedTasks(cpu, queued.get(cpu, [])) for cpu in cpus]

