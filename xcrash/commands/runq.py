"""runq: each CPU's run queue, as crash shows it.

The records come from ``targets/linux/runq.py``; this module picks the view and
lays the records out.
"""
from __future__ import annotations

from functools import partial
from collections.abc import Iterable, Iterator

from ..errors import CommandError
from ..layouts import separated
from ..layouts.times import duration
from ..results import Records, Teaching
from ..targets.linux import runq, runqgroups, teach
from ..targets.linux.kernel import LinuxTarget
from ..targets.linux.runqgroups import GroupQueue
from ..targets.linux.runq import QueuedTasks, RqClock, RqLag, RqTask, RunQueue
from ..targets.linux.taskinfo import has_sched_info
from .args import parse_cpu_list
from .base import Command, Context, Option


def _task(t: RqTask) -> str:
    """crash's ``PID: %-6ld TASK: ...`` of the run-queue listings."""
    return f"PID: {t.pid:<6} TASK: {t.task:x}  COMMAND: \"{t.comm}\""


def _task_short(t: RqTask) -> str:
    """crash's ``PID: %-5ld  TASK: ...`` of runq -t and -m."""
    return f"PID: {t.pid:<5}  TASK: {t.task:x}  COMMAND: \"{t.comm}\""


def _queued(tasks: list[RqTask]) -> list[str]:
    return [f"     [{t.prio:3d}] {_task(t)}" for t in tasks] or ["     [no tasks queued]"]


def queue_lines(queues: Iterable[RunQueue]) -> Iterator[str]:
    return separated([f"CPU {q.cpu} RUNQUEUE: {q.rq:x}", f"  CURRENT: {_task(q.current)}",
                      f"  RT PRIO_ARRAY: {q.rt_array:x}", *_queued(q.rt),
                      f"  CFS RB_ROOT: {q.cfs_root:x}", *_queued(q.cfs)] for q in queues)


def group_lines(queues: Iterable[GroupQueue]) -> Iterator[str]:
    """crash's runq -g: per CPU its current task and root task group, then each queue's
    tasks and nested groups, indented by depth."""
    for i, q in enumerate(queues):
        if i:
            yield ""
        yield f"CPU {q.cpu}"
        yield f"  CURRENT: {_task_short(q.current)}"
        yield f"  ROOT_TASK_GROUP: {q.root_group:x}  CFS_RQ: {q.cfs_rq:x}"
        for line in q.lines:
            if line.task is not None:
                mark = " [CURRENT]" if line.current else ""
                yield f"{' ' * (5 + 3 * line.depth)}[{line.task.prio:3d}] {_task(line.task)}{mark}"
            elif line.unreadable:
                yield f"{' ' * (5 + 3 * line.depth)}[the rest of this queue is unreadable: {line.unreadable}]"
            elif line.group:
                name = f" <{line.name}>" if line.name else ""
                yield (f"{' ' * (2 + 3 * line.depth)}TASK_GROUP: {line.group:x}  CFS_RQ: "
                       f"{line.queue:x} {name}{' (THROTTLED)' if line.throttled else ''}")
            else:
                yield f"{' ' * (5 + 3 * line.depth)}[no tasks queued]"


def timestamp_lines(clocks: Iterable[RqClock]) -> Iterator[str]:
    """runq -t: each run queue's clock, and under it its current task's last arrival
    with as many digits."""
    for c in clocks:
        clock = str(c.clock)
        yield f"{' ' if c.cpu < 10 else ''}CPU {c.cpu}: {clock}"
        if c.current is None:
            yield ""
            continue
        indent = 8 if c.cpu < 100 else 9
        yield f"{' ' * indent}{c.last_arrival:0{len(clock)}d}  {_task_short(c.current)}"


def _digits(n: int) -> int:
    return len(str(n))


def lag_lines(lags: Iterable[RqLag]) -> Iterator[str]:
    """runq -T: every CPU's lag behind the newest clock, in seconds, newest first."""
    lags = list(lags)
    width = _digits(len(lags))
    for r in lags:
        yield f"{' ' * (2 + width - _digits(r.cpu))}CPU {r.cpu}: {r.lag / 1e9:.2f} secs"


def running_lines(clocks: Iterable[RqClock], *, ncpus: int) -> Iterator[str]:
    """runq -m: how long each current task had run (clock minus last arrival), the
    days right-aligned to those of the first CPU's clock; CPU numbers aligned to
    the number of CPUs (``ncpus``)."""
    top = 1 if ncpus < 10 else 2 if ncpus < 100 else 3 if ncpus < 1000 else 4
    days = None
    for c in clocks:
        if days is None:
            days = len(duration(c.clock).split()[0])
        indent = " " * (top - (0 if c.cpu < 10 else 1 if c.cpu < 100 else 2 if c.cpu < 1000
                               else 4))
        if c.current is None:
            yield f"{indent}CPU {c.cpu}: [unknown]"
            continue
        text = duration(max(c.clock - c.last_arrival, 0))
        pad = " " * (days - len(text.split()[0]))
        yield f"{indent}CPU {c.cpu}: [{pad}{text}]  {_task_short(c.current)}"


