"""The per-task detail views of `ps`: -a, -p, -c, -g, -t, -l, -m, -r."""
from __future__ import annotations

from typing import Any

from ..errors import CommandError, XcrashError
from ..targets.linux.tasks import NoUserMemory, task_arguments, task_cpu
from .base import Context, Text
from .bt import header


def _task(ctx: Context, row: dict[str, Any]) -> Any:
    return ctx.target.object_at("struct task_struct", row["task"])


def arguments(ctx: Context, rows: list[dict[str, Any]]) -> Text:
    """crash's ps -a: ARG and ENV read from each task's user memory."""
    blocks, records = [], []
    for row in rows:
        ctx.check()
        task = _task(ctx, row)
        lines = [header(task, row["cpu"])]
        record: dict[str, Any] = {"pid": row["pid"], "task": row["task"]}
        try:
            found = task_arguments(ctx.target, task)
        except NoUserMemory as err:
            lines.append(f"ps: cannot access user stack address: {err.address:x}")
        else:
            if found is None:
                lines.append("ps: no user stack")
            else:
                argv, env = found
                lines.append("ARG: " + "".join(a + " " for a in argv))
                lines.extend(("ENV: " if i == 0 else "     ") + e for i, e in enumerate(env))
                record.update(argv=argv, env=env)
        blocks.append("\n".join(lines))
        records.append(record)
    return Text("\n\n".join(blocks), records)


def parents(ctx: Context, rows: list[dict[str, Any]]) -> Text:
    """crash's ps -p: each task under its chain of ancestors, oldest first."""
    blocks = []
    for row in rows:
        chain = []
        task = _task(ctx, row)
        for _ in range(64):
            chain.append(task)
            parent = task.parent.deref_()
            if parent.address_ == task.address_ or int(task.pid) == 0:
                break
            task = parent
        lines = [" " * depth + header(t, task_cpu(t)) for depth, t in enumerate(reversed(chain))]
        blocks.append("\n".join(lines))
    return Text("\n\n".join(blocks))


def children(ctx: Context, rows: list[dict[str, Any]]) -> Text:
    """crash's ps -c: each task and its children."""
    by_parent: dict[int, list[dict[str, Any]]] = {}
    for row in _all_rows(ctx):
        if row["pid"]:
            parent = int(_task(ctx, row).parent)
            by_parent.setdefault(parent, []).append(row)
    blocks = []
    for row in rows:
        kids = by_parent.get(row["task"], [])
        lines = [header(_task(ctx, row), row["cpu"])]
        lines += ["  " + header(_task(ctx, k), k["cpu"]) for k in kids] or ["  (no children)"]
        blocks.append("\n".join(lines))
    return Text("\n\n".join(blocks))


def group(ctx: Context, rows: list[dict[str, Any]]) -> Text:
    """crash's ps -g: thread group leaders with their threads."""
    from ..targets.linux.tasks import _threads
    blocks = []
    seen: set[int] = set()
    for row in rows:
        leader = _task(ctx, row).group_leader.deref_()
        if leader.address_ in seen:
            continue
        seen.add(leader.address_)
        lines = [header(leader, task_cpu(leader))]
        try:
            lines += ["  " + header(t, task_cpu(t)) for t in _threads(ctx.target, leader)
                      if t.address_ != leader.address_] or ["  (no threads)"]
        except XcrashError as err:
            lines.append(f"  (thread list unreadable: {err})")
        blocks.append("\n".join(lines))
    return Text("\n\n".join(blocks))


def times(ctx: Context, rows: list[dict[str, Any]]) -> Text:
    """crash's ps -t: run time (since the task started), start time, utime, stime."""
    from ..targets.linux import sysinfo
    uptime_ns = (sysinfo.uptime_seconds(ctx.target) or 0) * 10**9
    blocks = []
    for row in rows:
        task = _task(ctx, row)
        start = int(task.start_time)
        run = max(uptime_ns - start, 0) // 10**9
        blocks.append("\n".join([
            header(task, row["cpu"]),
            f"    RUN TIME: {sysinfo.format_uptime(run)}",
            f"  START TIME: {start}",
            f"       UTIME: {int(task.utime)}",
            f"       STIME: {int(task.stime)}"]))
    return Text("\n\n".join(blocks))


