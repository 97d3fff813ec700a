"""Who uses a file: the tasks that have it open, map it, or live in it (the records
of `fuser`)."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...caveats import caveat
from ...errors import MemoryError_, XcrashError
from ...objects import Object
from .files import task_files
from .taskinfo import TaskRef, task_ref
from .tasks import for_each_task
from .vma import memory_map

if TYPE_CHECKING:
    from .kernel import LinuxTarget


@dataclass
class FileUser(TaskRef):
    """A task using ``spec`` (a path or an address): fd, mmap, root, cwd."""
    spec: str
    uses: list[str]


def tasks_by_pid(target: LinuxTarget) -> list[tuple[TaskRef, Object]]:
    """Every task with its identity, by PID (idle tasks by CPU); a task whose
    identity cannot be read is left out with a caveat."""
    errors: list[str] = []
    tasks = []
    for task in for_each_task(target, errors):
        try:
            tasks.append((task_ref(task), task))
        except MemoryError_ as err:
            caveat(f"task {task.address_:x} unreadable ({err}): not searched")
    for error in errors:
        caveat(f"{error}: the tasks past that point are not searched")
    tasks.sort(key=lambda t: (t[0].pid, t[0].cpu))
    return tasks


def uses_of(target: LinuxTarget, task: Object, spec: str, address: int | None) -> list[str]:
    """How ``task`` uses the file named by ``spec`` (a full path, or with ``address``
    a struct file, dentry, inode or vm_area_struct)."""
    uses = []
    info = task_files(target, task)
    if address is None:
        if info.root == spec:
            uses.append("root")
        if info.cwd == spec:
            uses.append("cwd")
    if any((f.path == spec) if address is None else address in (f.file, f.dentry, f.inode)
           for f in info.files):
        uses.append("fd")
    if int(task.mm):
        vmas = memory_map(target, task).vmas
        if any((v.file == spec) if address is None else v.address == address for v in vmas):
            uses.append("mmap")
    return uses


def file_users(target: LinuxTarget, tasks: list[tuple[TaskRef, Object]], spec: str,
               address: int | None, check: Callable[[], None] = lambda: None
               ) -> Iterator[FileUser]:
    """The tasks among ``tasks`` that use ``spec``; a task whose files or memory map
    cannot be read is named in a caveat (its uses are unknown)."""
    for ref, task in tasks:
        check()
        try:
            uses = uses_of(target, task, spec, address)
        except XcrashError as err:          # a read, or a corrupt maple tree
            caveat(f"files or memory map of task {ref.task:x} (pid {ref.pid}) unreadable "
                   f"({err}): whether it uses {spec} is not known")
            continue
        if uses:
            yield FileUser(ref.pid, ref.task, ref.cpu, ref.comm, spec, uses)
