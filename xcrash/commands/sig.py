"""sig: a task's signal handlers, blocked and pending signals, as crash shows them."""
from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..errors import CommandError
from ..layouts import separated
from ..layouts.tasks import NamedTask, task_header
from ..results import Records
from ..targets.linux.signals import (GroupDispositions, GroupSignals, Pending, SignalName,
                                     TaskSignals, ThreadState, every_signal, flag_names,
                                     group_signals, sigset_signals, task_signals)
from .args import linux_target, per_task_records, tasks_or_current
from .base import Command, Context, Option

HEADER = " SIG    SIGACTION        HANDLER       MASK       FLAGS           "
QUEUE_HEADER = "  SIGQUEUE:  SIG      SIGINFO     "
SPECIAL_HANDLERS = {0: "SIG_DFL", 1: "SIG_IGN", (1 << 64) - 1: "SIG_ERR"}


def _handler(value: int) -> str:
    return SPECIAL_HANDLERS.get(value, f"{value:x}").rjust(10)


def _pending_lines(title: str, pending: Pending) -> list[str]:
    lines = [title, f"    SIGNAL: {pending.signals:016x}"]
    if not pending.queue:
        return lines + ["  SIGQUEUE: (empty)"]
    return lines + [QUEUE_HEADER] + [f"             {q.signal:3d}  {q.siginfo:x}"
                                     for q in pending.queue]


def _group_lines(task: NamedTask, s: GroupDispositions) -> list[str]:
    """The thread-group half: signal_struct, the 64 actions."""
    lines = [task_header(task), f"SIGNAL_STRUCT: {s.signal_struct:x}  NR_THREADS: {s.nr_threads}",
             HEADER]
    for a in s.actions:
        names = flag_names(a.flags)
        text = (f"{' ' if a.signal < 10 else ''}[{a.signal}] {a.address:<10x} {_handler(a.handler)} "
                f"{a.mask:016x} {a.flags:x} ")
        lines.append(text + (f"({'|'.join(names)})" if names else ""))
    return lines


def _thread_lines(s: ThreadState) -> list[str]:
    """The per-thread half: pending flag, blocked set, private queue."""
    return ([f"SIGPENDING: {'yes' if s.sigpending else 'no'}", f"   BLOCKED: {s.blocked:016x}"]
            + _pending_lines("PRIVATE_PENDING", s.private_pending))


def sig_lines(records: Iterable[TaskSignals]) -> Iterator[str]:
    return separated(_group_lines(s, s) + _thread_lines(s)
                     + _pending_lines("SHARED_PENDING", s.shared_pending) for s in records)


def group_lines(records: Iterable[GroupSignals]) -> Iterator[str]:
    """crash's `sig -g`: the thread group's dispositions and shared queue, then each
    thread's own pending state, indented (the leader first)."""
    def block(g: GroupSignals) -> Iterator[str]:
        yield from _group_lines(g, g)
        yield from _pending_lines("SHARED_PENDING", g.shared_pending)
        for t in g.threads:
            yield ""
            yield from ("  " + line for line in [task_header(t)] + _thread_lines(t))
    return separated(block(g) for g in records)


def signal_list_lines(signals: Iterable[SignalName]) -> Iterator[str]:
    """crash's `sig -l`: every signal number with its names."""
    for s in signals:
        yield f"{'[' + str(s.number) + ']':>4} {'/'.join(s.names)}"


def sigset_lines(signals: Iterable[SignalName], width: int = 80) -> Iterator[str]:
    """crash's `sig -s`: the names in a set, filled into lines of at most `width`."""
    line = ""
    for s in signals:
        name = s.names[0]
        if line and len(line) + 1 + len(name) <= width:
            line += " " + name
        else:
            if line:
                yield line
            line = name
    yield line or "(none)"


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
    arguments = "[pid | taskaddr] ..."
    summary = "signal handling of a task"
    group = "linux"
    targets = ("linux",)
    description = """\
For each task (the current context task by default, see `set`): its
signal_struct and thread count, its 64 signal actions (the k_sigaction, the
handler: SIG_DFL, SIG_IGN or the user address, the mask and the SA_ flags),
whether a signal is pending, the blocked set, and the private and shared pending
sets with their queued siginfo.  Signal sets are 64-bit hexadecimal numbers
(bit n-1 = signal n).
"""
    example = "sig\nsig 1\nsig -g 1\nsig -l\nsig -s 14002"
    options = (Option("-g", "group", "the whole thread group: its dispositions and shared "
                      "queue once, then each thread's pending state"),
               Option("-l", "list", "the signal numbers and their names"),
               Option("-s", "sigset", "the names of the signals in a hexadecimal set (a "
                      "BLOCKED or SIGNAL value)", takes_value=True, metavar="sigset"))

    def run(self, ctx: Context, args: list[str]) -> Records:
        opts, rest = self.parse(args)
        if opts["list"]:
            return Records(every_signal(), signal_list_lines)
        if opts["sigset"] is not None:
            return Records(sigset_signals(_parse_sigset(opts["sigset"])), sigset_lines)
        target = linux_target(ctx)
        tasks = tasks_or_current(target, rest, "sig")
        if opts["group"]:
            return Records(per_task_records(ctx, tasks, "sig", group_signals), group_lines)
        return Records(per_task_records(ctx, tasks, "sig", task_signals), sig_lines)


COMMANDS = [Sig]
