"""A task's memory map: its mm and the VMAs in address order (the records of `vm`)."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ...caveats import Unreadable, caveat
from ...errors import MemoryError_
from ...objects import Object
from .files import dentry_path
from .taskinfo import TaskRef, task_ref

if TYPE_CHECKING:
    from .kernel import LinuxTarget


@dataclass
class Vma:
    """A ``struct vm_area_struct``."""
    address: int
    start: int
    end: int
    flags: int
    #: the mapped file's path; None for anonymous memory
    file: str | None | Unreadable


@dataclass
class MemoryMap(TaskRef):
    """``vm`` of one task: its mm (0 for a kernel thread), page directory, sizes, VMAs."""
    mm: int
    pgd: int
    rss_kb: int
    total_vm_kb: int
    vmas: list[Vma]
    #: vm -M: the page directory of the mm_struct given for a task whose mm is gone
    #: (its VMAs are that mm's; MM and PGD stay the task's zeros, as crash shows them)
    forced_pgd: int | None = field(default=None, metadata={"json": False})


def vma_addresses(target: LinuxTarget, mm: int) -> Iterator[int]:
    """Every ``struct vm_area_struct`` of the mm_struct at ``mm``: the maple tree
    (6.1+) or the ``mmap``/``vm_next`` list before."""
    if target.type("struct mm_struct").has_member("mm_mt"):
        from .maple import entries
        for _first, _last, vma in entries(target, mm + target.offsetof("struct mm_struct", "mm_mt")):
            yield vma
        return
    vma = target.space.read_u64(mm + target.offsetof("struct mm_struct", "mmap"))
    seen: set[int] = set()
    next_off = target.offsetof("struct vm_area_struct", "vm_next")
    while vma and vma not in seen:
        seen.add(vma)
        yield vma
        vma = target.space.read_u64(vma + next_off)


def _mapped_file(target: LinuxTarget, vma: Object, address: int) -> str | None | Unreadable:
    """The path of the file a VMA maps (None: anonymous; "" for a file without a dentry)."""
    try:
        file = vma.vm_file
        if not int(file):
            return None
        f_path = file.deref_().f_path
        dentry = int(f_path.dentry)
        return dentry_path(target, dentry, int(f_path.mnt)) if dentry else ""
    except MemoryError_ as err:
        caveat(f"file of VMA {address:x} unreadable ({err}): shown as ?")
        return Unreadable(str(err))


def vma_record(target: LinuxTarget, vma: Object, address: int) -> Vma:
    """The record of the ``struct vm_area_struct`` at ``address``."""
    return Vma(address, int(vma.vm_start), int(vma.vm_end), int(vma.vm_flags),
               _mapped_file(target, vma, address))


def memory_map(target: LinuxTarget, task: Object, mm: int | None = None) -> MemoryMap:
    """The memory map of ``task``: zeros and no VMAs for a kernel thread; ``mm`` (vm -M)
    gives the VMAs of that mm_struct to a task whose mm is gone."""
    from .tasks import task_memory
    ref = task_ref(task)
    total_vm, rss = task_memory(target, task)
    if not int(task.mm):
        if not mm:
            return MemoryMap(ref.pid, ref.task, ref.cpu, ref.comm, 0, 0, 0, 0, [])
        vma_t = target.type("struct vm_area_struct")
        return MemoryMap(ref.pid, ref.task, ref.cpu, ref.comm, 0, 0, 0, 0,
                         [vma_record(target, target.object_at(vma_t, a), a)
                          for a in vma_addresses(target, mm)],
                         target.space.read_u64(mm + target.offsetof("struct mm_struct", "pgd")))
    mm = int(task.mm)
    pgd = target.space.read_u64(mm + target.offsetof("struct mm_struct", "pgd"))
    vma_t = target.type("struct vm_area_struct")
    vmas = [vma_record(target, target.object_at(vma_t, addr), addr)
            for addr in vma_addresses(target, mm)]
    return MemoryMap(ref.pid, ref.task, ref.cpu, ref.comm, mm, pgd, rss, total_vm, vmas)
