"""Explain mode: how a command's answer was obtained, from the tracing hook's events.

    xcrash> p jiffies --explain
    jiffies = $1 = 4294894171
    -- how xcrash found this --
    symbols  jiffies = ffffffffaf207980
    types    volatile unsigned long (variable jiffies)
    memory   1 read, 8 bytes; translations: kernel image 1
             ffffffffaf207980 -> f007980 (kernel image)
    python   k = xcrash.open(VMCORE, VMLINUX).current
             k.symbol("jiffies")
             k.space.read(0xffffffffaf207980, 8)
"""
from __future__ import annotations

import textwrap
from collections import Counter
from typing import TYPE_CHECKING

from ..results import Teaching
from ..trace import Event

if TYPE_CHECKING:
    from ..session import Session
    from ..targets.base import Target

#: how many distinct lines of each kind are shown
SHOWN = 8


def _distinct(items: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for item in items:
        seen.setdefault(item, None)
    return list(seen)


def _section(title: str, lines: list[str], total: int | None = None) -> list[str]:
    if not lines:
        return []
    shown = lines[:SHOWN]
    if total is not None and total > len(shown):
        shown.append(f"... and {total - len(shown)} more")
    elif len(lines) > SHOWN:
        shown.append(f"... and {len(lines) - SHOWN} more")
    return [f"{title:<8} {shown[0]}"] + [f"{'':<8} {line}" for line in shown[1:]]


def explain(events: list[Event], target: Target) -> str:
    """A short account of the events, with equivalent Python API calls."""
    # the target's own lookups carry the resolved value; the symbol layer's echo them
    symbols = _distinct([e.what for e in events if e.kind == "symbol" and "address" in e.details])
    types = _distinct([e.what for e in events if e.kind == "type" and "(size" in e.what])
    members = _distinct([e.what for e in events if e.kind == "member"])
    reads = [e for e in events if e.kind == "read" and "space" in e.details]
    dump_reads = [e for e in events if e.kind == "read" and "space" not in e.details]
    translations = [e for e in events if e.kind == "translate"]
    pages: dict[int, Event] = {}
    for e in translations:
        pages.setdefault(e.details.get("address", 0) >> 12, e)
    methods = Counter(e.details.get("method", "?") for e in pages.values())
    memory = []
    if reads:
        memory.append(f"{len(reads)} reads of {reads[0].details['space']} memory, "
                      f"{sum(e.details.get('size', 0) for e in reads)} bytes, "
                      f"{len(dump_reads)} reads of the dump"
                      + ("; pages by " + ", ".join(f"{m} {n}" for m, n in methods.items())
                         if methods else ""))
    walks = [e for e in pages.values() if e.details.get("method") == "page table"]
    memory += [e.what for e in (walks or list(pages.values()))][:SHOWN - 1]
    python = [f"k = xcrash.open(VMCORE, SYMBOLS).target({target.name!r})"]
    python += _distinct([f"k.symbol({e.details['name']!r})" for e in events
                         if e.kind == "symbol" and "name" in e.details])
    python += _distinct([f"k.type({e.details['name']!r})" for e in events
                         if e.kind == "type" and "name" in e.details])
    python += _distinct([f"k.space.read({e.details['address']:#x}, {e.details['size']})"
                         for e in reads if "address" in e.details])[:3]
    if walks:
        python.append(f"k.space.explain({walks[0].details.get('address', 0) or 0:#x})"
                      if walks[0].details.get("address") else "k.space.explain(ADDRESS)")
    lines = ["-- how xcrash found this --"]
    lines += _section("symbols", symbols)
    lines += _section("types", types)
    lines += _section("members", members)
    lines += _section("memory", memory)
    lines += _section("python", python)
    lines += _section("caveats", _distinct([e.what for e in events if e.kind == "caveat"]))
    if len(lines) == 1:
        lines.append("(nothing was read from the dump)")
    return "\n".join(lines)


# -- what the kernel keeps, and the program ----------------------------------------------
#: the line after which --explain prints its program
PROGRAM_LINE = "-- as a program --"
WIDTH = 96


def program_text(session: Session, target: Target, teaching: Teaching) -> str:
    """The teaching's program, opening the session's own dump and symbol files and
    selecting its target: runs as printed (``python -c``) and prints the same answer."""
    opened = getattr(session, "opened_with", None)
    if opened is not None:
        args = [repr(opened.vmcore)] + [repr(p) for p in opened.paths]
        if opened.symbols_for:
            args.append(f"symbols_for={opened.symbols_for!r}")
    else:       # a session not opened from files (tests'): the reader fills them in
        args = ["VMCOREFILE", "SYMBOLFILE"]
    lines = ["import xcrash"] + teaching.imports
    lines += ["", f"session = xcrash.open({', '.join(args)})",
              f"{teaching.variable} = session.select({target.name!r})"]
    lines += teaching.body
    return "\n".join(lines)


def teaching_lines(session: Session, target: Target, teaching: Teaching) -> list[str]:
    """The sentences (wrapped), the details, then the program after PROGRAM_LINE."""
    lines = ["-- what the kernel keeps --"]
    for sentence in teaching.sentences:
        lines += textwrap.wrap(sentence, WIDTH, break_on_hyphens=False,
                               break_long_words=False) or [""]
    lines += [f"{'steps' if i == 0 else '':<8} {d}" for i, d in enumerate(teaching.details)]
    if teaching.body:
        lines += [PROGRAM_LINE, program_text(session, target, teaching)]
    return lines
