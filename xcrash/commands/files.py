"""files: the root, working directory and open files of tasks, as crash shows them.

The records come from ``targets/linux/files.py``; this module lays them out.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..caveats import Unreadable
from ..layouts import separated
from ..layouts.tasks import task_header
from ..results import Records, Teaching
from ..targets.linux import teach
from ..targets.linux.files import OpenFile, TaskFiles, task_files
from .args import linux_target, per_task_records, tasks_or_current
from .base import Command, Context

FILES_HEADER = " FD       FILE            DENTRY           INODE       TYPE PATH"


def file_line(f: OpenFile) -> str:
    """crash's row: a missing dentry is zeros and the inode then a centred ?, a
    missing inode zeros; a value that could not be read is ? in its column."""
    if isinstance(f.dentry, Unreadable):
        dentry = f"{f.dentry:16x}"
    else:
        dentry = f"{f.dentry:16x}" if f.dentry else "0" * 16
    if isinstance(f.inode, Unreadable):
        inode = f"{f.inode:16x}"
    elif f.inode:
        inode = f"{f.inode:16x}"
    else:
        inode = "0" * 16 if f.dentry else "       ?        "
    return f"{f.fd:3d} {f.file:16x} {dentry} {inode} {f.type:<4} {f.path}"


def task_lines(t: TaskFiles) -> Iterator[str]:
    yield task_header(t)
    if t.root is not None:
        yield f"ROOT: {t.root}    CWD: {t.cwd}"
    if t.files:
        yield FILES_HEADER
        yield from (file_line(f) for f in t.files)
    else:
        yield "No open files"


def files_lines(tasks: Iterable[TaskFiles]) -> Iterator[str]:
    return separated(task_lines(t) for t in tasks)


class Files(Command):
    name = "files"
    arguments = "[pid | taskaddr] ..."
    summary = "open files of a task"
    group = "linux"
    targets = ("linux",)
    description = """\
The task's root and current directory, then each open file descriptor: the
struct file, its dentry and inode, the inode's type (REG DIR CHR BLK FIFO LNK
SOCK) and the path, rebuilt from the dentry up through the mounts as crash
does (? for what an unreadable struct file hides).  Without an argument: the
current context task (see `set`).  `foreach files` lists every task's files.
"""
    example = "files\nfiles 1\nforeach xc-sleeper files"

    def run(self, ctx: Context, args: list[str]) -> Records:
        _opts, rest = self.parse(args)
        tasks = tasks_or_current(linux_target(ctx), rest, "files")
        return Records(per_task_records(ctx, tasks, "files", task_files), files_lines)


    def teach(self, ctx: Context, args: list[str]) -> Teaching:
        _opts, rest = self.parse(args)
        target = linux_target(ctx)
        teaching = teach.files_teaching(target, tasks_or_current(target, rest, "files"))
        teaching.imports.append("from xcrash.commands.files import files_lines")
        teaching.body += ["for line in files_lines(records):  # crash's layout of the records",
                          "    print(line)"]
        return teaching


COMMANDS = [Files]
