"""Run queues: what each CPU was running and what waited (CFS rb-tree, RT arrays)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...errors import XcrashError
from ...objects import Object, list_for_each_entry
from .rbtree import rb_inorder


@dataclass
class RunQueue:
    cpu: int
    rq: Object
    current: Object
    rt_array: int
    cfs_root: int
    rt_tasks: list[tuple[int, Object]] = field(default_factory=list)   # (prio, task)
    cfs_tasks: list[Object] = field(default_factory=list)


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
