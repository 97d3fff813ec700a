"""ps: the task table and its per-task views, as crash prints them.

The records come from ``targets/linux/taskinfo.py``; this module picks them by the
options and lays them out.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import partial
from typing import Any
from collections.abc import Iterable, Iterator

from ..errors import CommandError
from ..layouts import separated
from ..layouts.tasks import task_header
from ..layouts.times import duration
from ..results import Column, Records, Teaching
from ..targets.linux import taskinfo, teach
from ..targets.linux.kernel import LinuxTarget
from ..targets.linux.taskinfo import (RLIM_INFINITY, RLIMIT_NAMES, LastRun, TaskArguments,
                                      TaskEntry, TaskFamily, TaskLimits, TaskTimes)
from .args import linux_target, parse_cpu_list
from .base import Command, Context, Option

HEADER = "      PID    PPID  CPU       TASK        ST  %MEM      VSZ      RSS  COMM"
KSTACK_HEADER = HEADER.replace("      TASK       ", "     KSTACKP     ")

POLICIES = {"NORMAL": 0, "FIFO": 1, "RR": 2, "BATCH": 3, "ISO": 4, "IDLE": 5, "DEADLINE": 6}


# -- the task table ------------------------------------------------------------------------
def table_lines(entries: Iterable[TaskEntry], *, kstack: bool = False,
                header: bool = True) -> Iterator[str]:
    if header:
        yield KSTACK_HEADER if kstack else HEADER
    for e in entries:
        if kstack:
            where = f"{e.kstackp:16x}" if e.kstackp is not None else f"{'--':^16}"
        else:
            where = f"{e.task:16x}"
        yield (f"{'>' if e.active else ' '}{e.pid:8d} {e.ppid:7d} {e.cpu:3d}  {where}  "
               f"{e.state:<2} {e.mem_percent:5.1f} {e.vsz:8d} {e.rss:8d}  "
               + (f"[{e.comm}]" if e.kernel_thread else e.comm))


COLUMNS = [Column("PID", "pid", "right"), Column("PPID", "ppid", "right"),
           Column("CPU", "cpu", "right"), Column("TASK", "task", fmt=lambda v: f"{v:x}"),
           Column("ST", "state"), Column("%MEM", "mem_percent", "right"),
           Column("VSZ", "vsz", "right"), Column("RSS", "rss", "right"), Column("COMM", "comm")]
KSTACK_COLUMNS = [c if c.key != "task" else
                  Column("KSTACKP", "kstackp", fmt=lambda v: "--" if v is None else f"{v:x}")
                  for c in COLUMNS]


@dataclass
class StateCount:
    """ps -S: how many tasks are in a state."""
    state: str
    count: int


def state_lines(counts: Iterable[StateCount]) -> Iterator[str]:
    for c in counts:
        yield f"  {c.state}: {c.count}"


# -- the per-task views --------------------------------------------------------------------
def arguments_lines(records: Iterable[TaskArguments]) -> Iterator[str]:
    def block(r: TaskArguments) -> Iterator[str]:
        yield task_header(r)
        if r.unreadable_at is not None:
            yield f"ps: cannot access user stack address: {r.unreadable_at:x}"
        elif r.argv is None:
            yield "ps: no user stack"
        else:
            yield "ARG: " + "".join(a + " " for a in r.argv)
            yield from (("ENV: " if i == 0 else "     ") + e for i, e in enumerate(r.env or ()))
    return separated(block(r) for r in records)


def ancestry_lines(records: Iterable[TaskFamily]) -> Iterator[str]:
    """ps -p: each task's chain of parents, a blank line after each (as crash)."""
    for r in records:
        yield from (" " * depth + task_header(t) for depth, t in enumerate(r.related))
        yield ""


