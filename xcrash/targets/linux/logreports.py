"""The kernel log's reports: every ``WARNING``/``BUG``/``Oops``/``Call Trace``/panic block
of the log, each with its lines (what ``xcrash report`` lists, and where a crash's title
comes from: ``crashinfo.py``)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import printk

if TYPE_CHECKING:
    from .kernel import LinuxTarget

#: how many of a log block's lines are kept before its Call Trace (ABRT's limit too)
HEAD_LINES = 40
#: the longest block kept
BLOCK_LINES = 80
#: a line this long after a block's first (ns) starts something else
GAP_NS = 2 * 10**9

#: the first line of a block the log reports a problem with, and its kind
_STARTS: list[tuple[re.Pattern[str], str]] = [(re.compile(p), k) for p, k in [
    (r"^Kernel panic - not syncing", "panic"),
    (r"^(watchdog: )?BUG: soft lockup", "soft lockup"),
    (r"^(NMI watchdog: )?Watchdog detected hard LOCKUP", "hard lockup"),
    (r"^INFO: task \S.* blocked for more than", "hung task"),
    (r"^(rcu: )?INFO: rcu_\w+ (self-)?detected( expedited)? stalls?", "rcu stall"),
    (r"^BUG: (kernel NULL pointer dereference|unable to handle)", "oops"),
    (r"^BUG: ", "bug"),
    (r"^kernel BUG at ", "bug"),
    (r"^WARNING: ", "warning"),
    (r"^(general protection fault|divide error|invalid opcode|stack segment|double fault"
     r"|kernel stack overflow)", "oops"),
    (r"^Oops: ", "oops"),
    (r"^Call Trace:", "call trace"),
]]
#: lines that continue a block after its Call Trace: frames, stack markers, registers
_TRACE_LINE = re.compile(
    r"^\s+(\? )?[\w.$]+\+0x[0-9a-f]+/0x[0-9a-f]+( \[[\w]+\])?\s*$|^\s*</?[A-Z#]\w*>\s*$"
    r"|^(RIP|RSP|RAX|RDX|RBP|R10|R13|FS|CS|CR2|DS|DR0|DR3|DR6|PKRU|Code|Modules linked in"
    r"|Kernel Offset|CPU|Hardware name|Call Trace)\b|^---\[ end ")

@dataclass
class LogReport:
    """A block of the kernel log reporting a problem: its kind (panic, oops, bug,
    warning, soft lockup, hard lockup, hung task, rcu stall, call trace), the time of
    its first line (ns since boot) and its lines."""
    kind: str
    ts_nsec: int
    lines: list[str]

    @property
    def first(self) -> str:
        return self.lines[0] if self.lines else ""


def _kind(text: str) -> str | None:
    for pattern, kind in _STARTS:
        if pattern.match(text):
            return kind
    return None


def log_lines(target: LinuxTarget) -> list[tuple[int, str]]:
    """(ts_nsec, text) of every line of the log (a record's continuation lines apart)."""
    return [(r.ts_nsec, line) for r in printk.records(target) for line in r.text.split("\n")]


def log_reports(target: LinuxTarget, lines: list[tuple[int, str]] | None = None
                ) -> list[LogReport]:
    """Every report block of the log, oldest first: from its first line (``BUG:``,
    ``WARNING:``, ``Kernel panic - not syncing``, ...) through its Call Trace and
    registers, to ``---[ end ...`` or the first line that is none of those (before the
    Call Trace, a report's own lines are free text; a panic's are the CPU line, the
    trace and the registers only), and never more than 2 s after its first line; an
    ``Oops:`` line right after a ``BUG:`` belongs to it."""
    if lines is None:
        lines = log_lines(target)
    out: list[LogReport] = []
    block: LogReport | None = None
    in_trace = False
    for ts, text in lines:
        kind = _kind(text)
        if block is not None:
            joins = (kind in (None, "call trace")
                     or kind == "oops" and text.startswith("Oops: ") and block.kind != "call trace")
            free = not in_trace and block.kind != "panic" and len(block.lines) < HEAD_LINES
            if joins and len(block.lines) < BLOCK_LINES and ts - block.ts_nsec <= GAP_NS and (
                    free or _TRACE_LINE.match(text)):
                block.lines.append(text)
                in_trace = in_trace or text.startswith("Call Trace:")
                if text.startswith("---[ end "):
                    block = None
                continue
            block = None
        if kind is not None:
            block = LogReport(kind, ts, [text])
            out.append(block)
            in_trace = kind == "call trace"
    return out


