"""Signal dispositions, blocked and pending signals of tasks (the records behind `sig`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ...objects import Object, list_for_each
from .taskinfo import TaskRef, task_ref
from .tasks import for_each_task

if TYPE_CHECKING:
    from .kernel import LinuxTarget

NSIG = 64
TIF_SIGPENDING = 2          # x86
SA_FLAG_NAMES = [           # crash's order
    (0x00000001, "SA_NOCLDSTOP"), (0x04000000, "SA_RESTORER"), (0x00000002, "SA_NOCLDWAIT"),
    (0x00000004, "SA_SIGINFO"), (0x08000000, "SA_ONSTACK"), (0x10000000, "SA_RESTART"),
    (0x40000000, "SA_NODEFER"), (0x80000000, "SA_RESETHAND"),
]
QUEUE_LIMIT = 4096          # queued signals per set: more is a loop in a damaged dump


@dataclass
class SigAction:
    signal: int
    address: int            # struct k_sigaction
    handler: int            # 0 SIG_DFL, 1 SIG_IGN, else the user address
    mask: int
    flags: int


@dataclass
class QueuedSignal:
    signal: int
    siginfo: int            # address of its kernel_siginfo


@dataclass
class Pending:
    signals: int            # the pending set (bit n-1 = signal n)
    queue: list[QueuedSignal]


@dataclass
class ThreadState:
    """A thread's own part: whether a signal is pending, its blocked set and its
    private queue."""
    sigpending: bool = False
    blocked: int = 0
    private_pending: Pending = field(default_factory=lambda: Pending(0, []))


@dataclass
class GroupDispositions:
    """The thread group's part: its signal_struct, the 64 actions of its sighand and
    the shared queue."""
    signal_struct: int = 0
    nr_threads: int = 0
    actions: list[SigAction] = field(default_factory=list)
    shared_pending: Pending = field(default_factory=lambda: Pending(0, []))


@dataclass
class ThreadSignals(ThreadState, TaskRef):
    """A thread of `sig -g`."""


@dataclass
class TaskSignals(GroupDispositions, ThreadState, TaskRef):
    """`sig`: a task, with its thread group's dispositions."""


@dataclass
class GroupSignals(GroupDispositions, TaskRef):
    """`sig -g`: a thread group (the record names its leader), then each thread's part,
    the leader first."""
    tgid: int = 0
    threads: list[ThreadSignals] = field(default_factory=list)


@dataclass
class SignalName:
    """A signal number and its names (`sig -l`, `sig -s`)."""
    number: int
    names: tuple[str, ...]


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


def every_signal() -> list[SignalName]:
    return [SignalName(n, signal_names(n)) for n in range(1, NSIG + 1)]


def sigset_signals(sigset: int) -> list[SignalName]:
    """The signals in a 64-bit set (bit n-1 = signal n), lowest first."""
    return [s for s in every_signal() if sigset >> (s.number - 1) & 1]


def flag_names(flags: int) -> list[str]:
    return [name for bit, name in SA_FLAG_NAMES if flags & bit]


def _pending(target: LinuxTarget, pending: Object) -> Pending:
    info_off = target.offsetof("struct sigqueue", "info")
    link_to_info = info_off - target.offsetof("struct sigqueue", "list")
    queue = []
    for link in list_for_each(target, int(pending.list.address_of_()), QUEUE_LIMIT):
        # si_signo is the first member of every siginfo layout
        info = link + link_to_info
        queue.append(QueuedSignal(target.space.read_u32(info), info))
    return Pending(int(pending.signal.sig[0]), queue)


def _thread_flags(target: LinuxTarget, task: Object) -> int:
    """thread_info.flags: in the task (CONFIG_THREAD_INFO_IN_TASK) or at the base of
    its kernel stack (before)."""
    if task.type_.has_member("thread_info"):
        return int(task.thread_info.flags)
    return int(target.object_at("struct thread_info", int(task.stack)).flags)


def _thread(target: LinuxTarget, task: Object) -> ThreadState:
    return ThreadState(sigpending=bool(_thread_flags(target, task) >> TIF_SIGPENDING & 1),
                       blocked=int(task.blocked.sig[0]),
                       private_pending=_pending(target, task.pending))


def _group(target: LinuxTarget, task: Object) -> GroupDispositions:
    signal = task.signal.deref_()
    ksa_t = target.type("struct k_sigaction")
    base = int(task.sighand.deref_().action.address_of_())
    actions = []
    for i in range(NSIG):
        address = base + i * ksa_t.byte_size
        sa = target.object_at(ksa_t, address).sa
        actions.append(SigAction(i + 1, address, int(sa.sa_handler), int(sa.sa_mask.sig[0]),
                                 int(sa.sa_flags)))
    return GroupDispositions(int(task.signal), int(signal.nr_threads), actions,
                             _pending(target, signal.shared_pending))


def task_signals(target: LinuxTarget, task: Object) -> TaskSignals:
    return TaskSignals(**vars(task_ref(task)), **vars(_thread(target, task)),
                       **vars(_group(target, task)))


def thread_signals(target: LinuxTarget, task: Object) -> ThreadSignals:
    return ThreadSignals(**vars(task_ref(task)), **vars(_thread(target, task)))


def group_signals(target: LinuxTarget, task: Object) -> GroupSignals:
    """The thread group of ``task``: its leader's dispositions and shared queue, then
    each thread's part (the leader first, the others in task-list order)."""
    tgid = int(task.tgid)
    threads = [t for t in for_each_task(target) if int(t.tgid) == tgid and int(t.pid) != 0]
    leader = next((t for t in threads if int(t.pid) == tgid), task)
    others = [t for t in threads if t.address_ != leader.address_]
    return GroupSignals(**vars(task_ref(leader)), **vars(_group(target, leader)), tgid=tgid,
                        threads=[thread_signals(target, t) for t in [leader] + others])
