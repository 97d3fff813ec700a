"""vm: a task's memory map (mm, page directory, RSS, VMAs), as crash shows it.

The records come from ``targets/linux/vma.py``; this module lays them out.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..layouts import separated
from ..layouts.columns import center
from ..layouts.tasks import task_header
from ..results import Records, Teaching
from ..targets.linux import teach
from ..targets.linux.vma import MemoryMap, Vma, memory_map
from .args import linux_target, per_task_records, tasks_or_current
from .base import Command, Context

VM_HEADER = "       MM               PGD          RSS    TOTAL_VM"
VMA_HEADER = "      VMA           START       END     FLAGS FILE"


def vma_line(v: Vma) -> str:
    return f"{v.address:16x} {v.start:10x} {v.end:10x} {v.flags:6x} " \
        + ("" if v.file is None else str(v.file))


def map_lines(m: MemoryMap) -> Iterator[str]:
    yield task_header(m)
    yield VM_HEADER
    yield (f"{center(f'{m.mm:x}', 16)}  {center(f'{m.pgd:x}', 16)}  "
           f"{center(f'{m.rss_kb}k', 6)}  {center(f'{m.total_vm_kb}k', 8)}")
    if m.mm:
        yield VMA_HEADER
        yield from (vma_line(v) for v in m.vmas)


def vm_lines(maps: Iterable[MemoryMap]) -> Iterator[str]:
    return separated(map_lines(m) for m in maps)


class Vm(Command):
    name = "vm"
    arguments = "[pid | taskaddr] ..."
    summary = "virtual memory map of a task"
    group = "linux"
    targets = ("linux",)
    description = """\
The task's mm_struct, page global directory, resident set size and total
virtual size, then each VMA (vm_area_struct) in address order: its address,
start, end, vm_flags and the mapped file's path (blank for anonymous memory,
? when the file could not be read).  VMAs come from the mm's maple tree on
6.1+ kernels, the mmap list before.  Kernel threads have no mm: zeros, no
VMAs.  Without an argument: the current context task (see `set`).
`foreach vm` maps every task.
"""
    example = "vm\nvm 1\nforeach xc-memhog vm"

    def run(self, ctx: Context, args: list[str]) -> Records:
        _opts, rest = self.parse(args)
        tasks = tasks_or_current(linux_target(ctx), rest, "vm")
        return Records(per_task_records(ctx, tasks, "vm", memory_map), vm_lines)


    def teach(self, ctx: Context, args: list[str]) -> Teaching:
        _opts, rest = self.parse(args)
        target = linux_target(ctx)
        teaching = teach.vm_teaching(target, tasks_or_current(target, rest, "vm"))
        teaching.imports.append("from xcrash.commands.vm import vm_lines")
        teaching.body += ["for line in vm_lines(records):  # crash's layout of the records",
                          "    print(line)"]
        return teaching


COMMANDS = [Vm]
