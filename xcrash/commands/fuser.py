"""fuser: the tasks using a file (by path) or a file/dentry/inode/VMA (by address)."""
from __future__ import annotations

from typing import Any

from ..errors import CommandError, MemoryError_, XcrashError
from .base import Command, Context, Result, Text

HEADER = " PID         TASK        COMM             USAGE"


def _comm_column(comm: str) -> str:
    """crash's 16 characters: '"comm"', cut at 16 and its last character blanked
    when cut ("xc-zombiemaker" shows as '"xc-zombiemaker ')."""
    text = f'"{comm}"\n'[:16]
    return text[:-1].ljust(16)


def uses_of(target: Any, task: Any, spec: str, address: int | None) -> list[str]:
    from ..targets.linux.files import task_files
    from ..targets.linux.vma import memory_map
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


class Fuser(Command):
    name = "fuser"
    synopsis = "fuser path | address ..."
    summary = "tasks using a file"
    group = "linux"
    targets = ("linux",)
    description = """\
Every task that has the file open (fd), maps it (mmap), or has it as root or
current directory (root, cwd): a full path, or the address of a struct file,
dentry or inode (open files) or vm_area_struct (mappings).  Paths are those
`files` and `vm` print.  Unlike crash, which searches those outputs as text,
a path must match whole: `fuser /console` does not find /dev/console users.
"""
    example = "fuser /dev/console\nfuser /bin/busybox"

    def run(self, ctx: Context, args: list[str]) -> Result:
        from ..targets.linux.tasks import for_each_task, task_cpu
        _opts, rest = self.parse(args)
        if not rest:
            raise CommandError(f"usage: {self.usage()}")
        target = ctx.target
        tasks = []
        for task in for_each_task(target):
            try:
                tasks.append((int(task.pid), task_cpu(task), task))
            except (MemoryError_, XcrashError):
                continue
        tasks.sort(key=lambda t: (t[0], t[1]))
        parts, records = [], []
        for spec in rest:
            address = None
            if not spec.startswith("/"):
                try:
                    address = int(spec, 16)
                except ValueError:
                    raise CommandError(f"fuser: invalid argument: {spec} "
                                       "(a full path or a kernel address)") from None
                if address < 0xFFFF800000000000:
                    raise CommandError(f"fuser: invalid argument: {spec} (not a kernel address)")
            rows = []
            for pid, _cpu, task in tasks:
                ctx.check()
                try:
                    uses = uses_of(target, task, spec, address)
                except (MemoryError_, XcrashError):
                    continue
                if uses:
                    comm = task.comm.string_().decode("utf-8", "replace")
                    rows.append(f"{pid:5d}  {task.address_:16x}  {_comm_column(comm)} "
                                + "".join(u + " " for u in uses))
                    records.append({"spec": spec, "pid": pid, "task": task.address_,
                                    "comm": comm, "uses": uses})
            parts.append("\n".join([HEADER] + rows) if rows else f"No users of {spec} found")
        return Text("\n".join(parts), records)


COMMANDS = [Fuser]
