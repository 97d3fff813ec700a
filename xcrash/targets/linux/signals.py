"""Signal dispositions, blocked and pending signals of a task (the numbers behind `sig`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...objects import list_for_each

NSIG = 64
TIF_SIGPENDING = 2          # x86
SA_FLAG_NAMES = [           # crash's order
    (0x00000001, "SA_NOCLDSTOP"), (0x04000000, "SA_RESTORER"), (0x00000002, "SA_NOCLDWAIT"),
    (0x00000004, "SA_SIGINFO"), (0x08000000, "SA_ONSTACK"), (0x10000000, "SA_RESTART"),
    (0x40000000, "SA_NODEFER"), (0x80000000, "SA_RESETHAND"),
]


@dataclass
class SigAction:
    signal: int
    address: int            # struct k_sigaction
    handler: int            # 0 SIG_DFL, 1 SIG_IGN, else the user address
    mask: int
    flags: int


@dataclass
class Pending:
    signals: int            # the pending set (bit n-1 = signal n)
    queue: list[tuple[int, int]]    # (signal number, address of its siginfo)


@dataclass
class TaskSignals:
    signal_struct: int
    nr_threads: int
    actions: list[SigAction]
    sigpending: bool
    blocked: int
    private: Pending
    shared: Pending


#: the classic signals and their other names (1..31, x86 numbering)
CLASSIC_SIGNALS = (
    ("SIGHUP",), ("SIGINT",), ("SIGQUIT",), ("SIGILL",), ("SIGTRAP",), ("SIGABRT", "SIGIOT"),
    ("SIGBUS",), ("SIGFPE",), ("SIGKILL",), ("SIGUSR1",), ("SIGSEGV",), ("SIGUSR2",), ("SIGPIPE",),
    ("SIGALRM",), ("SIGTERM",), ("SIGSTKFLT",), ("SIGCHLD", "SIGCLD"), ("SIGCONT",), ("SIGSTOP",),
    ("SIGTSTP",), ("SIGTTIN",), ("SIGTTOU",), ("SIGURG",), ("SIGXCPU",), ("SIGXFSZ",),
    ("SIGVTALRM",), ("SIGPROF",), ("SIGWINCH",), ("SIGIO", "SIGPOLL"), ("SIGPWR",),
    ("SIGSYS", "SIGUNUSED"),
)
SIGRTMIN = 32
SIGRTMAX = NSIG
#: real-time signals up to here count up from SIGRTMIN, above it down from SIGRTMAX
_RT_SPLIT = SIGRTMIN + (SIGRTMAX - SIGRTMIN) // 2


def signal_names(number: int) -> tuple[str, ...]:
    """The name of signal `number` (1..64) and its aliases; real-time signals are
    named as glibc's <signal.h> counts them: SIGRTMIN+n up to the middle, SIGRTMAX-n above."""
    if not 1 <= number <= SIGRTMAX:
        raise ValueError(f"no signal {number}")
    if number < SIGRTMIN:
        return CLASSIC_SIGNALS[number - 1]
    if number in (SIGRTMIN, SIGRTMAX):
        return ("SIGRTMIN" if number == SIGRTMIN else "SIGRTMAX",)
    if number <= _RT_SPLIT:
        return (f"SIGRTMIN+{number - SIGRTMIN}",)
    return (f"SIGRTMAX-{SIGRTMAX - number}",)


def sigset_names(sigset: int) -> list[str]:
    """The signals in a 64-bit set (bit n-1 = signal n), lowest first."""
    return [signal_names(n)[0] for n in range(1, NSIG + 1) if sigset >> (n - 1) & 1]


def flag_names(flags: int) -> list[str]:
    return [name for bit, name in SA_FLAG_NAMES if flags & bit]


def _pending(target: Any, pending: Any) -> Pending:
    sq_t = target.type("struct sigqueue")
    list_off = sq_t.member("list")[0] // 8
    info_off = sq_t.member("info")[0] // 8
    queue = []
    for link in list_for_each(target, pending.list.address_, 4096):
        sq = link - list_off
        # si_signo is the first member of every siginfo layout
        queue.append((target.space.read_u32(sq + info_off), sq + info_off))
    return Pending(int(pending.signal.sig[0]), queue)


def task_signals(target: Any, task: Any) -> TaskSignals:
    signal = task.signal.deref_()
    sighand = task.sighand.deref_()
    ksa_t = target.type("struct k_sigaction")
    actions = []
    base = sighand.action.address_
    for i in range(NSIG):
        ka = target.object_at(ksa_t, base + i * ksa_t.byte_size)
        sa = ka.sa
        actions.append(SigAction(i + 1, ka.address_, int(sa.sa_handler), int(sa.sa_mask.sig[0]),
                                 int(sa.sa_flags)))
    ti_flags = int(task.thread_info.flags) if task.type_.has_member("thread_info") else 0
    return TaskSignals(signal_struct=int(task.signal), nr_threads=int(signal.nr_threads),
                       actions=actions, sigpending=bool(ti_flags >> TIF_SIGPENDING & 1),
                       blocked=int(task.blocked.sig[0]), private=_pending(target, task.pending),
                       shared=_pending(target, signal.shared_pending))
