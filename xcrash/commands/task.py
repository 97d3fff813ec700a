"""task: a task's header line and its ``struct task_struct``, as crash prints them."""
from __future__ import annotations

from typing import Any

from .base import Command, Context, Option, Result, Text
from .datatypes import formatter
from .valueformat import member_line, member_of


def task_header(task: Any) -> str:
    from ..targets.linux.tasks import task_cpu
    from .bt import header
    return header(task, task_cpu(task))


def format_task(ctx: Context, addr: int, members: list[str]) -> str:
    target = ctx.target
    t = target.type("struct task_struct")
    task = target.object_at(t, addr)
    fmt = formatter(ctx)
    out = [task_header(task)]
    if members:
        out.extend(member_line(fmt, path, member_of(task, path)) for path in members)
    else:
        out.append(f"struct task_struct {fmt.value(task, 0)}")
        if task.type_.has_member("thread_info"):
            # crash shows the thread_info after the task (embedded in it since 4.9)
            out.append(f"\nstruct thread_info {fmt.value(task.thread_info, 0)}\n")
    return "\n".join(out)


class Task(Command):
    name = "task"
    synopsis = "task [-R member[,member]] [pid | taskaddr] ..."
    summary = "task_struct contents of a task"
    group = "linux"
    targets = ("linux",)
    description = """\
The header line (PID, TASK, CPU, COMMAND) of each task, then its whole
struct task_struct gdb-style; without a task, the current context's task
(see `set`).
  -R member[,member]  only these members (nested paths like se.on_rq work)
"""
    example = "task\ntask -R comm,pid 1"
    options = (Option("-R", "members", "members to show", takes_value=True, repeat=True),)

    def run(self, ctx: Context, args: list[str]) -> Result:
        from .args import tasks_or_current
        opts, rest = self.parse(args)
        members = [m for spec in opts["members"] for m in spec.split(",") if m]
        tasks = tasks_or_current(ctx.target, rest, "task")
        parts = []
        for addr in tasks:
            ctx.check()
            parts.append(format_task(ctx, addr, members))
        return Text("\n\n".join(parts) if members else "\n".join(parts),
                    [{"task": a} for a in tasks])


COMMANDS = [Task]
