"""Tasks: every thread of every process, plus each CPU's idle task (as crash counts them)."""
from __future__ import annotations

from typing import Any, Iterator

from ...errors import MemoryError_, XcrashError
from ...objects import CorruptList, Object, list_for_each_entry


class TaskWalkError(XcrashError):
    pass


def _threads(target: Any, leader: Object) -> Iterator[Object]:
    """The threads of a process, leader first (6.1: signal->thread_head)."""
    task_t = leader.type_
    if task_t.has_member("thread_node"):
        head = leader.signal.thread_head.address_
        yield from list_for_each_entry(target, task_t, head, "thread_node")
    else:   # before 6.1: the thread_group ring through the leader
        yield leader
        yield from list_for_each_entry(target, task_t, leader.thread_group.address_,
                                       "thread_group")


def idle_tasks(target: Any) -> list[Object]:
    """Each online CPU's idle task (``runqueues.idle``); CPU 0's is init_task."""
    out = []
    for cpu in target.online_cpus:
        try:
            out.append(target.per_cpu("runqueues", cpu).idle.deref_())
        except XcrashError:
            if cpu == 0:
                out.append(target.object("init_task"))
    return out


def for_each_task(target: Any, errors: list[str] | None = None) -> Iterator[Object]:
    """Idle tasks first (one per CPU), then every thread of every process.

    A broken list ends that walk with a note in ``errors``; the walk goes on
    with what can still be read.
    """
    seen: set[int] = set()
    for idle in idle_tasks(target):
        if idle.address_ not in seen:
            seen.add(idle.address_)
            yield idle
    init = target.object("init_task")
    try:
        for leader in list_for_each_entry(target, init.type_, init.tasks.address_, "tasks"):
            try:
                for thread in _threads(target, leader):
                    if thread.address_ not in seen:
                        seen.add(thread.address_)
                        yield thread
            except (CorruptList, MemoryError_) as err:
                if errors is not None:
                    errors.append(f"invalid task list of {leader.address_:x}: {err}")
    except (CorruptList, MemoryError_) as err:
        if errors is not None:
            errors.append(f"task list: {err}")
