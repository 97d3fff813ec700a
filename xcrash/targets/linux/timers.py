"""Timer wheel timers per CPU (the numbers behind `timer`).

Since 4.8 each CPU has ``timer_bases[NR_BASES]`` (BASE_STD, and BASE_DEF for
deferrable timers when CONFIG_NO_HZ_COMMON, which ``sysctl_timer_migration``
betrays); each base has ``vectors[]`` of hlist heads chaining ``timer_list``
entries.  Timers are listed by expiry, with their time to expire (TTE) in
jiffies from the dump's ``jiffies``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...errors import MemoryError_

CHAIN_LIMIT = 100_000


@dataclass
class Timer:
    address: int          # struct timer_list
    expires: int
    tte: int              # expires - jiffies (signed)
    function: int


@dataclass
class TimerBase:
    cpu: int
    base: str             # BASE_STD / BASE_DEF
    address: int
    timers: list[Timer]


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def timer_bases(target: Any) -> tuple[int, list[TimerBase]]:
    """(jiffies, every CPU's timer bases with their timers sorted by expiry)."""
    jiffies = target.space.read_u64(target.address_of("jiffies"))
    base_t = target.type("struct timer_base")
    vec_off, vec_m = base_t.member("vectors")
    nvectors = vec_m.type.strip_typedefs().length
    timer_t = target.type("struct timer_list")
    entry_off = timer_t.member("entry")[0] // 8
    expires_off = timer_t.member("expires")[0] // 8
    function_off = timer_t.member("function")[0] // 8
    nr_bases = 2 if target.symbols.get("sysctl_timer_migration") is not None else 1
    per_cpu = target.address_of("timer_bases")
    out = []
    for cpu in range(max(len(target.per_cpu_offsets), 1)):
        base_addr = target.per_cpu_address(per_cpu, cpu)
        for b in range(nr_bases):
            address = base_addr + b * base_t.byte_size
            raw = target.space.read(address + vec_off // 8, 8 * nvectors)
            timers = []
            for v in range(nvectors):
                node = int.from_bytes(raw[8 * v:8 * v + 8], "little")
                seen = 0
                while node and seen < CHAIN_LIMIT:
                    seen += 1
                    timer = node - entry_off
                    try:
                        expires = target.space.read_u64(timer + expires_off)
                        function = target.space.read_u64(timer + function_off)
                        node = target.space.read_u64(node)
                    except MemoryError_:
                        break
                    timers.append(Timer(timer, expires, _signed(expires - jiffies), function))
            timers.sort(key=lambda t: t.expires)
            out.append(TimerBase(cpu, "BASE_STD" if b == 0 else "BASE_DEF", address, timers))
    return jiffies, out


@dataclass
class HrTimer:
    address: int          # struct hrtimer
    softexpires: int      # ns
    expires: int          # ns
    function: int


@dataclass
class HrClockBase:
    index: int
    address: int          # struct hrtimer_clock_base
    get_time: int         # the clock's read function (ktime_get, ktime_get_real, ...)
    now: int              # the dump's time on this clock, as crash computes it (ns)
    timers: list[HrTimer]


@dataclass
class HrCpuBase:
    cpu: int
    address: int          # struct hrtimer_cpu_base
    clocks: list[HrClockBase]


def _s64(raw: bytes) -> int:
    return int.from_bytes(raw, "little", signed=True)


def hrtimer_bases(target: Any) -> list[HrCpuBase]:
    """Each CPU's hrtimer clock bases with their pending timers in expiry order.

    "now" is the uptime in jiffies (jiffies_64 - INITIAL_JIFFIES) in ns plus the
    clock's offset: crash's figure, good to a tick, from which TTE is counted."""
    from .rbtree import rb_inorder
    from .sysinfo import hz
    cpu_t = target.type("struct hrtimer_cpu_base")
    clock_t = target.type("struct hrtimer_clock_base")
    cb_off, cb_m = cpu_t.member("clock_base")
    nclocks = cb_m.type.strip_typedefs().byte_size // clock_t.byte_size
    timer_t = target.type("struct hrtimer")
    node_off = timer_t.member("node")[0] // 8 + target.type("struct timerqueue_node").member("node")[0] // 8
    expires_off = timer_t.member_path("node.expires")[0] // 8
    soft_off = timer_t.member("_softexpires")[0] // 8
    func_off = timer_t.member("function")[0] // 8
    ticks = hz(target)
    jiffies = target.space.read_u64(target.address_of("jiffies_64") if target.symbols.get("jiffies_64")
                                    else target.address_of("jiffies"))
    uptime = (jiffies - ((-300 * ticks) & 0xFFFFFFFF)) & 0xFFFFFFFFFFFFFFFF
    base_now = uptime * (1_000_000_000 // ticks)
    per_cpu = target.address_of("hrtimer_bases")
    out = []
    for cpu in range(max(len(target.per_cpu_offsets), 1)):
        cpu_base = target.per_cpu_address(per_cpu, cpu)
        clocks = []
        for i in range(nclocks):
            base = cpu_base + cb_off // 8 + i * clock_t.byte_size
            clock = target.object_at(clock_t, base)
            offset = _s64(clock.offset.read_()) if clock_t.has_member("offset") else 0
            root = int(clock.active.rb_root.rb_root.rb_node)
            timers = []
            for node in rb_inorder(target, root) if root else ():
                timer = node - node_off
                try:
                    raw_exp = target.space.read(timer + expires_off, 8)
                    raw_soft = target.space.read(timer + soft_off, 8)
                    function = target.space.read_u64(timer + func_off)
                except MemoryError_:
                    continue
                timers.append(HrTimer(timer, _s64(raw_soft), _s64(raw_exp), function))
            get_time = int(clock.get_time) if clock_t.has_member("get_time") else 0
            clocks.append(HrClockBase(i, base, get_time, base_now + offset, timers))
        out.append(HrCpuBase(cpu, cpu_base, clocks))
    return out
