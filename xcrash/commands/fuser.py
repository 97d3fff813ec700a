"""fuser: the tasks using a file (by path) or a file/dentry/inode/VMA (by address).

The records come from ``targets/linux/fileusers.py``; this module lays them out.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import partial

from ..errors import CommandError
from ..results import Records
from ..targets.linux.fileusers import FileUser, file_users, tasks_by_pid
from .args import linux_target
from .base import Command, Context

HEADER = " PID         TASK        COMM             USAGE"


def _comm_column(comm: str) -> str:
    """crash's 16 characters: '"comm"', cut at 16 and its last character blanked
    when cut ("xc-zombiemaker" shows as '"xc-zombiemaker ')."""
    text = f'"{comm}"\n'[:16]
    return text[:-1].ljust(16)


def users_lines(users: Iterable[FileUser], *, spec: str) -> Iterator[str]:
    """The users of one file, or crash's line saying there are none."""
    header = False
    for u in users:
        if not header:
            yield HEADER
            header = True
        yield (f"{u.pid:5d}  {u.task:16x}  {_comm_column(u.comm)} "
               + "".join(use + " " for use in u.uses))
    if not header:
        yield f"No users of {spec} found"


def _address(spec: str) -> int | None:
    """None for a path; the address a hexadecimal argument names."""
    if spec.startswith("/"):
        return None
    try:
        address = int(spec, 16)
    except ValueError:
        raise CommandError(f"fuser: invalid argument: {spec} "
                           "(a full path or a kernel address)") from None
    if address < 0xFFFF800000000000:
        raise CommandError(f"fuser: invalid argument: {spec} (not a kernel address)")
    return address


class Fuser(Command):
    name = "fuser"
    arguments = "path | address ..."
    summary = "tasks using a file"
    group = "linux"
    targets = ("linux",)
    description = """\
Every task that has the file open (fd), maps it (mmap), or has it as root or
current directory (root, cwd): a full path, or the address of a struct file,
dentry or inode (open files) or vm_area_struct (mappings).  Paths are those
`files` and `vm` print.  Unlike crash, which searches those outputs as text,
a path must match whole: `fuser /console` does not find /dev/console users.
A task whose files or memory map cannot be read is named in a warning.
"""
    example = "fuser /dev/console\nfuser /bin/busybox"

    def run(self, ctx: Context, args: list[str]) -> list[Records]:
        _opts, rest = self.parse(args)
        if not rest:
            raise CommandError(f"usage: {self.usage()}")
        specs = [(spec, _address(spec)) for spec in rest]
        target = linux_target(ctx)
        tasks = tasks_by_pid(target)
        return [Records(file_users(target, tasks, spec, address, ctx.check),
                        partial(users_lines, spec=spec)) for spec, address in specs]


COMMANDS = [Fuser]
