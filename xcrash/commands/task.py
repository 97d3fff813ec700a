"""task: a task's header line and its ``struct task_struct``, as crash prints them."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING
from collections.abc import Iterable, Iterator

from ..errors import CommandError
from ..layouts import tasks as task_layouts
from ..results import Records
from ..targets.linux.taskinfo import TaskRef, comm_of
from ..targets.linux.tasks import task_cpu
from ..layouts.values import struct_lines
from ..targets.values import StructContents, read_struct
from .args import linux_target, tasks_or_current
from .base import Command, Context, Option

if TYPE_CHECKING:
    from ..targets.linux.kernel import LinuxTarget


@dataclass
class TaskContents(TaskRef):
    """A task's ``struct task_struct`` (whole, or with ``task -R`` the members asked for)
    and, whole, the ``struct thread_info`` crash shows after it."""
    structs: list[StructContents] = field(default_factory=list)


def contents(target: LinuxTarget, addr: int, members: list[str]) -> TaskContents:
    task_t = target.type("struct task_struct")
    task = target.object_at(task_t, addr)
    record = TaskContents(int(task.pid), addr, task_cpu(task), comm_of(task))
    if members:
        # crash looks for each name in the task_struct, then in the thread_info
        info_t = (task_t.member("thread_info")[1].type if task_t.has_member("thread_info")
                  else None)
        values = []
        for m in members:
            nested = "." in m or "[" in m
            if nested or task_t.has_member(m):
                values += read_struct(target, task_t, addr, [m]).members or []
            if not nested and info_t is not None and info_t.has_member(m):
                info = task.thread_info
                values += read_struct(target, info_t, info.at_, [m]).members or []
            if not nested and not task_t.has_member(m) and not (
                    info_t is not None and info_t.has_member(m)):
                raise CommandError(f"{m}: not a task_struct or thread_info member")
        record.structs.append(StructContents(addr, None, values))
        return record
    record.structs.append(read_struct(target, task_t, addr, members))
    if task.type_.has_member("thread_info"):
        # crash shows the thread_info after the task (embedded in it since 4.9)
        info = task.thread_info
        assert info.address_ is not None            # a member of an object in memory
        record.structs.append(read_struct(target, info.type_, info.address_,
                                          header="struct thread_info"))
    return record


def contents_lines(records: Iterable[TaskContents], radix: int = 10) -> Iterator[str]:
    """Each task's header, its structures, then a blank line (after the last too)."""
    for r in records:
        yield task_layouts.task_header(r)
        for i, struct in enumerate(r.structs):
            if i:
                yield ""
            yield from struct_lines(struct, radix)
        yield ""


class Task(Command):
    name = "task"
    arguments = "[pid | taskaddr] ..."
    summary = "task_struct contents of a task"
    group = "linux"
    targets = ("linux",)
    description = """\
The header line (PID, TASK, CPU, COMMAND) of each task, then its whole
struct task_struct and struct thread_info gdb-style, and a blank line; without a
task, the current context's task (see `set`).  -R shows only the members named,
each found in the task_struct, then in the thread_info.
"""
    example = "task\ntask -R comm,pid 1"
    options = (Option("-R", "members", "only these task_struct and thread_info members "
                      "(nested paths like se.on_rq work)",
                      takes_value=True, repeat=True, metavar="member[,member]"),
               Option("-x", "hex", "values in hexadecimal"),
               Option("-d", "dec", "values in decimal"))
    exclusive = (("hex", "dec"),)

    def run(self, ctx: Context, args: list[str]) -> Records:
        opts, rest = self.parse(args)
        target = linux_target(ctx)
        members = [m for spec in opts["members"] for m in spec.split(",") if m]
        tasks = tasks_or_current(target, rest, "task")

        def each() -> Iterator[TaskContents]:
            for addr in tasks:
                ctx.check()
                yield contents(target, addr, members)
        radix = 16 if opts["hex"] else 10 if opts["dec"] else int(ctx.settings.get("radix", 10))
        return Records(each(), partial(contents_lines, radix=radix))


COMMANDS = [Task]
