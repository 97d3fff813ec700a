"""timer: the timer wheel (or the hrtimers) of each CPU, as crash lists them."""
from __future__ import annotations

from functools import partial
from collections.abc import Iterable, Iterator

from ..errors import CommandError
from ..layouts.columns import center
from ..results import Records
from ..targets.linux.timers import HrCpuBase, TimerBase, hrtimer_bases, jiffies, timer_bases
from .args import linux_target, parse_cpu_list
from .base import Command, Context, Option


def timer_lines(bases: Iterable[TimerBase], *, now: int) -> Iterator[str]:
    """crash's `timer`: the jiffies, then each base's timers (``now``: the jiffies)."""
    flen = max(len(str(now)), len("JIFFIES"))
    yield "JIFFIES".ljust(flen)
    yield str(now).rjust(flen)
    previous_cpu = None
    for base in bases:
        if base.cpu != previous_cpu:
            yield ""
        previous_cpu = base.cpu
        yield f"TIMER_BASES[{base.cpu}][{base.base}]: {base.address:x}"
        highest = max((abs(t.tte) for t in base.timers), default=0)
        tlen = max(len(str(highest)) + 1, len("TTE"))
        yield f"  {'EXPIRES'.ljust(flen)}     {'TTE'.ljust(tlen)}     TIMER_LIST     FUNCTION"
        for t in base.timers:
            yield (f"  {str(t.expires).rjust(flen)}  {str(t.tte).rjust(tlen)}  "
                   f"{center(f'{t.address:16x}', 16)}  {t.function:16x}  "
                   f"<{t.symbol or f'{t.function:x}'}>")
        if not base.timers:
            yield "  (none)"


def hrtimer_lines(bases: Iterable[HrCpuBase]) -> Iterator[str]:
    """crash's `timer -r`: the column widths come from each base's last (latest) timer."""
    first = True
    for cpu in bases:
        if not first:
            yield ""
        first = False
        yield f"CPU: {cpu.cpu}  HRTIMER_CPU_BASE: {cpu.address:x}"
        for clock in cpu.clocks:
            if clock.index:
                yield ""
            name = (clock.get_time_symbol or f"{clock.get_time:x}") if clock.get_time else "?"
            yield f"  CLOCK: {clock.index}  HRTIMER_CLOCK_BASE: {clock.address:x}  [{name}]"
            if not clock.timers:
                yield "  (empty)"
                continue
            last = clock.timers[-1]
            soft_len = max(len(str(last.softexpires)), 11)
            exp_len = max(len(str(last.expires)), 7)
            tte_len = len(str(last.expires - clock.now))
            yield f"  {center('CURRENT', soft_len, True)}"
            yield f"  {center(str(clock.now), soft_len, True)}"
            yield (f"  {center('SOFTEXPIRES', soft_len, True)}  "
                   f"{center('EXPIRES', exp_len, True)}  {center('TTE', tte_len, True)}  "
                   f"{center('HRTIMER', 16)}  {center('FUNCTION', 16)}")
            for t in clock.timers:
                yield (f"  {center(str(t.softexpires), soft_len, True)}  "
                       f"{center(str(t.expires), exp_len, True)}  "
                       f"{str(t.expires - clock.now).rjust(tte_len)}  {t.address:x}  "
                       f"{t.function:x}  <{t.symbol or f'{t.function:x}'}>")


class TimerCmd(Command):
    name = "timer"
    arguments = ""
    summary = "timer wheel timers (and hrtimers, -r) of each CPU"
    group = "linux"
    targets = ("linux",)
    description = """\
The dump's jiffies, then for each CPU and timer base (BASE_STD, and BASE_DEF
for deferrable timers) the pending timer_list timers by expiry: EXPIRES (in
jiffies), TTE (time to expire, negative when overdue at the crash), the
timer_list and its function.
With -r, per CPU and clock base (ktime_get, ktime_get_real, ...): the clock's
time at the crash as crash computes it (uptime in jiffies, in ns, plus the
clock's offset), then each pending hrtimer by expiry: soft expiry, expiry, TTE
in ns, the hrtimer and its function.
"""
    example = "timer\ntimer -r\ntimer -C 1"
    options = (Option("-r", "hrtimers", "the high-resolution timers instead"),
               Option("-C", "cpus", "only these CPUs (1,3 or 0-2)", takes_value=True,
                      metavar="cpus"))

    def run(self, ctx: Context, args: list[str]) -> Records:
        opts, rest = self.parse(args)
        if rest:
            raise CommandError(f"timer: unexpected argument {rest[0]}")
        target = linux_target(ctx)
        wanted = set(parse_cpu_list(opts["cpus"], "timer")) if opts["cpus"] else None
        if opts["hrtimers"]:
            return Records(hrtimer_bases(target, wanted), hrtimer_lines)
        now = jiffies(target)
        return Records(timer_bases(target, now, wanted), partial(timer_lines, now=now))


COMMANDS = [TimerCmd]