def family_lines(records: Iterable[TaskFamily], *, empty: str) -> Iterator[str]:
    """ps -c (``empty``: "(no children)") and ps -g ("(no threads)")."""
    def block(r: TaskFamily) -> Iterator[str]:
        yield task_header(r)
        yield from ("  " + task_header(t) for t in r.related)
        if r.unreadable is not None:
            yield f"  (thread list unreadable: {r.unreadable})"
        elif not r.related:
            yield f"  {empty}"
    return separated(block(r) for r in records)


def times_lines(records: Iterable[TaskTimes]) -> Iterator[str]:
    from ..targets.linux.sysinfo import format_uptime
    return separated([task_header(r), f"    RUN TIME: {format_uptime(r.run_time)}",
                      f"  START TIME: {r.start_time}", f"       UTIME: {r.utime}",
                      f"       STIME: {r.stime}"] for r in records)


def last_run_lines(records: Iterable[LastRun], *, since: bool, cpus: list[int] | None,
                   online: set[int], pad_days: bool) -> Iterator[str]:
    """ps -l: last_arrival right-aligned to the newest; ps -m (``since``): the run
    queue's clock minus it, as crash's duration (days right-aligned to those of the
    clock per CPU and for named tasks: ``pad_days``); with ``cpus`` (-C) a block
    per CPU, [OFFLINE] for a CPU that was not online."""
    runs = list(records)
    width = len(str(runs[0].last_arrival)) if runs else 0

    def line(r: LastRun) -> str:
        if not since:
            return f"[{r.last_arrival:>{width}}] [{r.state}]  {task_header(r)}"
        text = duration(max(r.rq_clock - r.last_arrival, 0))
        if pad_days or cpus is not None:
            days = len(duration(r.rq_clock).split()[0])
            text = " " * (days - len(text.split()[0])) + text
        return f"[{text}] [{r.state}]  {task_header(r)}"
    if cpus is None:
        yield from (line(r) for r in runs)
        return
    yield from separated([f"CPU: {cpu} [OFFLINE]"] if cpu not in online else
                         [f"CPU: {cpu}"] + [line(r) for r in runs if r.cpu == cpu]
                         for cpu in cpus)


