"""Tasks: every thread of every process, plus each CPU's idle task (as crash counts them)."""
from __future__ import annotations

from typing import TYPE_CHECKING
from collections.abc import Callable, Iterator

from ...arch import DEFAULT_THREAD_SIZE
from ...caveats import caveat
from ...errors import MemoryError_, XcrashError
from ...objects import CorruptList, Fields, Object, list_for_each, list_for_each_entry
from ..base import cached_per_target

if TYPE_CHECKING:
    from ...symbols.types import Type
    from .kernel import LinuxTarget


class TaskWalkError(XcrashError):
    pass


def threads(target: LinuxTarget, leader: Object) -> Iterator[Object]:
    """The threads of a process, leader first (6.1: signal->thread_head)."""
    task_t = leader.type_
    if task_t.has_member("thread_node"):
        head = leader.signal.thread_head.at_
        yield from list_for_each_entry(target, task_t, head, "thread_node")
    else:   # before 6.1: the thread_group ring through the leader
        yield leader
        yield from list_for_each_entry(target, task_t, leader.thread_group.at_,
                                       "thread_group")


def idle_tasks(target: LinuxTarget) -> list[Object]:
    """Each present CPU's idle task (``runqueues.idle``), an offline CPU's too (crash
    lists it); CPU 0's is init_task."""
    out = []
    for cpu in target.present_cpus:
        try:
            out.append(target.per_cpu("runqueues", cpu).idle.deref_())
        except XcrashError:
            if cpu == 0:
                out.append(target.object("init_task"))
    return out


def for_each_task(target: LinuxTarget, errors: list[str] | None = None) -> Iterator[Object]:
    """Idle tasks first (one per CPU), then every thread of every process.

    A broken list ends that walk with a note in ``errors``; the walk goes on
    with what can still be read.
    """
    task_t = target.type("struct task_struct")
    for addr in task_addresses(target, errors):
        yield target.object_at(task_t, addr)


def task_addresses(target: LinuxTarget, errors: list[str] | None = None) -> Iterator[int]:
    """The addresses of :func:`for_each_task`'s tasks, walked with raw reads."""
    seen: set[int] = set()
    if target.cache.get("option active"):
        # --active: crash tracks the CPUs' active tasks only
        for _cpu, address in sorted(active_tasks(target).items()):
            if address not in seen:
                seen.add(address)
                yield address
        return
    for idle in idle_tasks(target):
        if idle.at_ not in seen:
            seen.add(idle.at_)
            yield idle.at_
    init = target.object("init_task", "struct task_struct")
    task_t = init.type_
    tasks_off = task_t.offsetof("tasks")
    group = _thread_walk(target, task_t)
    try:
        for node in list_for_each(target, init.at_ + tasks_off):
            leader = node - tasks_off
            try:
                for thread in group(leader):
                    if thread not in seen:
                        seen.add(thread)
                        yield thread
            except (CorruptList, MemoryError_) as err:
                if errors is not None:
                    errors.append(f"invalid task list of {leader:x}: {err}")
    except (CorruptList, MemoryError_) as err:
        if errors is not None:
            errors.append(f"task list: {err}")


def _thread_walk(target: LinuxTarget, task_t: Type) -> Callable[[int], Iterator[int]]:
    """The addresses of a process's threads (as :func:`threads`), given its leader's."""
    read = target.space.read_u64
    if task_t.has_member("thread_node"):
        signal_off = task_t.offsetof("signal")
        head_off = target.offsetof("struct signal_struct", "thread_head")
        node_off = task_t.offsetof("thread_node")

        def walk(leader: int) -> Iterator[int]:
            head = (read(leader + signal_off) + head_off) & 0xFFFFFFFFFFFFFFFF
            for node in list_for_each(target, head):
                yield node - node_off
        return walk
    group_off = task_t.offsetof("thread_group")

    def ring(leader: int) -> Iterator[int]:
        yield leader
        for node in list_for_each(target, leader + group_off):
            yield node - group_off
    return ring


PF_KTHREAD = 0x00200000
TASK_IDLE_BITS = 0x2 | 0x400      # TASK_UNINTERRUPTIBLE | TASK_NOLOAD


def task_state_name(task: Object) -> str:
    """crash's two-letter state (RU IN UN ID ZO ST TR DE PA NE WA)."""
    t = task.type_
    state = int(task.member_("__state" if t.has_member("__state") else "state"))
    return state_name(state | int(task.exit_state))


def state_name(state: int) -> str:
    """crash's two-letter name of a task's state ORed with its exit state."""
    if state == 0:
        return "RU"
    if state & 0x1:
        return "IN"
    if state & 0x2:
        return "ID" if state & TASK_IDLE_BITS == TASK_IDLE_BITS else "UN"
    for bit, name in ((0x20, "ZO"), (0x4, "ST"), (0x8, "TR"), (0x10, "DE"), (0x40, "PA"),
                      (0x80, "DE"), (0x800, "NE"), (0x200, "WA"), (0x100, "WA")):
        if state & bit:
            return name
    return "??"


