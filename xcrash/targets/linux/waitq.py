"""Wait queues: the tasks sleeping on a ``wait_queue_head`` (the numbers behind `waitq`)."""
from __future__ import annotations

from typing import Any

from ...objects import list_for_each
from .tasks import thread_size


def waiters(target: Any, head: int, stacks: dict[int, int]) -> list[int]:
    """The tasks of the ``wait_queue_entry`` items queued on the head at ``head``, in
    queue order.  ``private`` is the task, or a pointer into its kernel stack
    (``stacks``: stack base -> task); the walk stops at an entry whose ``private``
    is neither (an epoll or custom wake function's cookie), as crash's does."""
    tasks = set(stacks.values())
    stack_mask = ~(thread_size(target) - 1)      # stacks are aligned to their size
    head_t = target.type("struct wait_queue_head")
    entry_t = target.type("struct wait_queue_entry")
    link_off = entry_t.member("entry")[0] // 8
    private_off = entry_t.member("private")[0] // 8
    out = []
    for link in list_for_each(target, head + head_t.member("head")[0] // 8):
        private = target.space.read_u64(link - link_off + private_off)
        task = private if private in tasks else stacks.get(private & stack_mask)
        if task is None:
            break
        out.append(task)
    return out
