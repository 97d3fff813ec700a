"""mount: the mounted filesystems of a mount namespace, as crash lists them."""
from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from ..caveats import Unreadable
from ..errors import CommandError
from ..results import Column, Records, Teaching, text_lines
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
An argument selects the mounts it names: a struct mount, vfsmount or
super_block address, a filesystem type, a device name or a mount point (each
argument in turn, a mount as often as it matches).  crash 9.0.2 shows its
first mount's line for every match (its saved line is never updated once the
header is printed); xcrash shows the mount that matched.  crash's -f/-i (open
files/dirty inodes per superblock) need the s_files/s_dirty lists that
kernels since 3.13 and 2.6.32 no longer have: refused as crash refuses them
(why, then the refusal).
"""
    example = "mount\nmount -n 1\nmount /proc"
    synopsis = "mount [-f][-i] [-n pid|task] [mount|vfsmount|superblock|dev|dir|dentry|inode]"
    options = (Option("-n", "task", "the mount namespace of this task instead", takes_value=True,
                      metavar="pid|task"),
               Option("-f", "files", "the open files of each filesystem (kernels before 3.13)"),
               Option("-i", "inodes", "the dirty inodes of each filesystem (kernels before "
                      "2.6.32)"))

    def run(self, ctx: Context, args: list[str]) -> Records | Iterator[Records]:
        opts, rest = self.parse(args)
        target = linux_target(ctx)
        sb_t = target.type("struct super_block")
        for dest, member in (("inodes", "s_dirty"), ("files", "s_files")):
            if opts[dest] and not sb_t.has_member(member):
                return _refused("-i" if dest == "inodes" else "-f", member)
        task = None
        if opts["task"]:
            task = target.object_at("struct task_struct", resolve_task(target, opts["task"]))
        if not rest:
            return Records(mounts(target, task), mount_lines, columns=COLUMNS)
        found = list(mounts(target, task))
        vfs = target.offsetof("struct mount", "mnt")
        chosen = [m for spec in rest for m in found if _names(m, spec, vfs)]
        return Records(chosen, mount_lines if chosen else _nothing, columns=COLUMNS)


    def teach(self, ctx: Context, args: list[str]) -> Teaching:
        opts, _rest = self.parse(args)
        target = linux_target(ctx)
        task = resolve_task(target, opts["task"]) if opts["task"] else None
        teaching = teach.mounts_teaching(target, task)
        teaching.imports.append("from xcrash.commands.mount import mount_lines")
        teaching.body += ["for line in mount_lines(records):", "    print(line)"]
        return teaching


def _refused(flag: str, member: str) -> Iterator[Records]:
    """crash's refusal of -f/-i: why on a line of its own, then the refusal."""
    yield text_lines(f"mount: the super_block.{member} linked list does not exist in this "
                     "kernel")
    raise CommandError(f"{flag} option not supported or applicable on this architecture "
                       "or kernel")


def _nothing(_records: Iterable[Mount]) -> Iterator[str]:
    return iter(())


def _path(text: str) -> str:
    """crash's pathcmp: repeated and trailing slashes do not count."""
    return re.sub("/+", "/", text).rstrip("/")


def _names(m: Mount, spec: str, vfs_offset: int) -> bool:
    """Whether ``spec`` names the mount as crash's filter does: one of its line's
    words (addresses, type, device, directory), or its embedded vfsmount."""
    word = spec[2:] if spec.lower().startswith("0x") else spec
    words = [f"{m.address:x}", f"{m.superblock:x}", _shown(m.fstype, "unknown"),
             _shown(m.devname, "(unknown)") if m.devname is not None else "",
             _shown(m.dirname, "(unknown)")]
    if any(w and _path(w) == _path(word) for w in words):
        return True
    try:
        return int(word, 16) == m.address + vfs_offset
    except ValueError:
        return False            # not an address: only the words could match


COMMANDS = [MountCmd]