def task_cpu(task: Object) -> int:
    if task.type_.has_member("cpu"):
        return int(task.cpu)
    return int(task.thread_info.cpu)


def is_kernel_thread(task: Object) -> bool:
    return bool(int(task.flags) & PF_KTHREAD)


def active_tasks(target: LinuxTarget, *, as_dumped: bool = False) -> dict[int, int]:
    """CPU → address of the task that was current on it (as ``set -a`` marked it, but
    with ``as_dumped``: the panic task stays the one that panicked)."""
    found = dict(_active_tasks(target))
    if not as_dumped:
        found.update(_marked_active(target))
    return found


def mark_active(target: LinuxTarget, cpu: int, task: int) -> None:
    """crash's ``set -a``: take ``task`` as the one active on ``cpu`` from now on."""
    _marked_active(target)[cpu] = task


@cached_per_target
def _marked_active(target: LinuxTarget) -> dict[int, int]:
    return {}


@cached_per_target
def _active_tasks(target: LinuxTarget) -> dict[int, int]:
    out = {}
    online = set(target.online_cpus)
    for cpu in target.present_cpus:
        if cpu not in online:
            # a CPU never brought up keeps current_task's static &init_task: its
            # runqueue's curr is its idle task (init_idle), as crash lists it
            out[cpu] = int(target.per_cpu("runqueues", cpu).curr)
            continue
        try:
            if target.symbols.get("pcpu_hot") is not None:
                out[cpu] = int(target.per_cpu("pcpu_hot", cpu).current_task)
            else:
                out[cpu] = int(target.object_at(
                    target.pointer_type(target.type("struct task_struct")),
                    target.per_cpu_address(target.address_of("current_task"), cpu)))
        except XcrashError:
            # no per-CPU current_task (or not readable): the scheduler's own record of
            # the CPU's current task, which holds the same
            out[cpu] = int(target.per_cpu("runqueues", cpu).curr)
    return out


def task_memory(target: LinuxTarget, task: Object,
                group_deltas: dict[int, int] | None = None) -> tuple[int, int]:
    """(VSZ in KiB, RSS in KiB) of a task's mm, counted as crash counts them: each of
    the file, anon and shmem counters that is positive (6.2+: a percpu_counter's
    count plus its per-CPU parts), plus on SPLIT_RSS_COUNTING kernels (before 6.2)
    the positive per-thread deltas of every thread of the group.  ``group_deltas``
    keeps each thread group's sum of deltas, so that a listing of every thread sums
    each group once (not once per thread: quadratic)."""
    mm = int(task.mm)
    if not mm:
        return 0, 0
    rss = mm_rss(target)
    total_vm, pages = rss.read(mm)
    if rss.thread_deltas:
        leader = task.group_leader.deref_()
        deltas = None if group_deltas is None else group_deltas.get(leader.at_)
        if deltas is None:
            deltas = thread_rss_deltas(target, leader, rss.counters)
            if group_deltas is not None:
                group_deltas[leader.at_] = deltas
        pages += deltas
    return total_vm * 4, max(pages, 0) * 4


class MmRss:
    """An mm's total_vm and RSS counters, decoded in bulk (:func:`mm_rss`)."""

    def __init__(self, target: LinuxTarget) -> None:
        self.target = target
        self.counters = rss_counters(target)
        mm_t = target.type("struct mm_struct")
        stat = mm_t.member("rss_stat")[1].type.strip_typedefs()
        #: before 6.2: mm_rss_stat's atomic counters, plus each thread's own deltas
        self.split = stat.has_member("count")
        self.thread_deltas = self.split and target.type("struct task_struct").has_member(
            "rss_stat")
        self.cpus: list[int] = []
        if self.split:
            paths = [f"rss_stat.count[{i}].counter" for i in self.counters]
        else:       # 6.2+: percpu_counters, their per-CPU parts summed as crash does
            paths = [f"rss_stat[{i}].count" for i in self.counters]
            if stat.target.has_member("counters"):
                paths += [f"rss_stat[{i}].counters" for i in self.counters]
                self.cpus = _counter_cpu_offsets(target)
        self.fields = Fields(target, mm_t, ("total_vm", *paths))

    def read(self, mm: int) -> tuple[int, int]:
        """(total_vm, resident pages but the per-thread deltas) of the mm at ``mm``."""
        total_vm, *values = self.fields.read(mm)
        n = len(self.counters)
        counts = values[:n]
        if self.cpus:
            read = self.target.space.read
            for i, base in enumerate(values[n:]):
                for off in self.cpus:
                    counts[i] += int.from_bytes(read((base + off) & _MASK, 4), "little",
                                                signed=True)
        return total_vm, sum(c for c in counts if c > 0)


_MASK = 0xFFFFFFFFFFFFFFFF


@cached_per_target
def mm_rss(target: LinuxTarget) -> MmRss:
    return MmRss(target)


