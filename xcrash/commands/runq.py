"""runq: each CPU's run queue, as crash shows it."""
from __future__ import annotations

from typing import Any

from ..errors import CommandError
from .base import Command, Context, Option, Result, Text


def _task(task: Any) -> str:
    comm = task.comm.string_().decode("utf-8", "replace")
    return f"PID: {int(task.pid):<6} TASK: {task.address_:x}  COMMAND: \"{comm}\""


def _digits(n: int) -> int:
    return len(str(n))


def _clock(target: Any, cpu: int) -> int:
    return int(target.per_cpu("runqueues", cpu).clock)


def _last_arrival(task: Any) -> int:
    """sched_info.last_arrival; 0 where the kernel keeps none (no CONFIG_SCHED_INFO),
    as crash shows it."""
    info = task.sched_info
    return int(info.last_arrival) if info.type_.has_member("last_arrival") else 0


def _has_last_arrival(target: Any) -> bool:
    info_t = target.type("struct task_struct").member("sched_info")[1].type
    return info_t.has_member("last_arrival")


def timestamp_lines(target: Any, cpus: list[int]) -> list[str]:
    """runq -t: each run queue's clock and its current task's last arrival."""
    from ..targets.linux.tasks import active_tasks
    active = active_tasks(target)
    lines = []
    for cpu in cpus:
        clock = str(_clock(target, cpu))
        lines.append(f"{' ' if cpu < 10 else ''}CPU {cpu}: {clock}")
        addr = active.get(cpu)
        if addr is None:
            lines.append("")
            continue
        task = target.object_at("struct task_struct", addr)
        indent = 8 if cpu < 100 else 9
        lines.append(f"{' ' * indent}{_last_arrival(task):0{len(clock)}d}  {_task_short(task)}")
    return lines


def lag_lines(target: Any, cpus: list[int]) -> list[str]:
    """runq -T: how far each run queue's clock lags the newest one, newest first."""
    clocks = sorted(((_clock(target, c), c) for c in cpus), key=lambda x: -x[0])
    newest = clocks[0][0] if clocks else 0
    width = _digits(len(cpus))
    return [f"{' ' * (2 + width - _digits(cpu))}CPU {cpu}: {(newest - ts) / 1e9:.2f} secs"
            for ts, cpu in clocks]


def since_lines(target: Any, cpus: list[int], ncpus: int) -> list[str]:
    """runq -m: how long each CPU's current task had been running at the crash."""
    from ..targets.linux.tasks import active_tasks
    from .ps import duration as _duration
    active = active_tasks(target)
    top = 1 if ncpus < 10 else 2 if ncpus < 100 else 3 if ncpus < 1000 else 4
    lines: list[str] = []
    max_days = None
    for cpu in cpus:
        clock = _clock(target, cpu)
        if max_days is None:
            max_days = len(_duration(clock).split()[0])
        indent = top - (0 if cpu < 10 else 1 if cpu < 100 else 2 if cpu < 1000 else 4)
        addr = active.get(cpu)
        if addr is None:
            lines.append(f"{' ' * indent}CPU {cpu}: [unknown]")
            continue
        task = target.object_at("struct task_struct", addr)
        text = _duration(max(clock - _last_arrival(task), 0))
        pad = " " * (max_days - len(text.split()[0]))
        lines.append(f"{' ' * indent}CPU {cpu}: [{pad}{text}]  {_task_short(task)}")
    return lines


def on_rq_lines(target: Any, cpus: list[int]) -> list[str]:
    """runq -d: every task whose on_rq is set, by CPU, in task-list order."""
    from ..targets.linux.tasks import for_each_task, task_cpu
    queued: dict[int, list[Any]] = {}
    for task in for_each_task(target):
        if int(task.on_rq):
            queued.setdefault(task_cpu(task), []).append(task)
    lines: list[str] = []
    for cpu in cpus:
        lines += ([""] if cpu else []) + [f"CPU {cpu}"]
        tasks = queued.get(cpu, [])
        lines += [f"     [{int(t.prio):3d}] {_task(t)}" for t in tasks] or \
            ["     [no tasks queued]"]
    return lines


def _task_short(task: Any) -> str:
    """crash's `PID: %-5ld  TASK: ...` of runq -t and -m."""
    comm = task.comm.string_().decode("utf-8", "replace")
    return f"PID: {int(task.pid):<5}  TASK: {task.address_:x}  COMMAND: \"{comm}\""


class Runq(Command):
    name = "runq"
    synopsis = "runq [-t | -T | -m | -d] [-c cpus]"
    summary = "run queue of each CPU: current task, queued RT and CFS tasks"
    group = "linux"
    targets = ("linux",)
    description = """\
For each CPU: its `struct rq`, the task it was running, then the tasks
waiting on its real-time priority array and in its CFS red-black tree
(in tree order, with their priority).  Group scheduling entities are skipped.
  -t  each run queue's clock and its current task's last arrival (sched_info)
  -T  how far each run queue's clock lags the newest one, in seconds
  -m  how long each CPU's current task had been running: days hh:mm:ss.ms
      (an error without CONFIG_SCHED_INFO, where crash shows the run-queue
      clock instead; -t then shows 0 for the tasks, as crash does)
  -d  every task whose on_rq is set, by CPU, in task-list order
  -c  only these CPUs ("1,3", "0-2"); -T always shows every CPU, as crash does
crash's -g (task groups) is not implemented yet.
"""
    example = "runq\nrunq -c 1\nrunq -t\nrunq -m"
    options = (Option("-c", "cpus", "only these CPUs", takes_value=True),
               Option("-t", "timestamps", "run-queue clocks and current tasks' last arrival"),
               Option("-T", "lag", "each run queue's lag behind the newest"),
               Option("-m", "since", "how long each current task had been running"),
               Option("-d", "on_rq", "every task with on_rq set"))

    def run(self, ctx: Context, args: list[str]) -> Result:
        from ..errors import MemoryError_, XcrashError
        from ..targets.linux.runq import run_queues
        from .args import parse_cpu_list
        opts, rest = self.parse(args)
        if rest:
            raise CommandError(f"usage: {self.usage()}")
        wanted = None
        if opts["cpus"]:
            wanted = set(parse_cpu_list(opts["cpus"], "runq"))
        target = ctx.target
        cpus = [c for c in target.online_cpus if wanted is None or c in wanted]
        if opts["since"] and not _has_last_arrival(target):
            # crash shows the run-queue clock as the running time: a wrong answer
            raise CommandError("runq: -m needs sched_info.last_arrival, which this kernel "
                               "does not keep (CONFIG_SCHED_INFO is off)")
        try:
            if opts["timestamps"]:
                return Text("\n".join(timestamp_lines(target, cpus)))
            if opts["lag"]:
                return Text("\n".join(lag_lines(target, list(target.online_cpus))))
            if opts["since"]:
                return Text("\n".join(since_lines(target, cpus, len(target.online_cpus))))
            if opts["on_rq"]:
                return Text("\n".join(on_rq_lines(target, cpus)))
        except (MemoryError_, XcrashError) as e:
            raise CommandError(f"runq: {e}") from None
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
