"""A task's memory map: its mm and the VMAs in address order (the numbers behind `vm`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

from ...errors import MemoryError_, XcrashError


@dataclass
class Vma:
    address: int
    start: int
    end: int
    flags: int
    file: str | None        # the mapped file's path; None for anonymous memory


@dataclass
class MemoryMap:
    mm: int
    pgd: int
    rss_kb: int
    total_vm_kb: int
    vmas: list[Vma]


def vma_addresses(target: Any, mm: Any) -> Iterator[int]:
    """Every ``struct vm_area_struct`` of ``mm``: the maple tree (6.1+) or the
    ``mmap``/``vm_next`` list before."""
    if mm.type_.has_member("mm_mt"):
        from .maple import entries
        for _first, _last, vma in entries(target, mm.mm_mt.address_):
            yield vma
        return
    vma = int(mm.mmap)
    seen: set[int] = set()
    next_off = target.type("struct vm_area_struct").member("vm_next")[0] // 8
    while vma and vma not in seen:
        seen.add(vma)
        yield vma
        vma = target.space.read_u64(vma + next_off)


def memory_map(target: Any, task: Any) -> MemoryMap:
    from .files import dentry_path
    from .tasks import task_memory
    total_vm, rss = task_memory(target, task)
    if not int(task.mm):
        return MemoryMap(0, 0, 0, 0, [])
    mm = task.mm.deref_()
    vma_t = target.type("struct vm_area_struct")
    vmas = []
    for addr in vma_addresses(target, mm):
        vma = target.object_at(vma_t, addr)
        path = None
        try:
            file = vma.vm_file
            if int(file):
                f_path = file.deref_().f_path
                dentry = int(f_path.dentry)
                path = dentry_path(target, dentry, int(f_path.mnt)) if dentry else ""
        except (MemoryError_, XcrashError):
            path = "?"
        vmas.append(Vma(addr, int(vma.vm_start), int(vma.vm_end), int(vma.vm_flags), path))
    return MemoryMap(int(mm.address_), int(mm.pgd), rss, total_vm, vmas)
