"""ps: the task table, as crash prints it."""
from __future__ import annotations

from collections import Counter
from typing import Any

from ..errors import CommandError, MemoryError_, XcrashError
from . import ps_details
from .args import parse_cpu_list
from .base import Column, Command, Context, Option, Result, Table, Text

HEADER = "      PID    PPID  CPU       TASK        ST  %MEM      VSZ      RSS  COMM"


def _plain(table: Table) -> str:
    kstack = bool(table.rows) and "kstackp" in table.rows[0]
    lines = [HEADER.replace("      TASK       ", "     KSTACKP     ") if kstack else HEADER]
    for row in table.rows:
        if kstack:
            where = f"{row['kstackp']:16x}" if row["kstackp"] is not None else f"{'--':^16}"
        else:
            where = f"{row['task']:16x}"
        lines.append(f"{'>' if row['active'] else ' '}{row['pid']:8d} {row['ppid']:7d} "
                     f"{row['cpu']:3d}  {where}  {row['state']:<2} "
                     f"{row['mem_percent']:5.1f} {row['vsz']:8d} {row['rss']:8d}  "
                     + (f"[{row['comm']}]" if row["kernel_thread"] else row["comm"]))
    lines.extend(table.title.splitlines() if table.title else [])
    return "\n".join(lines)


def task_rows(ctx: Context, errors: list[str]) -> list[dict[str, Any]]:
    from ..targets.linux import sysinfo
    from ..targets.linux.tasks import (active_tasks, for_each_task, is_kernel_thread,
                                       task_cpu, task_memory, task_state_name)
    target = ctx.target
    active = set(active_tasks(target).values())
    total = sysinfo.lowmem_kib(target)
    rows = []
    for task in for_each_task(target, errors):
        ctx.check()
        try:
            vsz, rss = task_memory(target, task)
        except (XcrashError, MemoryError_):
            vsz, rss = 0, 0
        try:
            pid = int(task.pid)
            rows.append({
                # crash shows PPID 0 for the idle tasks, whose parent is init on CPUs > 0
                "pid": pid, "ppid": int(task.parent.pid) if pid else 0,
                "cpu": task_cpu(task), "task": task.address_,
                "state": task_state_name(task),
                "mem_percent": round(rss * 100 / total, 1) if total else 0.0,
                "vsz": vsz, "rss": rss,
                "comm": task.comm.string_().decode("utf-8", "replace"),
                "kernel_thread": is_kernel_thread(task),
                "active": task.address_ in active,
                "tgid": int(task.tgid), "policy": int(task.policy),
            })
        except (XcrashError, MemoryError_) as err:
            errors.append(f"ps: invalid task {task.address_:x}: {err}")
    rows.sort(key=lambda r: (r["pid"], r["cpu"] if r["pid"] == 0 else 0))
    return rows


POLICIES = {"NORMAL": 0, "FIFO": 1, "RR": 2, "BATCH": 3, "ISO": 4, "IDLE": 5, "DEADLINE": 6}


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


