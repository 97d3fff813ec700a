"""Run queues by task group (``runq -g``): each CPU's root task group's CFS queue and,
nested under the group entities queued on it, the groups' own queues."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from collections.abc import Iterable

from ...errors import CommandError, MemoryError_, NoSuchMember, NoSuchType
from .rbtree import rb_inorder
from .runq import RqTask, rq_task
from .tasks import active_tasks

if TYPE_CHECKING:
    from .kernel import LinuxTarget

DEPTH_LIMIT = 32


@dataclass
class GroupLine:
    """A line under a CPU: a task group's header (``group``: its task_group, ``queue``
    its cfs_rq, ``name`` its cgroup's, ``throttled``), a queued task (``task``,
    ``current`` for the running one), an empty queue, or where the rest of a queue could
    not be read (``unreadable``: why); ``depth`` its nesting."""
    depth: int
    group: int = 0
    queue: int = 0
    name: str | None = None
    throttled: bool = False
    task: RqTask | None = None
    current: bool = False
    unreadable: str | None = None


@dataclass
class GroupQueue:
    cpu: int
    current: RqTask
    root_group: int
    cfs_rq: int
    lines: list[GroupLine] = field(default_factory=list)


def supported(target: LinuxTarget) -> bool:
    """Whether the kernel groups tasks for the scheduler (CONFIG_FAIR_GROUP_SCHED)."""
    try:
        return target.type("struct task_group").strip_typedefs().has_member("cfs_rq")
    except NoSuchType:
        return False            # no task groups at all


def _group_name(target: LinuxTarget, tg: int) -> str | None:
    """The cgroup's name of a task group (its kernfs node's), None for the root."""
    try:
        group = target.object_at("struct task_group", tg)
        kn = group.css.cgroup.deref_().kn.deref_()
        name = target.space.read_cstring(int(kn.name), 64).decode("utf-8", "replace")
    except (MemoryError_, NoSuchMember):
        return None             # a group whose cgroup cannot be named: crash shows none
    return name or None


def _cfs(target: LinuxTarget, cfs_rq: int, depth: int, current: int, out: list[GroupLine]
         ) -> int:
    """crash's walk of one CFS queue: its header (below the root), the running group
    entity's queue, the running task, then the tree in order (group entities
    recursed into); the lines it adds, counted."""
    if depth > DEPTH_LIMIT:
        raise CommandError(f"runq: task groups nested deeper than {DEPTH_LIMIT} (a loop?)")
    start = len(out)
    try:
        return _cfs_lines(target, cfs_rq, depth, current, out)
    except MemoryError_ as err:
        # the lines read so far stay (a nested queue's too), then where it stopped
        out.append(GroupLine(depth, unreadable=str(err)))
        return len(out) - start


def _cfs_lines(target: LinuxTarget, cfs_rq: int, depth: int, current: int, out: list[GroupLine]
               ) -> int:
    rq = target.object_at("struct cfs_rq", cfs_rq)
    if depth:
        tg = int(rq.tg)
        throttled = bool(int(rq.throttled)) if rq.type_.strip_typedefs().has_member(
            "throttled") else False
        out.append(GroupLine(depth, group=tg, queue=cfs_rq, name=_group_name(target, tg),
                             throttled=throttled))
    se_t = target.type("struct sched_entity").strip_typedefs()
    node_off, se_off = se_t.offsetof("run_node"), target.offsetof("struct task_struct", "se")
    total = 0
    curr = int(rq.curr)
    curr_my_q = target.space.read_u64(curr + se_t.offsetof("my_q")) if curr else 0
    if curr_my_q:
        total += 1 + _cfs(target, curr_my_q, depth + 1, current, out)
    elif curr and curr - se_off == current:
        total += 1
        out.append(GroupLine(depth, task=rq_task(target.object_at("struct task_struct",
                                                                  current)), current=True))
    timeline = rq.tasks_timeline
    if int(timeline.rb_leftmost):
        for node in rb_inorder(target, int(timeline.rb_root.rb_node)):
            my_q = target.space.read_u64(node - node_off + se_t.offsetof("my_q"))
            if my_q:
                total += 1 + _cfs(target, my_q, depth + 1, current, out)
                continue
            out.append(GroupLine(depth, task=rq_task(target.object_at(
                "struct task_struct", node - node_off - se_off))))
            total += 1
    if not total:
        out.append(GroupLine(depth))
    return total


def group_queues(target: LinuxTarget, cpus: Iterable[int]) -> list[GroupQueue]:
    if not supported(target):
        raise CommandError("runq: -g option not supported or applicable on this "
                           "architecture or kernel")
    root = target.symbols.get("root_task_group")
    if root is None:
        raise CommandError("runq: cannot determine root task_group")
    tg = target.object_at("struct task_group", root.address)
    if tg.type_.strip_typedefs().has_member("rt_rq"):
        raise CommandError("runq: -g of a kernel with RT group scheduling "
                           "(CONFIG_RT_GROUP_SCHED) is not shown by xcrash yet")
    active = active_tasks(target)
    out = []
    cfs_off = target.offsetof("struct rq", "cfs")
    try:
        for cpu in cpus:
            # the root group's queue on a CPU is the one its run queue embeds (sched_init
            # points root_task_group.cfs_rq[cpu] at &rq->cfs): no read of that array,
            # which lies in a slab page a dump may have left out
            cfs_rq = int(target.per_cpu("runqueues", cpu).address_) + cfs_off
            current = active.get(cpu, 0)
            q = GroupQueue(cpu, rq_task(target.object_at("struct task_struct", current)),
                           root.address, cfs_rq)
            _cfs(target, cfs_rq, 0, current, q.lines)
            out.append(q)
    except MemoryError_ as err:
        raise CommandError(f"runq: {err}") from err
    return out
