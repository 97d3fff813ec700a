"""mount: the mounted filesystems of a mount namespace, as crash lists them."""
from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..caveats import Unreadable
from ..errors import CommandError
from ..results import Column, Records, Teaching
from ..targets.linux import teach
from ..targets.linux.context import resolve_task
from ..targets.linux.mounts import Mount, mounts
from .args import linux_target
from .base import Command, Context, Option

HEADER = "     MOUNT           SUPERBLK     TYPE   DEVNAME   DIRNAME"


def _shown(value: str | Unreadable | None, unknown: str) -> str:
    """A name, or crash's word for one it could not read."""
    return value if isinstance(value, str) else unknown


def _type_and_devname(fstype: str, devname: str) -> str:
    """crash's two columns: "%-6s %-9s ", trailing blanks trimmed down to 17 characters."""
    text = f"{fstype:<6} {devname:<9} "
    while len(text) > 17 and text[-2] == " ":
        text = text[:-1]
    return text


def mount_lines(found: Iterable[Mount]) -> Iterator[str]:
    yield HEADER
    for m in found:
        yield (f"{m.address:16x} {m.superblock:16x} "
               f"{_type_and_devname(_shown(m.fstype, 'unknown'), _shown(m.devname, '(unknown)'))}"
               f"{_shown(m.dirname, '(unknown)'):<10}")


COLUMNS = [Column("MOUNT", "address", fmt=lambda v: f"{v:x}"),
           Column("SUPERBLK", "superblock", fmt=lambda v: f"{v:x}"),
           Column("TYPE", "fstype", fmt=lambda v: _shown(v, "unknown")),
           Column("DEVNAME", "devname", fmt=lambda v: _shown(v, "(unknown)")),
           Column("DIRNAME", "dirname", fmt=lambda v: _shown(v, "(unknown)"))]


class MountCmd(Command):
    name = "mount"
    summary = "mounted filesystems"
    group = "linux"
    targets = ("linux",)
    description = """\
The mounts of init's mount namespace (as crash: the task with the lowest PID
from 1 up), in the namespace's order: the struct mount, its super_block, the
filesystem type, the device name and the directory it is mounted on (the path
rebuilt through the parent mounts, as `files` does).  A name that cannot be
read shows as crash shows it ("unknown", "(unknown)"), with a WARNING line.
crash's -f/-i (open files/inodes per superblock) need the s_files lists that
kernels since 3.6 no longer have, and are not offered here.
"""
    example = "mount\nmount -n 1"
    options = (Option("-n", "task", "the mount namespace of this task instead", takes_value=True,
                      metavar="pid|task"),)

    def run(self, ctx: Context, args: list[str]) -> Records:
        opts, rest = self.parse(args)
        if rest:
            raise CommandError(f"mount: unexpected argument {rest[0]} (give -n pid|task)")
        target = linux_target(ctx)
        task = None
        if opts["task"]:
            task = target.object_at("struct task_struct", resolve_task(target, opts["task"]))
        return Records(mounts(target, task), mount_lines, columns=COLUMNS)


    def teach(self, ctx: Context, args: list[str]) -> Teaching:
        opts, _rest = self.parse(args)
        target = linux_target(ctx)
        task = resolve_task(target, opts["task"]) if opts["task"] else None
        teaching = teach.mounts_teaching(target, task)
        teaching.imports.append("from xcrash.commands.mount import mount_lines")
        teaching.body += ["for line in mount_lines(records):", "    print(line)"]
        return teaching


COMMANDS = [MountCmd]