def _last_arrivals(ctx: Context, rows: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """(sched_info.last_arrival, row), newest first; an error when the kernel keeps none."""
    task_t = ctx.target.type("struct task_struct")
    info_t = task_t.member("sched_info")[1].type
    if not info_t.has_member("last_arrival"):
        raise CommandError("last-run timestamps do not exist in this kernel")
    return sorted(((int(_task(ctx, r).sched_info.last_arrival), r) for r in rows),
                  key=lambda x: -x[0])


def _by_cpu(ctx: Context, lines: list[tuple[dict[str, Any], str]], cpus: list[int] | None
            ) -> str:
    """The lines as they are, or (``-C``) in a block per CPU headed ``CPU: n``, each
    keeping the newest-first order; a CPU that was not online says [OFFLINE]."""
    if cpus is None:
        return "\n".join(line for _r, line in lines)
    online = set(ctx.target.online_cpus)
    blocks = []
    for cpu in cpus:
        if cpu not in online:
            blocks.append(f"CPU: {cpu} [OFFLINE]")
            continue
        blocks.append("\n".join([f"CPU: {cpu}"] + [line for r, line in lines if r["cpu"] == cpu]))
    return "\n\n".join(blocks)


def last_run(ctx: Context, rows: list[dict[str, Any]], cpus: list[int] | None = None) -> Text:
    """crash's ps -l: sched_info.last_arrival, newest first, right-aligned to the newest;
    with ``cpus`` (-C) a block per CPU."""
    stamped = _last_arrivals(ctx, rows)
    width = len(str(stamped[0][0])) if stamped else 0
    return Text(_by_cpu(ctx, [(r, f"[{ts:>{width}}] [{r['state']}]  "
                                  f"{header(_task(ctx, r), r['cpu'])}") for ts, r in stamped],
                        cpus))


def _duration(ns: int) -> str:
    """crash's "days hh:mm:ss.mmm"."""
    ms = ns // 1_000_000
    secs, ms = divmod(ms, 1000)
    mins, secs = divmod(secs, 60)
    hours, mins = divmod(mins, 60)
    days, hours = divmod(hours, 24)
    return f"{days} {hours:02d}:{mins:02d}:{secs:02d}.{ms:03d}"


def since_run(ctx: Context, rows: list[dict[str, Any]], cpus: list[int] | None = None,
              pad_days: bool = False) -> Text:
    """crash's ps -m: how long before the crash each task last ran: its CPU's run-queue
    clock minus its last_arrival, newest first.  Per CPU (-C) and for named tasks crash
    right-aligns the days to those of the run-queue clock (``pad_days``)."""
    clocks: dict[int, int] = {}
    lines = []
    for ts, r in _last_arrivals(ctx, rows):
        cpu = r["cpu"]
        if cpu not in clocks:
            clocks[cpu] = int(ctx.target.per_cpu("runqueues", cpu).clock)
        text = _duration(max(clocks[cpu] - ts, 0))
        if pad_days or cpus is not None:
            width = len(_duration(clocks[cpu]).split()[0])
            text = " " * (width - len(text.split()[0])) + text
        lines.append((r, f"[{text}] [{r['state']}]  {header(_task(ctx, r), cpu)}"))
    return Text(_by_cpu(ctx, lines, cpus))


RLIMIT_NAMES = ["CPU", "FSIZE", "DATA", "STACK", "CORE", "RSS", "NPROC", "NOFILE", "MEMLOCK",
                "AS", "LOCKS", "SIGPENDING", "MSGQUEUE", "NICE", "RTPRIO", "RTTIME"]
RLIM_INFINITY = (1 << 64) - 1


def _limit(value: int, last: bool) -> str:
    """crash's column: "(unlimited)", or the number centred in its width (the odd
    blank on the right)."""
    if value == RLIM_INFINITY:
        return "(unlimited)" + ("" if last else "   ")
    text = str(value)
    extra = max(11 - len(text), 0)
    return " " * (extra // 2) + text + " " * (extra - extra // 2) + ("" if last else "   ")


def rlimits(ctx: Context, rows: list[dict[str, Any]]) -> Text:
    """crash's ps -r: each task's resource limits (signal_struct.rlim), current and maximum."""
    blocks, records = [], []
    width = max(len(n) for n in RLIMIT_NAMES)
    for row in rows:
        ctx.check()
        task = _task(ctx, row)
        rlim = task.signal.deref_().rlim
        count = rlim.type_.strip_typedefs().length or len(RLIMIT_NAMES)
        lines = [header(task, row["cpu"]),
                 f"  {'RLIMIT'.rjust(width)}     CURRENT       MAXIMUM  "]
        limits = {}
        for i in range(count):
            name = RLIMIT_NAMES[i] if i < len(RLIMIT_NAMES) else "(unknown)"
            cur, high = int(rlim[i].rlim_cur), int(rlim[i].rlim_max)
            limits[name] = {"current": cur, "maximum": high}
            lines.append(f"  {name.rjust(width)}   {_limit(cur, False)}{_limit(high, True)}")
        blocks.append("\n".join(lines) + "\n")
        records.append({"pid": row["pid"], "task": row["task"], "rlimits": limits})
    return Text("\n".join(blocks), records)


def _all_rows(ctx: Context) -> list[dict[str, Any]]:
    from .ps import task_rows
    return task_rows(ctx, [])