def _limit(value: int, last: bool) -> str:
    """crash's column: "(unlimited)", or the number centred in its width (the odd
    blank on the right)."""
    if value == RLIM_INFINITY:
        return "(unlimited)" + ("" if last else "   ")
    text = str(value)
    extra = max(11 - len(text), 0)
    return " " * (extra // 2) + text + " " * (extra - extra // 2) + ("" if last else "   ")


def limits_lines(records: Iterable[TaskLimits]) -> Iterable[str]:
    width = max(len(n) for n in RLIMIT_NAMES)

    def block(r: TaskLimits) -> list[str]:
        return ([task_header(r), f"  {'RLIMIT'.rjust(width)}     CURRENT       MAXIMUM  "]
                + [f"  {name.rjust(width)}   {_limit(lim.current, False)}"
                   f"{_limit(lim.maximum, True)}" for name, lim in r.rlimits.items()])
    return separated(block(r) for r in records)


# -- the command ---------------------------------------------------------------------------
class Ps(Command):
    name = "ps"
    arguments = "[pid | task | command] ..."
    summary = "process status"
    group = "linux"
    targets = ("linux",)
    description = """\
Every task, idle tasks of all CPUs included, sorted by PID, in crash's columns:
  PID PPID CPU TASK  ST (crash's states: RU IN UN ID ST TR ZO DE PA NE WA)
  %MEM VSZ RSS (KiB, RSS with the per-thread counters of SPLIT_RSS_COUNTING)
  COMM  (kernel threads in brackets)
`>` marks the task that was running on a CPU.  Arguments select tasks by
PID, task address or command name.  A task whose memory descriptor cannot be
read shows ? for %MEM, VSZ and RSS, with a WARNING line saying why (crash
shows 0, as for a kernel thread).  -I is later crash's (8.0.6 lacks it).
"""
    example = "ps\nps 1\nps -S"
    options = (Option("-k", "kernel", "kernel threads only"),
               Option("-u", "user", "user tasks only"),
               Option("-G", "leaders", "thread group leaders only"),
               Option("-I", "no_idle", "no idle tasks"),
               Option("-A", "active_only", "only the tasks active on a CPU"),
               Option("-y", "policy", "only tasks of these scheduling policies: comma-separated "
                      "numbers or names (NORMAL FIFO RR BATCH ISO IDLE DEADLINE)",
                      takes_value=True, metavar="policy"),
               Option("-s", "kstack", "KSTACKP (the kernel stack pointer saved at the task's "
                      "last switch) instead of TASK; -- for the tasks that were running"),
               Option("-S", "summary", "a count of tasks per state, in the order states first "
                      "appear (as crash)"),
               Option("-a", "args", "arguments and environment read from each task's user "
                      "memory"),
               Option("-p", "parents", "the chain of parents of each task"),
               Option("-c", "children", "the children of each task"),
               Option("-g", "group", "the threads of each thread group"),
               Option("-t", "times", "run time, start time, user and system time"),
               Option("-l", "last", "last-run timestamps (sched_info.last_arrival), newest "
                      "first; says so when the kernel keeps none"),
               Option("-m", "since", "how long before the crash each task last ran (its run "
                      "queue's clock minus its last_arrival), newest first"),
               Option("-C", "cpus", "with -l or -m: a block per CPU (1,3,5-7, all or a)",
                      takes_value=True, metavar="cpus"),
               Option("-r", "rlimits", "resource limits (current and maximum of each RLIMIT_*)"),
               Option("-H", "no_header", "no header line"))
    # as crash: -k/-u, and the views (with -A) one at a time
    exclusive = (("kernel", "user"),
                 ("summary", "args", "parents", "children", "group", "times", "last", "since",
                  "rlimits", "active_only"))

    def run(self, ctx: Context, args: list[str]) -> Records:
        opts, rest = self.parse(args)
        target = linux_target(ctx)
        cpus = None
        if opts["cpus"] is not None:
            if not (opts["last"] or opts["since"]):
                raise CommandError("ps: -C option is only applicable with -l and -m")
            if rest:
                raise CommandError("ps: -C option is not applicable with specified tasks")
            cpus = parse_cpu_list(opts["cpus"], "ps", list(range(target.nr_cpu_ids)))
        entries = self._selected(opts, rest, taskinfo.task_entries(target))
        if opts["summary"]:
            counts = Counter(e.state for e in entries)   # in order of first appearance
            return Records([StateCount(s, n) for s, n in counts.items()], state_lines)
        if opts["last"] or opts["since"]:
            if not taskinfo.has_sched_info(target):
                raise CommandError("last-run timestamps do not exist in this kernel")
            return Records(taskinfo.last_runs(target, entries),
                           partial(last_run_lines, since=opts["since"], cpus=cpus,
                                   online=set(target.online_cpus), pad_days=bool(rest)))
        if opts["args"]:
            return Records((taskinfo.arguments(target, e) for e in entries), arguments_lines)
        if opts["parents"]:
            return Records((taskinfo.ancestry(target, e) for e in entries), ancestry_lines)
        if opts["children"]:
            kids = taskinfo.children_by_parent(target, taskinfo.task_entries(target))
            return Records((TaskFamily(**_ref(e), related=list(kids.get(e.task, [])))
                            for e in entries), partial(family_lines, empty="(no children)"))
        if opts["group"]:
            return Records(_groups(target, entries), partial(family_lines, empty="(no threads)"))
        if opts["times"]:
            up = taskinfo.uptime_ns(target)
            return Records((taskinfo.times(target, e, up) for e in entries), times_lines)
        if opts["rlimits"]:
            return Records((taskinfo.limits(target, e) for e in entries), limits_lines)
        if opts["kstack"]:
            for e in entries:
                e.kstackp = taskinfo.saved_stack_pointer(target, e)
        return Records(entries, partial(table_lines, kstack=opts["kstack"],
                                        header=not opts["no_header"]),
                       columns=KSTACK_COLUMNS if opts["kstack"] else COLUMNS,
                       mark=lambda e: "active" if e.active else None)

    def teach(self, ctx: Context, args: list[str]) -> Teaching:
        opts, rest = self.parse(args)
        teaching = teach.tasks_teaching(linux_target(ctx))
        plain = {"kernel", "user", "leaders", "no_idle", "active_only"}
        if any(value not in (None, False) for dest, value in opts.items() if dest not in plain):
            teaching.sentences.append("(The program below prints the task table; the other "
                                      "views of ps have none yet.)")
            return Teaching(teaching.sentences)
        tests = {"kernel": "e.kernel_thread", "user": "not e.kernel_thread",
                 "leaders": "e.pid == e.tgid", "no_idle": "e.pid != 0",
                 "active_only": "e.active"}
        body = teaching.body
        for dest, test in tests.items():
            if opts[dest]:
                body.append(f"records = [e for e in records if {test}]  # {self._flag(dest)}")
        if rest:
            pids = sorted({int(a) for a in rest if a.isdigit()})
            comms = sorted({a for a in rest if not a.isdigit()})
            body.append(f"records = [e for e in records if e.pid in {set(pids) or '()'!s} "
                        f"or e.comm in {set(comms) or '()'!s} or f'{{e.task:x}}' in "
                        f"{set(comms) or '()'!s}]")
        body += ['print("' + HEADER + '")',
                 "for e in records:",
                 '    comm = f"[{e.comm}]" if e.kernel_thread else e.comm  # kernel threads '
                 'in brackets',
                 "    print(f\"{'>' if e.active else ' '}{e.pid:8d} {e.ppid:7d} {e.cpu:3d}  "
                 "{e.task:16x}  \"",
                 '          f"{e.state:<2} {e.mem_percent:5.1f} {e.vsz:8d} {e.rss:8d}  {comm}")']
        return teaching

    def _flag(self, dest: str) -> str:
        return next(o.flag for o in self.options if o.dest == dest)

    def _selected(self, opts: dict[str, Any], rest: list[str],
                  entries: list[TaskEntry]) -> list[TaskEntry]:
        keep = {"kernel": lambda e: e.kernel_thread, "user": lambda e: not e.kernel_thread,
                "leaders": lambda e: e.pid == e.tgid, "no_idle": lambda e: e.pid != 0,
                "active_only": lambda e: e.active}
        for dest, test in keep.items():
            if opts[dest]:
                entries = [e for e in entries if test(e)]
        if opts["policy"]:
            wanted = _policies(opts["policy"])
            entries = [e for e in entries if e.policy in wanted]
        if rest:
            entries = [e for e in entries if any(_selects(e, a) for a in rest)]
            if not entries:
                raise CommandError(f"no task matches {' '.join(rest)}")
        return entries


def _groups(target: LinuxTarget, entries: list[TaskEntry]) -> Iterator[TaskFamily]:
    """Each thread group once, led by its leader, in the order of its first task."""
    seen: set[int] = set()
    for e in entries:
        family = taskinfo.thread_group(target, e)
        if family.task not in seen:
            seen.add(family.task)
            yield family


def _ref(e: TaskEntry) -> dict[str, Any]:
    return {"pid": e.pid, "task": e.task, "cpu": e.cpu, "comm": e.comm}


def _policies(text: str) -> set[int]:
    out = set()
    for word in text.split(","):
        word = word.strip().upper()
        if word.isdigit():
            out.add(int(word))
        elif word in POLICIES:
            out.add(POLICIES[word])
        else:
            raise CommandError(f"ps: invalid scheduling policy: {word} "
                               f"({', '.join(POLICIES)} or their numbers)")
    return out


def _selects(e: TaskEntry, arg: str) -> bool:
    if arg.isdigit() and int(arg) == e.pid:
        return True
    try:
        if int(arg, 16) == e.task:
            return True
    except ValueError:
        pass                # not hex: a command name
    return arg == e.comm


COMMANDS = [Ps]
