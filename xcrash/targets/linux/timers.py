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

from ...errors import MemoryError_, XcrashError

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
