"""files: the root, working directory and open files of tasks, as crash shows them.

The records come from ``targets/linux/files.py``; this module lays them out.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from functools import partial

from ..caveats import Unreadable
from ..layouts import separated
from ..layouts.tasks import task_header
from ..errors import CommandError
from ..layouts.kmem import page_lines
from ..results import Records, Teaching
from ..targets.linux import filecache, teach
from ..targets.linux.filecache import DentryInfo, TaskFileCache
from ..targets.linux.files import OpenFile, TaskFiles, task_files
from ..targets.linux.pages import PageInfo, page_info
from .args import linux_target, per_task_records, tasks_or_current
from .base import Command, Context, Option

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


CACHE_HEADER = " FD      INODE          I_MAPPING     NRPAGES TYPE PATH"


def _hex(value: int | Unreadable) -> str:
    return f"{value:16x}" if isinstance(value, Unreadable) or value else "0" * 16


def cache_task_lines(t: TaskFileCache) -> Iterator[str]:
    yield task_header(t)
    if t.root is not None:
        yield f"ROOT: {t.root}    CWD: {t.cwd}"
    if not t.files:
        yield "No open files"
        return
    yield CACHE_HEADER
    for f in t.files:
        yield f"{f.fd:3d} {_hex(f.inode)} {_hex(f.mapping)} {f.nrpages:7d} {f.type:<4} {f.path}"


def cache_lines(tasks: Iterable[TaskFileCache], *, by_pid: bool = False) -> Iterator[str]:
    """Each task's block, a blank line before each one after the first and (tasks
    named by PID) after each, as crash spaces them."""
    for i, t in enumerate(tasks):
        if i:
            yield ""
        yield from cache_task_lines(t)
        if by_pid:
            yield ""


@dataclass
class Reference:
    """files -R: a task's files that refer to the reference (``root_matched``: its root
    or working directory does)."""
    files: TaskFiles
    root_matched: bool


def reference_lines(records: Iterable[Reference], *, by_pid: bool = False) -> Iterator[str]:
    """crash's -R: a task only where something matched, its ROOT line with a
    trailing blank, the matching rows, a blank line (and one more for a task named
    by PID)."""
    for r in records:
        t = r.files
        if r.root_matched or t.files:
            yield task_header(t)
            yield f"ROOT: {t.root}    CWD: {t.cwd} "
            if t.files:
                yield FILES_HEADER
                yield from (file_line(f) for f in t.files)
            yield ""
        if by_pid:
            yield ""


def _component(path: str | Unreadable, ref: str) -> bool:
    """crash's FILENAME_COMPONENT: "/" only matches "/"; another string anywhere."""
    if not isinstance(path, str):
        return False
    return path == "/" and ref == "/" or ref != "/" and ref in path


def referring(t: TaskFiles, ref: str) -> Reference:
    """The task's files crash's -R keeps: a decimal number is a descriptor, a number
    with hex digits a file, dentry or inode address; a word is a type (REG) or part
    of a path."""
    fd = value = None
    if ref.isdigit():
        fd = int(ref)
    elif all(c in "0123456789abcdefABCDEF" for c in ref.removeprefix("0x")) and ref:
        value = int(ref, 16)
    kept = [f for f in t.files
            if fd is not None and f.fd == fd
            or value is not None and value in (f.file, f.dentry, f.inode)
            or f.type == ref or _component(f.path, ref)]
    root = t.root is not None and (_component(t.root, ref) or _component(t.cwd or "", ref))
    return Reference(replace(t, files=kept), root)


def dentry_lines(records: Iterable[DentryInfo]) -> Iterator[str]:
    yield "     DENTRY           INODE           SUPERBLK     TYPE PATH"
    for d in records:
        yield f"{d.dentry:16x} {d.inode:16x} {d.superblock:16x} {d.type:<4} {d.path}"


@dataclass
class InodeCache:
    """files -p: an inode, its nrpages and each page of its page cache."""
    inode: int
    nrpages: int
    pages: list[PageInfo]


def inode_cache_lines(records: Iterable[InodeCache]) -> Iterator[str]:
    for r in records:
        yield "     INODE        NRPAGES"
        yield f"{r.inode:16x}  {r.nrpages:7d}"
        yield ""
        if r.pages:
            yield from page_lines(r.pages)


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
-c shows each file's inode, its address_space (i_mapping) and the number of
its pages in the page cache; -R keeps the files (and the tasks) that refer to
the reference: a descriptor number, a struct file, dentry or inode address,
a type (REG) or part of a path, as crash matches them.  -d shows a dentry on
its own (its inode, super_block, type and path), -p an inode's page-cache
pages as `kmem -p` shows them.
"""
    example = "files\nfiles 1\nforeach xc-sleeper files\nfiles -c\nfiles -R console 1"
    synopsis = "files [-d dentry] | [-p inode] | [-c] [-R reference] [pid | taskp] ... "
    options = (Option("-d", "dentry", "a dentry's inode, super_block, type and path",
                      takes_value=True, metavar="dentry"),
               Option("-p", "inode", "an inode's pages in the page cache", takes_value=True,
                      metavar="inode"),
               Option("-c", "cache", "each file's inode, i_mapping and pages in the page cache"),
               Option("-R", "ref", "only what refers to this descriptor, address, type or "
                      "path", takes_value=True, metavar="reference"))

    def run(self, ctx: Context, args: list[str]) -> Records:
        opts, rest = self.parse(args)
        target = linux_target(ctx)
        if opts["dentry"] is not None:
            return Records([filecache.dentry_info(target, _address(opts["dentry"]))],
                           dentry_lines)
        if opts["inode"] is not None:
            inode = _address(opts["inode"])
            nrpages, pages = filecache.inode_pages(target, inode)
            return Records([InodeCache(inode, nrpages, [page_info(target, p) for p in pages])],
                           inode_cache_lines)
        tasks = tasks_or_current(target, rest, "files")
        found = per_task_records(ctx, tasks, "files", task_files)
        by_pid = bool(rest) and all(a.isdigit() for a in rest)
        if opts["ref"] is not None:
            return Records([referring(t, opts["ref"]) for t in found],
                           partial(reference_lines, by_pid=by_pid))
        if opts["cache"]:
            return Records([filecache.cached(target, t) for t in found],
                           partial(cache_lines, by_pid=by_pid))
        return Records(found, files_lines)


    def teach(self, ctx: Context, args: list[str]) -> Teaching:
        _opts, rest = self.parse(args)
        target = linux_target(ctx)
        teaching = teach.files_teaching(target, tasks_or_current(target, rest, "files"))
        teaching.imports.append("from xcrash.commands.files import files_lines")
        teaching.body += ["for line in files_lines(records):  # crash's layout of the records",
                          "    print(line)"]
        return teaching


def _address(word: str) -> int:
    try:
        return int(word, 16)
    except ValueError:
        raise CommandError(f"files: invalid address: {word}") from None


COMMANDS = [Files]
