"""sig: a task's signal handlers, blocked and pending signals, as crash shows them."""
from __future__ import annotations

from typing import Any

from .args import per_task_blocks, tasks_or_current
from ..errors import CommandError
from .base import Command, Context, Option, Result, Text

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


def signal_list_lines() -> list[str]:
    """crash's `sig -l`: every signal number with its names."""
    from ..targets.linux.signals import NSIG, signal_names
    return [f"{'[' + str(n) + ']':>4} {'/'.join(signal_names(n))}" for n in range(1, NSIG + 1)]


def sigset_lines(sigset: int, width: int = 80) -> list[str]:
    """crash's `sig -s`: the names in a set, filled into lines of at most `width`."""
    from ..targets.linux.signals import sigset_names
    lines: list[str] = []
    for name in sigset_names(sigset):
        if lines and len(lines[-1]) + 1 + len(name) <= width:
            lines[-1] += " " + name
        else:
            lines.append(name)
    return lines or ["(none)"]


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


def _parse_sigset(text: str) -> int:
    try:
        value = int(text, 16)
    except ValueError:
        raise CommandError(f"sig: invalid signal set: {text} (a hexadecimal number, "
                           "e.g. sig -s 14002)") from None
    if not 0 <= value < 1 << 64:
        raise CommandError(f"sig: invalid signal set: {text} (64 bits at most)")
    return value


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
dispositions and shared queue once, then each thread's pending state.
-l lists the signal numbers and names; -s SIGSET names the signals of a
hexadecimal set such as a BLOCKED or SIGNAL value above (bit n-1 = signal n).
"""
    example = "sig\nsig 1\nsig -g 1\nsig -l\nsig -s 14002"
    options = (Option("-g", "group", "the whole thread group"),
               Option("-l", "list", "the signal numbers and names"),
               Option("-s", "sigset", "the names of the signals in a hex set", takes_value=True))

    def run(self, ctx: Context, args: list[str]) -> Result:
        opts, rest = self.parse(args)
        if opts["list"]:
            return Text("\n".join(signal_list_lines()))
        if opts["sigset"] is not None:
            return Text("\n".join(sigset_lines(_parse_sigset(opts["sigset"]))))
        return per_task_blocks(ctx, tasks_or_current(ctx.target, rest, "sig"), "sig",
                               group_block if opts["group"] else sig_block)


COMMANDS = [Sig]
