"""crash's current task context on a Linux target: ``set PID``, ``set -c CPU``, ``set -p``.

The context starts at the panic task (``unwind.panic_task``); commands that
default to "the current task" (``bt``) ask :func:`current_task`.
"""
from __future__ import annotations

from typing import Any

from ...errors import CommandError, MemoryError_, XcrashError

#: crash's names of the task state bits (task_state_string)
STATE_BITS = ((0x1, "TASK_INTERRUPTIBLE"), (0x2, "TASK_UNINTERRUPTIBLE"), (0x4, "TASK_STOPPED"),
              (0x8, "TASK_TRACED"), (0x10, "EXIT_DEAD"), (0x20, "EXIT_ZOMBIE"),
              (0x40, "TASK_PARKED"), (0x80, "TASK_DEAD"), (0x100, "TASK_WAKEKILL"),
              (0x200, "TASK_WAKING"), (0x400, "TASK_NOLOAD"), (0x800, "TASK_NEW"))


def state_string(task: Any) -> str:
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


def resolve_task(target: Any, arg: str, command: str = "set") -> int:
    """A PID (decimal) or task address (hex) → task address."""
    by_pid, addresses = _task_index(target)
    if arg.isdigit() and int(arg) in by_pid:
        return by_pid[int(arg)]
    try:
        addr = int(arg, 16)
    except ValueError:
        raise CommandError(f"{command}: invalid task or pid value: {arg}") from None
    if addr in addresses:
        return addr
    raise CommandError(f"{command}: invalid task or pid value: {arg}")


def _task_index(target: Any) -> tuple[dict[int, int], set[int]]:
    """({PID: first task with it}, {every task address}), built once per target: a
    dump does not change, and `foreach` resolves every task it runs a command for."""
    index = getattr(target, "_task_index", None)
    if index is None:
        from .tasks import for_each_task
        by_pid: dict[int, int] = {}
        addresses: set[int] = set()
        for t in for_each_task(target):
            addresses.add(t.address_)
            try:
                by_pid.setdefault(int(t.pid), t.address_)
            except (XcrashError, MemoryError_):
                continue
        index = target._task_index = (by_pid, addresses)
    return index


def panic_task_address(target: Any) -> int | None:
    from .unwind import panic_task
    hit = panic_task(target)
    return hit[1] if hit else None


def current_task(target: Any) -> int | None:
    """The context task's address (the panic task until ``set`` changes it)."""
    addr = getattr(target, "_context_task", None)
    if addr is None:
        addr = panic_task_address(target)
        target._context_task = addr
    return addr


def context_block(target: Any, addr: int) -> str:
    """crash's ``set`` block for a task."""
    from .tasks import active_tasks, task_cpu
    task = target.object_at(target.type("struct task_struct"), addr)
    comm = task.comm.string_().decode("utf-8", "replace")
    if task.type_.has_member("thread_info") and \
            task.type_.strip_typedefs().member_path("thread_info")[0] == 0:
        thread_info = addr                       # CONFIG_THREAD_INFO_IN_TASK
    else:
        thread_info = int(task.stack)
    state = state_string(task) + " "            # crash's "%s " then the marks
    if addr == panic_task_address(target):
        state += "(PANIC)"
    elif addr in active_tasks(target).values():
        state += "(ACTIVE)"
    pid = int(task.pid)
    same_pid = _same_pid_tasks(target, pid)
    # crash writes "(1 of N)" for every task of a shared PID (each CPU's idle task)
    nth = f"  (1 of {len(same_pid)})" if len(same_pid) > 1 else ""
    return (f"    PID: {pid}\n"
            f"COMMAND: \"{comm}\"\n"
            f"   TASK: {addr:x}{nth}  [THREAD_INFO: {thread_info:x}]\n"
            f"    CPU: {task_cpu(task)}\n"
            f"  STATE: {state}")


def _same_pid_tasks(target: Any, pid: int) -> list[int]:
    """The tasks sharing ``pid`` (PID 0: each CPU's idle task), in task-list order:
    crash numbers them "(1 of 2)"."""
    from .tasks import for_each_task
    cache = getattr(target, "_tasks_by_pid", None)
    if cache is None:
        cache = {}
        for t in for_each_task(target):
            try:
                cache.setdefault(int(t.pid), []).append(t.address_)
            except (XcrashError, MemoryError_):
                continue
        target._tasks_by_pid = cache
    return cache.get(pid, [])


def set_context(target: Any, args: list[str]) -> Any:
    """``set``, ``set PID|TASK``, ``set -c CPU``, ``set -p``: returns the block as Text."""
    from ...commands.base import Text
    from .tasks import active_tasks
    if not args:
        addr = current_task(target)
    elif args[0] == "-p" and len(args) == 1:
        addr = panic_task_address(target)
    elif args[0] == "-c" and len(args) == 2 or args[0].startswith("-c") and len(args) == 1 \
            and args[0][2:]:
        spec = args[1] if len(args) == 2 else args[0][2:]
        try:
            cpu = int(spec)
        except ValueError:
            raise CommandError(f"set: invalid cpu: {spec}") from None
        active = active_tasks(target)
        if cpu not in active:
            raise CommandError(f"set: invalid cpu: {cpu}")
        addr = active[cpu]
    elif len(args) == 1 and not args[0].startswith("-"):
        addr = resolve_task(target, args[0])
    else:
        raise CommandError(f"set: invalid argument: {' '.join(args)}")
    if addr is None:
        raise CommandError("set: no panic task")
    target._context_task = addr
    text = context_block(target, addr)
    return Text(text + "\n", records=[{"task": addr}])
