"""task: a task's header line and its ``struct task_struct``, as crash prints them."""
from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Iterable, Iterator

from ..layouts import separated
from ..layouts import tasks as task_layouts
from ..results import Records
from ..targets.linux.taskinfo import TaskRef, comm_of
from ..targets.linux.tasks import task_cpu
from ..targets.values import member_of
from .base import Command, Context, Option
from .datatypes import formatter


@dataclass
class TaskContents(TaskRef):
    """A task's ``struct task_struct``: with ``task -R``, the members asked for (each as
    gdb prints its value); otherwise the whole structure as gdb prints it."""
    members: dict[str, str] | None = None
    struct_lines: list[str] = field(default_factory=list, metadata={"json": False})


def contents(ctx: Context, addr: int, members: list[str]) -> TaskContents:
    target = ctx.target
    task = target.object_at(target.type("struct task_struct"), addr)
    fmt = formatter(ctx)
    record = TaskContents(int(task.pid), addr, task_cpu(task), comm_of(task))
    if members:
        record.members = {path: fmt.value(member_of(task, path), 1) for path in members}
        return record
    record.struct_lines = f"struct task_struct {fmt.value(task, 0)}".split("\n")
    if task.type_.has_member("thread_info"):
        # crash shows the thread_info after the task (embedded in it since 4.9)
        record.struct_lines += ["", *f"struct thread_info {fmt.value(task.thread_info, 0)}"
                                .split("\n")]
    return record


def contents_lines(records: Iterable[TaskContents]) -> Iterator[str]:
    def block(r: TaskContents) -> list[str]:
        if r.members is not None:
            return [task_layouts.task_header(r),
                    *(f"  {path} = {value}," for path, value in r.members.items())]
        return [task_layouts.task_header(r), *r.struct_lines]
    return separated(block(r) for r in records)


class Task(Command):
    name = "task"
    arguments = "[pid | taskaddr] ..."
    summary = "task_struct contents of a task"
    group = "linux"
    targets = ("linux",)
    description = """\
The header line (PID, TASK, CPU, COMMAND) of each task, then its whole
struct task_struct gdb-style; without a task, the current context's task
(see `set`).  gdb's folding of repeated characters differs from crash's in
char arrays (crash prints the fpstate's __padding unfolded).
"""
    example = "task\ntask -R comm,pid 1"
    options = (Option("-R", "members", "only these members (nested paths like se.on_rq work)",
                      takes_value=True, repeat=True, metavar="member[,member]"),)

    def run(self, ctx: Context, args: list[str]) -> Records:
        from .args import tasks_or_current
        opts, rest = self.parse(args)
        members = [m for spec in opts["members"] for m in spec.split(",") if m]
        tasks = tasks_or_current(ctx.target, rest, "task")

        def each() -> Iterator[TaskContents]:
            for addr in tasks:
                ctx.check()
                yield contents(ctx, addr, members)
        return Records(each(), contents_lines)


COMMANDS = [Task]
