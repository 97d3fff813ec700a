"""sig: a task's signal handlers, blocked and pending signals, as crash shows them."""
from __future__ import annotations

from typing import Any

from .args import per_task_blocks, tasks_or_current
from .base import Command, Context, Option, Result

HEADER = " SIG    SIGACTION        HANDLER       MASK       FLAGS           "
QUEUE_HEADER = "  SIGQUEUE:  SIG      SIGINFO     "


def _handler(value: int) -> str:
    special = {0: "SIG_DFL", 1: "SIG_IGN", (1 << 64) - 1: "SIG_ERR"}
    return special.get(value, f"{value:x}").rjust(10)


def _pending_lines(title: str, pending: Any) -> list[str]:
    lines = [title, f"    SIGNAL: {pending.signals:016x}"]
    if not pending.queue:
        return lines + ["  SIGQUEUE: (empty)"]
    return lines + [QUEUE_HEADER] + [f"             {sig:3d}  {info:x}" for sig, info in pending.queue]


def sig_block(target: Any, task: Any) -> tuple[str, dict[str, Any]]:
    from ..targets.linux.signals import task_signals
    s = task_signals(target, task)
    record = {"task": task.address_, "signal_struct": s.signal_struct,
              "nr_threads": s.nr_threads, "sigpending": s.sigpending, "blocked": s.blocked,
              "actions": [vars(a) for a in s.actions],
              "private_pending": vars(s.private), "shared_pending": vars(s.shared)}
    return "\n".join(sig_lines(task, s)), record


def _group_lines(task: Any, s: Any) -> list[str]:
    """The thread-group half: signal_struct, the 64 actions."""
    from ..targets.linux.signals import flag_names
    from .task import task_header
    lines = [task_header(task), f"SIGNAL_STRUCT: {s.signal_struct:x}  NR_THREADS: {s.nr_threads}",
             HEADER]
    for a in s.actions:
        names = flag_names(a.flags)
        text = (f"{' ' if a.signal < 10 else ''}[{a.signal}] {a.address:<10x} {_handler(a.handler)} "
                f"{a.mask:016x} {a.flags:x} ")
        lines.append(text + (f"({'|'.join(names)})" if names else ""))
    return lines


def _task_lines(s: Any) -> list[str]:
    """The per-thread half: pending flag, blocked set, private queue."""
    return ([f"SIGPENDING: {'yes' if s.sigpending else 'no'}", f"   BLOCKED: {s.blocked:016x}"]
            + _pending_lines("PRIVATE_PENDING", s.private))


def sig_lines(task: Any, s: Any) -> list[str]:
    return _group_lines(task, s) + _task_lines(s) + _pending_lines("SHARED_PENDING", s.shared)


def group_block(target: Any, task: Any) -> tuple[str, dict[str, Any]]:
    """crash's `sig -g`: the thread group's dispositions and shared queue, then each
    thread's own pending state, indented (the leader first)."""
    from ..targets.linux.signals import task_signals
    from ..targets.linux.tasks import for_each_task
    from .task import task_header
    tgid = int(task.tgid)
    threads = [t for t in for_each_task(target) if int(t.tgid) == tgid and int(t.pid) != 0]
    leader = next((t for t in threads if int(t.pid) == tgid), task)
    s = task_signals(target, leader)
    lines = _group_lines(leader, s) + _pending_lines("SHARED_PENDING", s.shared)
    for thread in [leader] + [t for t in threads if t.address_ != leader.address_]:
        ts = task_signals(target, thread)
        lines += [""] + ["  " + line for line in [task_header(thread)] + _task_lines(ts)]
    return "\n".join(lines), {"tgid": tgid, "threads": [t.address_ for t in threads]}


class Sig(Command):
    name = "sig"
    synopsis = "sig [-g] [pid | taskaddr] ..."
    summary = "signal handling of a task"
    group = "linux"
    targets = ("linux",)
    description = """\
The task's signal_struct and thread count, its 64 signal actions (the
k_sigaction, the handler: SIG_DFL, SIG_IGN or the user address, the mask and
the SA_ flags), whether a signal is pending, the blocked set, and the private
and shared pending sets with their queued siginfo.  Without an argument: the
current context task (see `set`).  -g: the whole thread group: its
dispositions and shared queue once, then each thread's pending state.  crash's
-l (signal names) and -s (translate a set) are not implemented yet.
"""
    example = "sig\nsig 1\nsig -g 1"
    options = (Option("-g", "group", "the whole thread group"),)

    def run(self, ctx: Context, args: list[str]) -> Result:
        opts, rest = self.parse(args)
        return per_task_blocks(ctx, tasks_or_current(ctx.target, rest, "sig"), "sig",
                               group_block if opts["group"] else sig_block)


COMMANDS = [Sig]
