"""timer: the timer wheel of each CPU, as crash lists it."""
from __future__ import annotations

from typing import Any

from ..errors import CommandError, MemoryError_, XcrashError
from .base import Command, Context, Result, Text


def _center(text: str, width: int) -> str:
    extra = max(width - len(text), 0)
    return " " * (extra // 2) + text + " " * (extra - extra // 2)


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
                         f"{_center(f'{t.address:16x}', 16)}  {t.function:16x}  "
                         f"<{_symbol(target, t.function)}>")
        if not base.timers:
            lines.append("  (none)")
    return lines


class TimerCmd(Command):
    name = "timer"
    synopsis = "timer"
    summary = "timer wheel timers of each CPU"
    group = "linux"
    targets = ("linux",)
    description = """\
The dump's jiffies, then for each CPU and timer base (BASE_STD, and BASE_DEF
for deferrable timers) the pending timer_list timers by expiry: EXPIRES (in
jiffies), TTE (time to expire, negative when overdue at the crash), the
timer_list and its function.  crash's -r (hrtimers) and -C (CPU selection)
are not implemented yet.
"""
    example = "timer"

    def run(self, ctx: Context, args: list[str]) -> Result:
        from ..targets.linux.timers import timer_bases
        _opts, rest = self.parse(args)
        if rest:
            raise CommandError(f"timer: unexpected argument {rest[0]}")
        target = ctx.target
        try:
            jiffies, bases = timer_bases(target)
        except (MemoryError_, XcrashError) as e:
            raise CommandError(f"timer: {e}") from None
        records = [{"cpu": b.cpu, "base": b.base, "address": b.address,
                    "timers": [vars(t) for t in b.timers]} for b in bases]
        return Text("\n".join(timer_lines(target, jiffies, bases)), records)


COMMANDS = [TimerCmd]