def on_rq_lines(queued: Iterable[QueuedTasks]) -> Iterator[str]:
    """runq -d: by CPU, every task whose on_rq is set (a blank line before each CPU
    but CPU 0, as crash prints it)."""
    for q in queued:
        if q.cpu:
            yield ""
        yield f"CPU {q.cpu}"
        yield from _queued(q.tasks)


class Runq(Command):
    name = "runq"
    summary = "run queue of each CPU: current task, queued RT and CFS tasks"
    group = "linux"
    targets = ("linux",)
    description = """\
For each CPU: its `struct rq`, the task it was running, then the tasks
waiting on its real-time priority array and in its CFS red-black tree
(in tree order, with their priority).  Group scheduling entities are skipped.
A run queue that cannot be read is left out, with a WARNING line.  Of -t, -T,
-m and -d the first in that order is shown, as crash does.  -m is an error
without CONFIG_SCHED_INFO, where crash shows the run-queue clock as the
running time; -t then shows 0 for the tasks, as crash does.  -g shows each
CPU's root task group's CFS queue with the groups queued on it nested under
it (CONFIG_FAIR_GROUP_SCHED; RT group scheduling is refused).  JSON: a record per CPU (cpu, rq, current,
rt_array, rt, cfs_root, cfs; tasks as pid, task, comm, prio); -t and -m: cpu,
clock, current, last_arrival; -T: cpu, clock, lag (ns); -d: cpu, tasks.
"""
    example = "runq\nrunq -c 1\nrunq -t\nrunq -d"
    options = (Option("-t", "timestamps", "each run queue's clock and its current task's last "
                      "arrival (sched_info)"),
               Option("-T", "lag", "how far each run queue's clock lags the newest one, in "
                      "seconds"),
               Option("-m", "since", "how long each CPU's current task had been running: "
                      "days hh:mm:ss.ms"),
               Option("-d", "on_rq", "every task whose on_rq is set, by CPU, in task-list "
                      "order"),
               Option("-g", "groups", "the CFS queues by task group"),
               Option("-c", "cpus", "only these CPUs (1,3 or 0-2); -T always shows every CPU, "
                      "as crash does", takes_value=True, metavar="cpus"))

    def run(self, ctx: Context, args: list[str]) -> Records:
        opts, rest = self.parse(args)
        if rest:
            raise CommandError(f"usage: {self.usage()}")
        target = ctx.target
        assert isinstance(target, LinuxTarget)          # targets = ("linux",)
        online = list(target.present_cpus)      # an offline CPU's queue too, as crash
        wanted = set(parse_cpu_list(opts["cpus"], "runq")) if opts["cpus"] else None
        cpus = [c for c in online if wanted is None or c in wanted]
        if opts["groups"] and not (opts["timestamps"] or opts["lag"] or opts["since"]):
            return Records(runqgroups.group_queues(target, cpus), group_lines)
        if opts["timestamps"]:
            return Records(runq.rq_clocks(target, cpus), timestamp_lines)
        if opts["lag"]:
            return Records(runq.rq_lags(target, online), lag_lines)
        if opts["since"]:
            if not has_sched_info(target):
                # crash shows the run-queue clock as the running time: a wrong answer
                raise CommandError("runq: -m needs sched_info.last_arrival, which this "
                                   "kernel does not keep (CONFIG_SCHED_INFO is off)")
            return Records(runq.rq_clocks(target, cpus), partial(running_lines,
                                                                 ncpus=len(online)))
        if opts["on_rq"]:
            return Records(runq.queued_tasks(target, cpus), on_rq_lines)
        return Records(runq.run_queues(target, cpus), queue_lines)


    def teach(self, ctx: Context, args: list[str]) -> Teaching | None:
        opts, _rest = self.parse(args)
        if opts["timestamps"] or opts["lag"] or opts["since"] or opts["on_rq"] or opts["groups"]:
            return None
        target = ctx.target
        assert isinstance(target, LinuxTarget)          # targets = ("linux",)
        wanted = set(parse_cpu_list(opts["cpus"], "runq")) if opts["cpus"] else None
        cpus = [c for c in target.present_cpus if wanted is None or c in wanted]
        teaching = teach.runq_teaching(target, cpus)
        teaching.imports.append("from xcrash.commands.runq import queue_lines")
        teaching.body += ["for line in queue_lines(records):", "    print(line)"]
        return teaching


COMMANDS = [Runq]
