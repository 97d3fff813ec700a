"""log: the kernel message buffer, laid out as crash shows it."""
from __future__ import annotations

import time
from functools import partial
from typing import TYPE_CHECKING, cast
from collections.abc import Iterable, Iterator

from ..caveats import caveat
from ..errors import CommandError
from ..results import Records, Teaching, text_lines
from ..targets.linux import printk, printksafe, sysinfo, teach
from ..targets.linux.printksafe import AuditRecord, SafeBuffer
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


def safe_lines(records: Iterable[SafeBuffer], *, header: bool = False, no_time: bool = False,
               level: bool = False) -> Iterator[str]:
    """The NMI and printk-safe buffers as crash prints them: with -s a header per buffer
    and per CPU and the text indented by two; after ``log`` each line tagged
    ``[buffer] `` (untagged with -t); -m keeps each message's level as ``<N>``."""
    name = None
    for r in records:
        if header and r.name != name:
            yield f"PRINTK_SAFE_SEQ_BUF: {r.name}"
        name = r.name
        if header:
            yield f"CPU: {r.cpu}  ADDR: {r.address:x} LEN: {r.length}  MESSAGE_LOST: {r.message_lost}"
        if r.length <= 0:
            if header:
                yield "  (empty)"
                yield ""
            continue
        tag = "  " if header else "" if no_time else f"[{r.name}] "
        indent = " " * (len(tag) + (3 if level else 0))
        line, start, data, i = "", True, r.data, 0
        while i < len(data):
            c = data[i]
            at_start, start = start, False
            if c == 1:                                  # SOH: a message's level follows
                i += 1
                if not at_start:
                    yield line
                    line = ""
                line += tag
                if level and i < len(data) and chr(data[i]) in "01234567c":
                    line += f"<{chr(data[i])}>"
                i += 1
                continue
            if at_start:
                line += indent
            ch = chr(c)
            if ch == "\n":
                yield line
                line, start = "", True
            else:
                line += ch if ch.isprintable() and c < 0x7f or ch in " \t\v\f\r" else "."
            i += 1
        if not start:
            yield line
        if header:
            yield ""


def audit_lines(records: Iterable[AuditRecord]) -> Iterator[str]:
    for r in records:
        yield from f"type={r.type} {r.text}".split("\n")


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
On kernels 4.11 to 5.14 the per-CPU NMI and printk-safe buffers not yet
flushed to the log follow the records, each line tagged with its buffer's
name; -s shows only them, per buffer and CPU.  -a shows the audit records still
queued in the kernel (type=N text).  -R (Rust symbol names demangled) shows
the log as it is: the kernels read here have no Rust symbols in their messages.
"""
    example = "log | tail\nlog -m | grep '<0>'"
    options = (Option("-t", "no_time", "no timestamps"),
               Option("-T", "human", "wall-clock timestamps (the crash time minus the time "
                      "since each record)"),
               Option("-m", "level", "the message level, as <N>"),
               Option("-c", "caller", "the caller: T<pid> for a task, C<cpu> for interrupt "
                      "context"),
               Option("-d", "dict", "each record's dictionary under it (SUBSYSTEM= and DEVICE= "
                      "of the dev_printk family)"),
               Option("-a", "audit", "the audit records still queued in the kernel"),
               Option("-s", "safe", "the per-CPU NMI and printk-safe buffers (4.11 to 5.14)"),
               Option("-R", "rust", "Rust symbol names demangled (none in these kernels: "
                      "the log as it is)"))

    def run(self, ctx: Context, args: list[str]) -> Records | list[Records]:
        opts, rest = self.parse(args)
        if rest:
            raise CommandError(f"usage: {self.usage()}")
        if ctx.target.kind == "linux" and opts["audit"]:
            found = printksafe.audit_records(linux_target(ctx))
            if not found:
                raise CommandError("kernel audit log is empty")
            return Records(found, audit_lines)
        if ctx.target.kind == "linux" and opts["safe"]:
            return Records(printksafe.safe_buffers(linux_target(ctx)) or [],
                           partial(safe_lines, header=True, level=opts["level"]))
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
        log = Records(_polled(ctx, printk.records(target)), layout)
        held = [b for b in printksafe.safe_buffers(target) or [] if b.length > 0]
        if not held:
            return log
        return [log, Records(held, partial(safe_lines, no_time=opts["no_time"],
                                           level=opts["level"]))]

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
    if opts["audit"] or opts["safe"]:
        return Teaching(teaching.sentences)
    names = {"no_time": "no_time", "level": "level", "caller": "caller", "dict": "dictionary"}
    chosen = {k: v for k, v in opts.items() if v and k in names}
    if chosen:
        teaching.imports.append("from xcrash.commands.log import record_lines")
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
