"""log: the kernel message buffer, laid out as crash shows it."""
from __future__ import annotations

import time

from ..errors import CommandError
from .base import Command, Context, Option, Result, Text


def caller(caller_id: int) -> str:
    return f"C{caller_id & 0x7FFFFFFF}" if caller_id & 0x80000000 else f"T{caller_id}"


class Log(Command):
    name = "log"
    synopsis = "log [-tTmcd]"
    summary = "kernel message buffer"
    group = "linux"
    targets = ("linux", "xen")
    description = """\
On the Xen target: the hypervisor's console ring (what `xl dmesg` shows), the
whole ring oldest first, as crash shows it.  On a Linux target:
the kernel log from the printk ring buffer, oldest first, each record as
`[seconds.micros] text`; continuation lines of a record are indented under
its text, as crash does.
  -t   no timestamps
  -T   wall-clock timestamps (crash time minus the time since each record)
  -m   the message level as <N>
  -c   the caller: T<pid> for a task, C<cpu> for interrupt context
  -d   each record's dictionary under it (SUBSYSTEM= and DEVICE= of the
       dev_printk family), as crash shows it
"""
    example = "log | tail\nlog -m | grep '<0>'"
    options = (Option("-t", "no_time", "no timestamps"), Option("-T", "human", "human timestamps"),
               Option("-m", "level", "show levels"), Option("-c", "caller", "show caller ids"),
               Option("-d", "dict", "each record's dictionary (SUBSYSTEM=, DEVICE=)"))

    def run(self, ctx: Context, args: list[str]) -> Result:
        opts, rest = self.parse(args)
        if rest:
            raise CommandError(f"usage: {self.usage()}")
        if ctx.target.kind == "xen":
            return _xen_log(ctx.target)
        from ..targets.linux import sysinfo
        from ..targets.linux.printk import records
        target = ctx.target
        recs = list(records(target))
        wall = None
        if opts["human"] and recs:
            crash = sysinfo.crash_time(target)
            up = sysinfo.uptime_seconds(target)
            if crash is not None and up is not None:
                wall = crash - up
        lines: list[str] = []
        out_records = []
        for rec in recs:
            ctx.check()
            if opts["no_time"]:
                prefix = ""
            elif wall is not None:
                prefix = "[" + time.strftime("%a %b %e %H:%M:%S %Z %Y",
                                             time.localtime(wall + rec.ts_nsec // 10**9)) + "] "
            else:
                prefix = f"[{rec.ts_nsec // 10**9:5d}.{rec.ts_nsec % 10**9 // 1000:06d}] "
            if opts["caller"]:
                prefix += f"[{caller(rec.caller_id):>6}] "
            level = f"<{rec.level}>" if opts["level"] else ""
            text_lines = rec.text.split("\n")
            lines.append(prefix + level + text_lines[0])
            indent = " " * len(prefix + level)
            lines.extend(indent + extra for extra in text_lines[1:])
            if opts["dict"]:
                lines.extend(indent + item for item in rec.dict)
            out_records.append({"seq": rec.seq, "ts_nsec": rec.ts_nsec, "level": rec.level,
                                "facility": rec.facility, "caller": caller(rec.caller_id),
                                "text": rec.text, "dict": list(rec.dict)})
        return Text("\n".join(lines), out_records)


def _xen_log(target: object) -> Text:
    from ..errors import XcrashError
    from ..targets.xen.console import console_text
    try:
        text = console_text(target)
    except XcrashError as err:
        raise CommandError(f"log: {err}") from None
    if text.endswith("\n"):
        text = text[:-1]
    return Text(text, [{"text": line} for line in text.split("\n")])


COMMANDS = [Log]
