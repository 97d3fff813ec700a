"""vm: a task's memory map (mm, page directory, RSS, VMAs), as crash shows it."""
from __future__ import annotations

from typing import Any

from .args import per_task_blocks, tasks_or_current
from .base import Command, Context, Result
from ..layouts.columns import center

VM_HEADER = "       MM               PGD          RSS    TOTAL_VM"
VMA_HEADER = "      VMA           START       END     FLAGS FILE"


def vm_block(target: Any, task: Any) -> tuple[str, dict[str, Any]]:
    from ..targets.linux.vma import memory_map
    from .task import task_header
    m = memory_map(target, task)
    lines = [task_header(task), VM_HEADER,
             f"{center(f'{m.mm:x}', 16)}  {center(f'{m.pgd:x}', 16)}  "
             f"{center(f'{m.rss_kb}k', 6)}  {center(f'{m.total_vm_kb}k', 8)}"]
    if m.mm:
        lines.append(VMA_HEADER)
        for v in m.vmas:
            lines.append(f"{v.address:16x} {v.start:10x} {v.end:10x} {v.flags:6x} {v.file or ''}")
    record = {"task": task.address_, "pid": int(task.pid), "mm": m.mm, "pgd": m.pgd,
              "rss_kb": m.rss_kb, "total_vm_kb": m.total_vm_kb,
              "vmas": [vars(v) for v in m.vmas]}
    return "\n".join(lines), record


class Vm(Command):
    name = "vm"
    synopsis = "vm [pid | taskaddr] ..."
    summary = "virtual memory map of a task"
    group = "linux"
    targets = ("linux",)
    description = """\
The task's mm_struct, page global directory, resident set size and total
virtual size, then each VMA (vm_area_struct) in address order: its address,
start, end, vm_flags and the mapped file's path (blank for anonymous memory).
VMAs come from the mm's maple tree on 6.1+ kernels, the mmap list before.
Kernel threads have no mm: zeros, no VMAs.  Without an argument: the current
context task (see `set`).  `foreach vm` maps every task.
"""
    example = "vm\nvm 1\nforeach xc-memhog vm"

    def run(self, ctx: Context, args: list[str]) -> Result:
        _opts, rest = self.parse(args)
        return per_task_blocks(ctx, tasks_or_current(ctx.target, rest, "vm"), "vm", vm_block)


COMMANDS = [Vm]
