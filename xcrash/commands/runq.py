"""runq: each CPU's run queue, as crash shows it."""
from __future__ import annotations

from typing import Any

from ..errors import CommandError
from .base import Command, Context, Option, Result, Text


def _task(task: Any) -> str:
    comm = task.comm.string_().decode("utf-8", "replace")
    return f"PID: {int(task.pid):<6} TASK: {task.address_:x}  COMMAND: \"{comm}\""


class Runq(Command):
    name = "runq"
    synopsis = "runq [-c cpu]"
    summary = "run queue of each CPU: current task, queued RT and CFS tasks"
    group = "linux"
    targets = ("linux",)
    description = """\
For each CPU: its `struct rq`, the task it was running, then the tasks
waiting on its real-time priority array and in its CFS red-black tree
(in tree order, with their priority).  Group scheduling entities are skipped.
"""
    example = "runq\nrunq -c 1"
    options = (Option("-c", "cpus", "only these CPUs", takes_value=True),)

    def run(self, ctx: Context, args: list[str]) -> Result:
        from ..targets.linux.runq import run_queues
        opts, rest = self.parse(args)
        if rest:
            raise CommandError(f"usage: {self.synopsis}")
        wanted = None
        if opts["cpus"]:
            wanted = {int(c) for c in opts["cpus"].split(",")}
        errors: list[str] = []
        blocks, records = [], []
        for q in run_queues(ctx.target, errors):
            if wanted is not None and q.cpu not in wanted:
                continue
            lines = [f"CPU {q.cpu} RUNQUEUE: {q.rq.address_:x}",
                     f"  CURRENT: {_task(q.current)}",
                     f"  RT PRIO_ARRAY: {q.rt_array:x}"]
            lines += [f"     [{prio:3d}] {_task(t)}" for prio, t in q.rt_tasks] or \
                ["     [no tasks queued]"]
            lines.append(f"  CFS RB_ROOT: {q.cfs_root:x}")
            lines += [f"     [{int(t.prio):3d}] {_task(t)}" for t in q.cfs_tasks] or \
                ["     [no tasks queued]"]
            blocks.append("\n".join(lines))
            records.append({"cpu": q.cpu, "rq": q.rq.address_, "current": q.current.address_,
                            "rt": [t.address_ for _, t in q.rt_tasks],
                            "cfs": [t.address_ for t in q.cfs_tasks]})
        return Text("\n\n".join(blocks + errors), records)


COMMANDS = [Runq]
