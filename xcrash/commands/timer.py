"""timer: the timer wheel of each CPU, as crash lists it."""
from __future__ import annotations

from typing import Any

from ..errors import CommandError, MemoryError_, XcrashError
from .base import Command, Context, Option, Result, Text
from ..layouts.columns import center


def _symbol(target: Any, address: int) -> str:
    hit = target.symbols.resolve(address)
    if hit is None:
        return f"{address:x}"
    return hit[0].name + (f"+{hit[1]}" if hit[1] else "")


def timer_lines(target: Any, jiffies: int, bases: list[Any]) -> list[str]:
    flen = max(len(str(jiffies)), len("JIFFIES"))
    lines = ["JIFFIES".ljust(flen), str(jiffies).rjust(flen), ""]
    previous_cpu = None
    for base in bases:
        if previous_cpu is not None and base.cpu != previous_cpu:
            lines.append("")
        previous_cpu = base.cpu
        lines.append(f"TIMER_BASES[{base.cpu}][{base.base}]: {base.address:x}")
        highest = max((abs(t.tte) for t in base.timers), default=0)
        tlen = max(len(str(highest)) + 1, len("TTE"))
        lines.append(f"  {'EXPIRES'.ljust(flen)}     {'TTE'.ljust(tlen)}     TIMER_LIST     FUNCTION")
        for t in base.timers:
            lines.append(f"  {str(t.expires).rjust(flen)}  {str(t.tte).rjust(tlen)}  "
                         f"{center(f'{t.address:16x}', 16)}  {t.function:16x}  "
                         f"<{_symbol(target, t.function)}>")
        if not base.timers:
            lines.append("  (none)")
    return lines


def hrtimer_lines(target: Any, bases: list[Any]) -> list[str]:
    """crash's `timer -r`: the column widths come from each base's last (latest) timer."""
    lines: list[str] = []
    for cpu in bases:
        if lines:
            lines.append("")
        lines.append(f"CPU: {cpu.cpu}  HRTIMER_CPU_BASE: {cpu.address:x}")
        for clock in cpu.clocks:
            if clock.index:
                lines.append("")
            name = _symbol(target, clock.get_time) if clock.get_time else "?"
            lines.append(f"  CLOCK: {clock.index}  HRTIMER_CLOCK_BASE: {clock.address:x}  [{name}]")
            if not clock.timers:
                lines.append("  (empty)")
                continue
            last = clock.timers[-1]
            soft_len = max(len(str(last.softexpires)), 11)
            exp_len = max(len(str(last.expires)), 7)
            tte_len = len(str(last.expires - clock.now))
            lines += [f"  {center('CURRENT', soft_len, True)}",
                      f"  {center(str(clock.now), soft_len, True)}",
                      f"  {center('SOFTEXPIRES', soft_len, True)}  {center('EXPIRES', exp_len, True)}  "
                      f"{center('TTE', tte_len, True)}  {center('HRTIMER', 16)}  {center('FUNCTION', 16)}"]
            for t in clock.timers:
                lines.append(f"  {center(str(t.softexpires), soft_len, True)}  "
                             f"{center(str(t.expires), exp_len, True)}  "
                             f"{str(t.expires - clock.now).rjust(tte_len)}  {t.address:x}  "
                             f"{t.function:x}  <{_symbol(target, t.function)}>")
    return lines


class TimerCmd(Command):
    name = "timer"
    synopsis = "timer [-r] [-C cpus]"
    summary = "timer wheel timers (and hrtimers, -r) of each CPU"
    group = "linux"
    targets = ("linux",)
    description = """\
The dump's jiffies, then for each CPU and timer base (BASE_STD, and BASE_DEF
for deferrable timers) the pending timer_list timers by expiry: EXPIRES (in
jiffies), TTE (time to expire, negative when overdue at the crash), the
timer_list and its function.
`timer -r`: the high-resolution timers instead: per CPU and clock base
(ktime_get, ktime_get_real, ...), the clock's time at the crash as crash
computes it (uptime in jiffies, in ns, plus the clock's offset), then each
pending hrtimer by expiry: soft expiry, expiry, TTE in ns, the hrtimer and its
function.  `-C cpus` (1,3 or 0-2): only those CPUs.
"""
    example = "timer\ntimer -r\ntimer -C 1"
    options = (Option("-r", "hrtimers", "high-resolution timers"),
               Option("-C", "cpus", "only these CPUs", takes_value=True))

    def run(self, ctx: Context, args: list[str]) -> Result:
        from ..targets.linux.timers import hrtimer_bases, timer_bases
        from .args import parse_cpu_list
        opts, rest = self.parse(args)
        if rest:
            raise CommandError(f"timer: unexpected argument {rest[0]}")
        target = ctx.target
        wanted = set(parse_cpu_list(opts["cpus"], "timer")) if opts["cpus"] else None
        if opts["hrtimers"]:
            try:
                bases = hrtimer_bases(target)
            except (MemoryError_, XcrashError) as e:
                raise CommandError(f"timer: {e}") from None
            bases = [c for c in bases if wanted is None or c.cpu in wanted]
            records = [{"cpu": c.cpu, "address": c.address,
                        "clocks": [{"index": k.index, "address": k.address, "now": k.now,
                                    "timers": [vars(t) for t in k.timers]} for k in c.clocks]}
                       for c in bases]
            return Text("\n".join(hrtimer_lines(target, bases)), records)
        try:
            jiffies, bases = timer_bases(target)
        except (MemoryError_, XcrashError) as e:
            raise CommandError(f"timer: {e}") from None
        bases = [b for b in bases if wanted is None or b.cpu in wanted]
        records = [{"cpu": b.cpu, "base": b.base, "address": b.address,
                    "timers": [vars(t) for t in b.timers]} for b in bases]
        return Text("\n".join(timer_lines(target, jiffies, bases)), records)


COMMANDS = [TimerCmd]
