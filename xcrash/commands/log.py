"""log: the kernel message buffer, laid out as crash shows it."""
from __future__ import annotations

import time
from functools import partial
from typing import TYPE_CHECKING, cast
from collections.abc import Iterable, Iterator

from ..caveats import caveat
from ..errors import CommandError
from ..results import Records, Teaching, text_lines
from ..targets.linux import printk, sysinfo, teach
from ..targets.xen import teach as xen_teach
from ..targets.linux.printk import Record
from .args import linux_target, xen_target
from .base import Command, Context, Option

if TYPE_CHECKING:
    from ..targets.linux.kernel import LinuxTarget
    from ..targets.xen.hypervisor import XenTarget


def record_lines(records: Iterable[Record], *, no_time: bool = False, wall: int | None = None,
                 level: bool = False, caller: bool = False, dictionary: bool = False
                 ) -> Iterator[str]:
    """crash's log: ``[seconds.micros] text`` (or no time, or ``wall`` + seconds as a
    date), the caller and the level before the text; continuation lines and the
    dictionary indented under the text."""
    for rec in records:
        if no_time:
            prefix = ""
        elif wall is not None:
            prefix = "[" + time.strftime("%a %b %e %H:%M:%S %Z %Y",
                                         time.localtime(wall + rec.ts_nsec // 10**9)) + "] "
        else:
            prefix = f"[{rec.ts_nsec // 10**9:5d}.{rec.ts_nsec % 10**9 // 1000:06d}] "
        if caller:
            prefix += f"[{rec.caller:>6}] "
        if level:
            prefix += f"<{rec.level}>"
        first, *more = rec.text.split("\n")
        yield prefix + first
        indent = " " * len(prefix)
        yield from (indent + extra for extra in more)
        if dictionary:
            yield from (indent + item for item in rec.dict)


class Log(Command):
    name = "log"
    summary = "kernel message buffer"
    group = "linux"
    targets = ("linux", "xen")
    description = """\
On a Linux target: the kernel log from the printk ring buffer (or the
structured log_buf of kernels before 5.10), oldest first, each record as
`[seconds.micros] text`; continuation lines of a record are indented under
its text, as crash does.  A record that cannot be read is left out, with a
WARNING line saying how many were.  On the Xen target: the hypervisor's console
ring (what `xl dmesg` shows), the whole ring oldest first, as crash shows it.
"""
    example = "log | tail\nlog -m | grep '<0>'"
    options = (Option("-t", "no_time", "no timestamps"),
               Option("-T", "human", "wall-clock timestamps (the crash time minus the time "
                      "since each record)"),
               Option("-m", "level", "the message level, as <N>"),
               Option("-c", "caller", "the caller: T<pid> for a task, C<cpu> for interrupt "
                      "context"),
               Option("-d", "dict", "each record's dictionary under it (SUBSYSTEM= and DEVICE= "
                      "of the dev_printk family)"))

    def run(self, ctx: Context, args: list[str]) -> Records:
        opts, rest = self.parse(args)
        if rest:
            raise CommandError(f"usage: {self.usage()}")
        if ctx.target.kind == "xen":
            from ..targets.xen.console import console_text
            text = console_text(xen_target(ctx))
            return text_lines(text.removesuffix("\n"))
        target = linux_target(ctx)
        wall = None
        if opts["human"] and not opts["no_time"]:
            crash = sysinfo.crash_time(target)
            up = sysinfo.uptime_seconds(target)
            if crash is not None and up is not None:
                wall = crash - up
            else:
                caveat("log -T: the crash time or the uptime is unknown: seconds since boot "
                       "shown instead")
        layout = partial(record_lines, no_time=opts["no_time"], wall=wall, level=opts["level"],
                         caller=opts["caller"], dictionary=opts["dict"])
        return Records(_polled(ctx, printk.records(target)), layout)

    def teach(self, ctx: Context, args: list[str]) -> Teaching:
        opts, _rest = self.parse(args)
        return _teach(ctx, opts)


def _teach(ctx: Context, opts: dict[str, bool]) -> Teaching:
    target = ctx.target
    if target.kind == "xen":
        teaching = xen_teach.console_teaching(cast("XenTarget", target))
        teaching.body += ["if text:", "    print(text.removesuffix(\"\\n\"))"]
        return teaching
    teaching = teach.log_teaching(cast("LinuxTarget", target))
    if opts["human"]:
        teaching.sentences.append("(The program below prints the log with seconds since "
                                  "boot; log -T has none yet.)")
        return Teaching(teaching.sentences)
    chosen = {k: v for k, v in opts.items() if v}
    if chosen:
        teaching.imports.append("from xcrash.commands.log import record_lines")
        names = {"no_time": "no_time", "level": "level", "caller": "caller", "dict": "dictionary"}
        args = ", ".join(f"{names[k]}=True" for k in chosen)
        teaching.body += [f"for line in record_lines(records, {args}):", "    print(line)"]
        return teaching
    teaching.body += [
        "for rec in records:",
        "    stamp = f\"[{rec.ts_nsec // 10**9:5d}.{rec.ts_nsec % 10**9 // 1000:06d}] \"",
        "    first, *more = rec.text.split(\"\\n\")  # continuation lines go under the text",
        "    print(stamp + first)",
        "    for line in more:",
        "        print(\" \" * len(stamp) + line)"]
    return teaching


def _polled(ctx: Context, records: Iterable[Record]) -> Iterator[Record]:
    """The records, Ctrl-C checked between them (they stream)."""
    for rec in records:
        ctx.check()
        yield rec


COMMANDS = [Log]
