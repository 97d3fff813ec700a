"""Timer wheel timers per CPU (the numbers behind `timer`).

Since 4.8 each CPU has ``timer_bases[NR_BASES]`` (BASE_STD, and BASE_DEF for
deferrable timers when CONFIG_NO_HZ_COMMON, which ``sysctl_timer_migration``
betrays); each base has ``vectors[]`` of hlist heads chaining ``timer_list``
entries.  Timers are listed by expiry, with their time to expire (TTE) in
jiffies from the dump's ``jiffies``.
"""
from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ...caveats import caveat
from ...errors import MemoryError_
from .rbtree import rb_inorder
from .sysinfo import hz

if TYPE_CHECKING:
    from .kernel import LinuxTarget

CHAIN_LIMIT = 100_000


@dataclass
class Timer:
    address: int          # struct timer_list
    expires: int
    tte: int              # expires - jiffies (signed)
    function: int
    symbol: str | None    # the function's symbol+offset


@dataclass
class TimerBase:
    """A block of `timer`: one timer base of a CPU and its pending timers by expiry."""
    cpu: int
    base: str             # BASE_STD / BASE_DEF
    address: int
    timers: list[Timer]


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def jiffies(target: LinuxTarget) -> int:
    return int(target.space.read_u64(target.address_of("jiffies")))


def _chain(target: LinuxTarget, first: int, now: int, where: str) -> Iterator[Timer]:
    """The timers of one wheel vector's hlist."""
    entry_off = target.offsetof("struct timer_list", "entry")
    expires_off = target.offsetof("struct timer_list", "expires")
    function_off = target.offsetof("struct timer_list", "function")
    node = first
    seen = 0
    while node:
        seen += 1
        if seen > CHAIN_LIMIT:
            caveat(f"{where}: more than {CHAIN_LIMIT} timers, a loop: the rest left out")
            return
        timer = node - entry_off
        try:
            expires = target.space.read_u64(timer + expires_off)
            function = target.space.read_u64(timer + function_off)
            node = target.space.read_u64(node)
        except MemoryError_ as err:
            caveat(f"{where}: timer_list {timer:x} unreadable ({err}): it and the timers "
                   "after it in its list left out")
            return
        yield Timer(timer, expires, _signed(expires - now), function,
                    target.symbol_offset(function))


def timer_bases(target: LinuxTarget, now: int, cpus: set[int] | None = None) -> Iterator[TimerBase]:
    """Every CPU's timer bases (or those of ``cpus``) with their timers sorted by
    expiry, TTE counted from ``now`` (:func:`jiffies`)."""
    base_t = target.type("struct timer_base")
    vec_off, vec_m = base_t.member("vectors")
    nvectors = vec_m.type.strip_typedefs().length or 0
    nr_bases = 2 if target.symbols.get("sysctl_timer_migration") is not None else 1
    per_cpu = target.address_of("timer_bases")
    for cpu in range(max(len(target.per_cpu_offsets), 1)):
        if cpus is not None and cpu not in cpus:
            continue
        base_addr = target.per_cpu_address(per_cpu, cpu)
        for b in range(nr_bases):
            name = "BASE_STD" if b == 0 else "BASE_DEF"
            address = base_addr + b * base_t.byte_size
            raw = target.space.read(address + vec_off // 8, 8 * nvectors)
            timers: list[Timer] = []
            for v in range(nvectors):
                first = int.from_bytes(raw[8 * v:8 * v + 8], "little")
                timers += _chain(target, first, now, f"TIMER_BASES[{cpu}][{name}] vector {v}")
            timers.sort(key=lambda t: t.expires)
            yield TimerBase(cpu, name, address, timers)


@dataclass
class HrTimer:
    address: int          # struct hrtimer
    softexpires: int      # ns
    expires: int          # ns
    function: int
    symbol: str | None    # the function's symbol+offset


@dataclass
class HrClockBase:
    index: int
    address: int          # struct hrtimer_clock_base
    get_time: int         # the clock's read function (ktime_get, ktime_get_real, ...); 0: none
    get_time_symbol: str | None
    now: int              # the dump's time on this clock, as crash computes it (ns)
    timers: list[HrTimer]


@dataclass
class HrCpuBase:
    """A block of `timer -r`: a CPU's hrtimer clock bases."""
    cpu: int
    address: int          # struct hrtimer_cpu_base
    clocks: list[HrClockBase]


def _s64(raw: bytes) -> int:
    return int.from_bytes(raw, "little", signed=True)


def hrtimer_bases(target: LinuxTarget, cpus: set[int] | None = None) -> Iterator[HrCpuBase]:
    """Each CPU's (or those of ``cpus``) hrtimer clock bases with their pending timers
    in expiry order.

    "now" is the uptime in jiffies (jiffies_64 - INITIAL_JIFFIES) in ns plus the
    clock's offset: crash's figure, good to a tick, from which TTE is counted."""
    cpu_t = target.type("struct hrtimer_cpu_base")
    clock_t = target.type("struct hrtimer_clock_base")
    cb_off, cb_m = cpu_t.member("clock_base")
    nclocks = cb_m.type.strip_typedefs().byte_size // clock_t.byte_size
    node_off = target.offsetof("struct hrtimer", "node.node")
    expires_off = target.offsetof("struct hrtimer", "node.expires")
    soft_off = target.offsetof("struct hrtimer", "_softexpires")
    func_off = target.offsetof("struct hrtimer", "function")
    ticks = hz(target)
    now_jiffies = target.space.read_u64(target.address_of(
        "jiffies_64" if target.symbols.get("jiffies_64") else "jiffies"))
    uptime = (now_jiffies - ((-300 * ticks) & 0xFFFFFFFF)) & 0xFFFFFFFFFFFFFFFF
    base_now = uptime * (1_000_000_000 // ticks)
    per_cpu = target.address_of("hrtimer_bases")
    # members not every kernel has: the clock's offset to CLOCK_MONOTONIC, its read function
    has_offset, has_get_time = clock_t.has_member("offset"), clock_t.has_member("get_time")
    for cpu in range(max(len(target.per_cpu_offsets), 1)):
        if cpus is not None and cpu not in cpus:
            continue
        cpu_base = target.per_cpu_address(per_cpu, cpu)
        clocks = []
        for i in range(nclocks):
            base = cpu_base + cb_off // 8 + i * clock_t.byte_size
            clock = target.object_at(clock_t, base)
            offset = _s64(clock.offset.read_()) if has_offset else 0
            root = int(clock.active.rb_root.rb_root.rb_node)
            timers = []
            for node in rb_inorder(target, root) if root else ():
                timer = node - node_off
                try:
                    raw_exp = target.space.read(timer + expires_off, 8)
                    raw_soft = target.space.read(timer + soft_off, 8)
                    function = target.space.read_u64(timer + func_off)
                except MemoryError_ as err:
                    caveat(f"hrtimer {timer:x} of CPU {cpu} clock {i} unreadable ({err}): "
                           "left out")
                    continue
                timers.append(HrTimer(timer, _s64(raw_soft), _s64(raw_exp), function,
                                      target.symbol_offset(function)))
            get_time = int(clock.get_time) if has_get_time else 0
            clocks.append(HrClockBase(i, base, get_time,
                                      target.symbol_offset(get_time) if get_time else None,
                                      base_now + offset, timers))
        yield HrCpuBase(cpu, cpu_base, clocks)
