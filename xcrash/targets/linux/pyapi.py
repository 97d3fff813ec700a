"""The Python API's kernel objects: what README's "Python API" shows of a Linux target
beyond its types and memory (a task by PID, the panic task, each CPU's current task, a
process's threads, a task's back trace, the log), each from the helper the commands use.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from ...objects import Object
    from .kernel import LinuxTarget


class KernelObjects:
    """Mixed into :class:`~xcrash.targets.linux.kernel.LinuxTarget`."""

    @property
    def _kernel(self) -> LinuxTarget:
        return cast("LinuxTarget", self)

    def task(self, which: int | str) -> Object:
        """A task's ``struct task_struct``: by PID (an int below 2**32, or a decimal
        string; PID 0 is CPU 0's idle task) or by address (an int, or a hex string)."""
        from .context import resolve_task
        if isinstance(which, int):
            which = str(which) if which < 1 << 32 else f"{which:x}"
        return self._kernel.object_at("struct task_struct", resolve_task(self._kernel, which))

    def panic_task(self) -> Object | None:
        """The task that was running on the panicking CPU (``panic_cpu``), or None."""
        from .context import panic_task_address
        addr = panic_task_address(self._kernel, guess=False)
        return self.task(addr) if addr is not None else None

    def active_tasks(self) -> dict[int, Object]:
        """CPU number → the task that was current on that CPU at the crash."""
        from .tasks import active_tasks
        return {cpu: self._kernel.object_at("struct task_struct", addr)
                for cpu, addr in active_tasks(self._kernel).items()}

    def threads(self, task: Object) -> list[Object]:
        """The threads of ``task``'s process (its thread group), the leader first."""
        from .tasks import threads
        return list(threads(self._kernel, task.group_leader.deref_()))

    def backtrace(self, task: Object | int) -> list[Any]:
        """``bt``'s records of a task (an object or its address): a ``TraceStart``, then
        its ``BtFrame``, ``TaskExceptionFrame`` and ``StackChange`` records
        (``targets/linux/traces.py``)."""
        from .traces import trace_records
        return trace_records(self._kernel, task if isinstance(task, int) else task.at_)

    def log(self) -> Iterator[Any]:
        """The kernel log's records, oldest first (``printk.Record``: ``ts_nsec``, ``level``,
        ``text``, ...)."""
        from .printk import records
        return records(self._kernel)
