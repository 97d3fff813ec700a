"""Wait queues: the tasks sleeping on a ``wait_queue_head`` (the records behind `waitq`)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...caveats import caveat
from ...errors import MemoryError_, XcrashError
from ...objects import CorruptList, Object, list_for_each
from .taskinfo import TaskRef, task_ref
from .tasks import for_each_task, thread_size

if TYPE_CHECKING:
    from .kernel import LinuxTarget


def waiters(target: LinuxTarget, head: int) -> list[TaskRef]:
    """The tasks of the ``wait_queue_entry`` items queued on the head at ``head``, in
    queue order.  ``private`` is the task, or a pointer into its kernel stack (a
    wait entry on the stack of the task that waits); the walk stops at an entry
    whose ``private`` is neither (an epoll or custom wake function's cookie), as
    crash's does."""
    tasks: dict[int, Object] = {}
    stacks: dict[int, Object] = {}          # stack base -> its task
    for task in for_each_task(target):
        tasks[int(task.address_of_())] = task
        try:
            stacks[int(task.stack)] = task
        except (MemoryError_, XcrashError) as err:
            caveat(f"stack pointer of task {task.address_:x} unreadable ({err}): a wait entry "
                   "on its stack would not be recognised")
    stack_mask = ~(thread_size(target) - 1)      # stacks are aligned to their size
    link_to_private = (target.offsetof("struct wait_queue_entry", "private")
                       - target.offsetof("struct wait_queue_entry", "entry"))
    out: list[TaskRef] = []
    try:
        for link in list_for_each(target, head + target.offsetof("struct wait_queue_head", "head")):
            private = target.space.read_u64(link + link_to_private)
            waiter = tasks.get(private)
            if waiter is None:
                waiter = stacks.get(private & stack_mask)
            if waiter is None:
                break
            out.append(task_ref(waiter))
    except (CorruptList, MemoryError_) as err:
        if not out and isinstance(err, CorruptList):
            # a head never initialised (NULL next) or no list at all: crash calls it
            # empty too
            return out
        if not out:
            raise
        caveat(f"wait queue {head:x}: {err}; the {len(out)} tasks found before shown")
    return out
