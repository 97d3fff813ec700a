"""mount: the mounted filesystems of a mount namespace, as crash lists them."""
from __future__ import annotations

from ..errors import CommandError, MemoryError_, XcrashError
from .args import tasks_or_current
from .base import Command, Context, Option, Result, Text

HEADER = "     MOUNT           SUPERBLK     TYPE   DEVNAME   DIRNAME"


def _type_and_devname(fstype: str, devname: str) -> str:
    """crash's two columns: "%-6s %-9s ", trailing blanks trimmed down to 17 characters."""
    text = f"{fstype:<6} {devname:<9} "
    while len(text) > 17 and text[-2] == " ":
        text = text[:-1]
    return text


class MountCmd(Command):
    name = "mount"
    synopsis = "mount [-n pid|task]"
    summary = "mounted filesystems"
    group = "linux"
    targets = ("linux",)
    description = """\
The mounts of the current context task's mount namespace (-n: another
task's), in the namespace's order: the struct mount, its super_block, the
filesystem type, the device name and the directory it is mounted on (the
path rebuilt through the parent mounts, as `files` does).
crash's -f/-i (open files/inodes per superblock) need the s_files lists that
kernels since 3.6 no longer have, and are not offered here.
"""
    example = "mount\nmount -n 1"
    options = (Option("-n", "task", "the mount namespace of this task", takes_value=True),)

    def run(self, ctx: Context, args: list[str]) -> Result:
        from ..targets.linux.mounts import describe, namespace_mounts
        opts, rest = self.parse(args)
        if rest:
            raise CommandError(f"mount: unexpected argument {rest[0]} (give -n pid|task)")
        target = ctx.target
        [addr] = tasks_or_current(target, [opts["task"]] if opts["task"] else [], "mount")
        task = target.object_at(target.type("struct task_struct"), addr)
        try:
            if not int(task.nsproxy):
                raise CommandError(f"mount: task {addr:x} has exited: no namespaces")
            mounts = [m for m in (describe(target, a) for a in namespace_mounts(target, task)) if m]
        except (MemoryError_, XcrashError) as e:
            if isinstance(e, CommandError):
                raise
            raise CommandError(f"mount: {e}") from None
        lines = [HEADER] + [f"{m.address:16x} {m.superblock:16x} "
                            f"{_type_and_devname(m.fstype, m.devname)}{m.dirname:<10}"
                            for m in mounts]
        return Text("\n".join(lines), [vars(m) for m in mounts])


COMMANDS = [MountCmd]
