"""Run queues: what each CPU was running and what waited (CFS rb-tree, RT arrays)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

from ...errors import XcrashError
from ...objects import CorruptList, Object, list_for_each_entry

RB_LIMIT = 1 << 20


@dataclass
class RunQueue:
    cpu: int
    rq: Object
    current: Object
    rt_array: int
    cfs_root: int
    rt_tasks: list[tuple[int, Object]] = field(default_factory=list)   # (prio, task)
    cfs_tasks: list[Object] = field(default_factory=list)


def rb_inorder(target: Any, root_node: int) -> Iterator[int]:
    """Addresses of the rb_node entries of a tree, in order (bounded, cycle-checked)."""
    read = target.space.read_u64
    node_t = target.type("struct rb_node")
    left = node_t.member("rb_left")[0] // 8
    right = node_t.member("rb_right")[0] // 8
    stack: list[int] = []
    node = root_node
    seen: set[int] = set()
    while stack or node:
        while node:
            if node in seen or len(seen) > RB_LIMIT:
                raise CorruptList(root_node, node, "loop in rb-tree")
            seen.add(node)
            stack.append(node)
            node = read(node + left)
        node = stack.pop()
        yield node
        node = read(node + right)


def run_queue(target: Any, cpu: int) -> RunQueue:
    rq = target.per_cpu("runqueues", cpu)
    task_t = target.type("struct task_struct")
    current = rq.curr.deref_()
    rt_active = rq.rt.active
    cfs_root = rq.cfs.tasks_timeline.rb_root
    out = RunQueue(cpu, rq, current, rt_active.address_, cfs_root.address_)
    queues = rt_active.queue
    for prio in range(queues.type_.strip_typedefs().length or 0):
        head = queues[prio].address_
        for se in list_for_each_entry(target, "struct sched_rt_entity", head, "run_list"):
            task = Object(target, task_t, se.address_ - task_t.member("rt")[0] // 8)
            out.rt_tasks.append((prio, task))
    se_t = target.type("struct sched_entity")
    node_off = se_t.member("run_node")[0] // 8
    se_off = task_t.member("se")[0] // 8
    for node in rb_inorder(target, int(cfs_root.rb_node)):
        se = Object(target, se_t, node - node_off)
        if se_t.has_member("my_q") and int(se.my_q):
            continue        # a group entity: its tasks are on its own queue
        out.cfs_tasks.append(Object(target, task_t, se.address_ - se_off))
    return out


def run_queues(target: Any, errors: list[str] | None = None) -> list[RunQueue]:
    out = []
    for cpu in target.online_cpus:
        try:
            out.append(run_queue(target, cpu))
        except XcrashError as err:
            if errors is not None:
                errors.append(f"CPU {cpu}: run queue unreadable: {err}")
    return out