class Ps(Command):
    name = "ps"
    synopsis = ("ps [-k|-u|-G|-I|-A|-y policy] [-s] [-S|-a|-p|-c|-g|-t|-[l|m][-C cpus]|-r] "
                "[-H] [pid | task | command] ...")
    summary = "process status"
    group = "linux"
    targets = ("linux",)
    description = """\
Every task, idle tasks of all CPUs included, sorted by PID, in crash's columns:
  PID PPID CPU TASK  ST (crash's states: RU IN UN ID ST TR ZO DE PA NE WA)
  %MEM VSZ RSS (KiB, RSS with the per-thread counters of SPLIT_RSS_COUNTING)
  COMM  (kernel threads in brackets)
`>` marks the task that was running on a CPU.  Arguments select tasks by
PID, task address or command name.
  -k  kernel threads only      -u  user tasks only
  -G  thread group leaders only -A  only the active tasks
  -I  no idle tasks (later crash versions have it; 8.0.6 does not)
  -y policy  only tasks of these scheduling policies (comma-separated numbers
      or names: NORMAL FIFO RR BATCH ISO IDLE DEADLINE)
  -S  a count of tasks per state (in the order states first appear, as crash)
  -a  arguments and environment read from each task's user memory
  -p  the chain of parents      -c  the children      -g  the thread group
  -t  run time, start time, user and system time
  -l  last-run timestamps (sched_info; says so when the kernel has none)
  -m  how long before the crash each task last ran (its CPU's run-queue clock
      minus the task's last_arrival), newest first
  -r  resource limits (current and maximum of each RLIMIT_*)
  -s  KSTACKP (the kernel stack pointer saved at the task's last switch) instead
      of TASK; "--" for the tasks that were running
  -C cpus  with -l or -m: a block per CPU ("1,3,5-7", "all" or "a")
  -H  no header line
"""
    example = "ps\nps lab_crasher\nps -S"
    options = (Option("-k", "kernel", "kernel threads only"),
               Option("-u", "user", "user tasks only"),
               Option("-S", "summary", "state summary"),
               Option("-a", "args", "command-line arguments and environment from user memory"),
               Option("-p", "parents", "the chain of parents of each task"),
               Option("-c", "children", "the children of each task"),
               Option("-g", "group", "the threads of each thread group"),
               Option("-t", "times", "run time, start time, user and system time"),
               Option("-l", "last", "last-run timestamps"),
               Option("-r", "rlimits", "resource limits"),
               Option("-m", "since", "time since each task last ran"),
               Option("-G", "leaders", "thread group leaders only"),
               Option("-I", "no_idle", "no idle tasks"),
               Option("-A", "active_only", "only the tasks active on a CPU"),
               Option("-y", "policy", "only tasks of these scheduling policies", takes_value=True),
               Option("-s", "kstack", "the saved kernel stack pointer instead of the task"),
               Option("-C", "cpus", "with -l or -m: a block per CPU (1,3,5-7 or all)",
                      takes_value=True),
               Option("-H", "no_header", "no header line"))

    def run(self, ctx: Context, args: list[str]) -> Result:
        opts, rest = self.parse(args)
        cpus = None
        if opts["cpus"] is not None:
            if not (opts["last"] or opts["since"]):
                raise CommandError("ps: -C option is only applicable with -l and -m")
            if rest:
                raise CommandError("ps: -C option is not applicable with specified tasks")
            cpus = parse_cpu_list(opts["cpus"], "ps", list(range(ctx.target.nr_cpu_ids)))
        errors: list[str] = []
        rows = task_rows(ctx, errors)
        if opts["kernel"]:
            rows = [r for r in rows if r["kernel_thread"]]
        if opts["user"]:
            rows = [r for r in rows if not r["kernel_thread"]]
        if opts["leaders"]:
            rows = [r for r in rows if r["pid"] == r["tgid"]]
        if opts["no_idle"]:
            rows = [r for r in rows if r["pid"] != 0]
        if opts["active_only"]:
            rows = [r for r in rows if r["active"]]
        if opts["policy"]:
            wanted = _policies(opts["policy"])
            rows = [r for r in rows if r["policy"] in wanted]
        if rest:
            rows = [r for r in rows if any(self._selects(r, a) for a in rest)]
            if not rows:
                raise CommandError(f"no task matches {' '.join(rest)}")
        if opts["summary"]:
            # crash counts over its task table: states in order of first appearance
            counts = Counter(r["state"] for r in rows)
            order = list(counts)
            return Text("\n".join(f"  {state}: {counts[state]}" for state in order),
                        [{"state": st, "count": counts[st]} for st in order])
        if opts["last"]:
            return ps_details.last_run(ctx, rows, cpus)
        if opts["since"]:
            return ps_details.since_run(ctx, rows, cpus, pad_days=bool(rest))
        for flag, detail in (("args", ps_details.arguments), ("parents", ps_details.parents),
                             ("children", ps_details.children), ("group", ps_details.group),
                             ("times", ps_details.times), ("rlimits", ps_details.rlimits)):
            if opts[flag]:
                return detail(ctx, rows)
        if opts["kstack"]:
            target = ctx.target
            for r in rows:
                # a task that was running has no saved stack pointer: crash shows "--"
                r["kstackp"] = None if r["active"] else int(
                    target.object_at("struct task_struct", r["task"]).thread.sp)
        columns = [Column("PID", "pid", "right"), Column("PPID", "ppid", "right"),
                   Column("CPU", "cpu", "right"),
                   Column("KSTACKP", "kstackp", fmt=lambda v: "--" if v is None else f"{v:x}")
                   if opts["kstack"] else Column("TASK", "task", fmt=lambda v: f"{v:x}"),
                   Column("ST", "state"), Column("%MEM", "mem_percent", "right"),
                   Column("VSZ", "vsz", "right"), Column("RSS", "rss", "right"),
                   Column("COMM", "comm")]
        marks = {i: "active" for i, r in enumerate(rows) if r["active"]}
        table = Table(columns, rows, plain=_plain, marks=marks,
                      title="\n".join(errors) if errors else None)
        if opts["no_header"]:
            return Text("\n".join(_plain(table).splitlines()[1:]), rows)
        return table

    @staticmethod
    def _selects(row: dict[str, Any], arg: str) -> bool:
        if arg.isdigit() and int(arg) == row["pid"]:
            return True
        try:
            if int(arg, 16) == row["task"]:
                return True
        except ValueError:
            pass
        return arg == row["comm"]


COMMANDS = [Ps]
