"""files: the root, working directory and open files of tasks, as crash shows them."""
from __future__ import annotations

from typing import Any

from .args import per_task_blocks, tasks_or_current
from .base import Command, Context, Result

FILES_HEADER = " FD       FILE            DENTRY           INODE       TYPE PATH"


def files_block(target: Any, task: Any) -> tuple[str, dict[str, Any]]:
    from ..targets.linux.files import task_files
    from .task import task_header
    info = task_files(target, task)
    lines = [task_header(task)]
    if info.root is not None:
        lines.append(f"ROOT: {info.root}    CWD: {info.cwd}")
    if info.files:
        lines.append(FILES_HEADER)
        for f in info.files:
            dentry = f"{f.dentry:16x}" if f.dentry else "0" * 16
            inode = f"{f.inode:16x}" if f.inode else ("0" * 16 if f.dentry else "       ?        ")
            kind = f.type.ljust(4)
            lines.append(f"{f.fd:3d} {f.file:16x} {dentry} {inode} {kind} {f.path}")
    else:
        lines.append("No open files")
    record = {"task": task.address_, "pid": int(task.pid), "root": info.root, "cwd": info.cwd,
              "files": [vars(f) for f in info.files]}
    return "\n".join(lines), record


class Files(Command):
    name = "files"
    synopsis = "files [pid | taskaddr] ..."
    summary = "open files of a task"
    group = "linux"
    targets = ("linux",)
    description = """\
The task's root and current directory, then each open file descriptor: the
struct file, its dentry and inode, the inode's type (REG DIR CHR BLK FIFO LNK
SOCK) and the path, rebuilt from the dentry up through the mounts as crash
does.  Without an argument: the current context task (see `set`).
`foreach files` lists every task's files.
"""
    example = "files\nfiles 1\nforeach xc-sleeper files"

    def run(self, ctx: Context, args: list[str]) -> Result:
        _opts, rest = self.parse(args)
        return per_task_blocks(ctx, tasks_or_current(ctx.target, rest, "files"), "files",
                               files_block)


COMMANDS = [Files]