def _counter_cpu_offsets(target: LinuxTarget) -> list[int]:
    """The per-CPU offsets of the CPUs whose part of a percpu_counter crash adds: every
    CPU up to the highest present one."""
    offsets = target.per_cpu_offsets
    present = target.cpu_mask("__cpu_present_mask")
    count = max(present) + 1 if present else len(offsets)
    return offsets[:count]


def thread_rss_deltas(target: LinuxTarget, leader: Object, counters: list[int], *,
                      strict: bool = False) -> int:
    """The positive per-thread RSS deltas of a thread group, summed (pages);
    ``strict`` raises what the walk meets instead of saying it."""
    pages = 0
    fields = _rss_delta_fields(target)
    try:
        for thread in threads(target, leader):
            pages += sum(v for v in fields.read(thread.at_) if v > 0)
    except (CorruptList, MemoryError_) as err:
        if strict:
            raise
        caveat(f"thread list of {leader.address_:x} unreadable ({err}): RSS without the "
               "per-thread counters of the threads past that point")
    return pages


@cached_per_target
def _rss_delta_fields(target: LinuxTarget) -> Fields:
    """A thread's own RSS deltas (task_struct.rss_stat.count[...] of rss_counters)."""
    return Fields(target, "struct task_struct",
                  [f"rss_stat.count[{idx}]" for idx in rss_counters(target)])


@cached_per_target
def rss_counters(target: LinuxTarget) -> list[int]:
    """Indexes of MM_FILEPAGES, MM_ANONPAGES and MM_SHMEMPAGES."""
    out = [0, 1, 3]
    try:   # named from 6.2 on; an anonymous enum with the same values before
        btf = getattr(target.symfile, "btf", None)
        if btf is not None:
            # BTF has every type of the kernel: one it lacks is in no DWARF either,
            # and asking DWARF would build its whole name index (13 s on a distro vmlinux)
            t = btf.find("enum mm_counter_type")
        else:
            t = target.type("enum mm_counter_type")
        if t is not None:
            values = dict(t.strip_typedefs().enumerators or ())
            out = [values[n] for n in ("MM_FILEPAGES", "MM_ANONPAGES", "MM_SHMEMPAGES")]
    except (XcrashError, KeyError):
        pass        # no such enum (or not these names): the values every kernel had before
    return out


class NoUserMemory(XcrashError):
    """The task's argv/env could not be read; ``address`` is where they start."""

    def __init__(self, address: int, why: str) -> None:
        super().__init__(why)
        self.address = address


def task_arguments(target: LinuxTarget, task: Object) -> tuple[list[str], list[str]] | None:
    """(argv, environment) from the task's user memory; None for a kernel thread.
    Raises NoUserMemory when the pages are not in the dump."""
    if not int(task.mm):
        return None
    mm = task.mm.deref_()
    start = int(mm.arg_start)
    try:
        space = target.user_space(task.at_)
        argv = space.read(start, int(mm.arg_end) - start)
        env = space.read(int(mm.env_start), int(mm.env_end) - int(mm.env_start))
    except (MemoryError_, XcrashError) as err:
        raise NoUserMemory(start, str(err)) from None
    return _strings(argv), _strings(env)


def _strings(raw: bytes) -> list[str]:
    return [part.decode("utf-8", "replace") for part in raw.rstrip(b"\0").split(b"\0")]


def task_holding(target: LinuxTarget, address: int) -> tuple[int, str] | None:
    """(task, "task_struct" or "stack") when the address is inside a task_struct or
    a task's kernel stack."""
    # x86 sizes task_struct for the CPU's FPU state: arch_task_struct_size, not sizeof
    sym = target.symbols.get("arch_task_struct_size")
    task_size = (target.space.read_u32(sym.address) if sym is not None
                 else target.type("struct task_struct").byte_size)
    stack_size = thread_size(target)
    stack_hit = None
    for task in for_each_task(target):
        base = task.at_
        if base <= address < base + task_size:
            return base, "task_struct"
        try:
            stack = int(task.stack)
        except MemoryError_ as err:
            caveat(f"task {base:x}: its stack pointer unreadable ({err}): its stack not "
                   "searched for the address")
            continue
        if stack and stack <= address < stack + stack_size and stack_hit is None:
            stack_hit = (base, "stack")
    return stack_hit


@cached_per_target
def thread_size(target: LinuxTarget) -> int:
    """THREAD_SIZE: the size of a task's kernel stack (init_task's stack, which the
    linker script sizes to it, or the size of union thread_union)."""
    for start, end in (("__start_init_task", "__end_init_task"),     # before 6.x
                       ("init_stack", "__end_init_stack")):
        a, b = target.symbols.get(start), target.symbols.get(end)
        if a is not None and b is not None and 0 < b.address - a.address <= 1 << 20:
            return int(b.address - a.address)
    try:
        return int(target.type("union thread_union").byte_size)
    except XcrashError:
        caveat(f"THREAD_SIZE unknown (no __start_init_task, no union thread_union): "
               f"{DEFAULT_THREAD_SIZE} assumed")
        return DEFAULT_THREAD_SIZE
