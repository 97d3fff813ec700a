"""search: find a value or a string in memory."""
from __future__ import annotations

import struct

from ..errors import CommandError
from ..memory.search import search_physical
from .args import parse_address, parse_number
from .base import Command, Context, Option, Result, Text

MAX_HITS = 10000
#: characters shown from a string match on, as crash shows them
CHARS_CONTEXT = 56


def printable(raw: bytes) -> str:
    return "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in raw)


class Search(Command):
    name = "search"
    synopsis = "search [-s start] [-e end] [-k|-p|-u] [-l limit] [-c|-w] value|string ..."
    summary = "search memory for a value or a string"
    group = "memory"
    description = """\
Searches every page the dump holds for an aligned 64-bit value (default), a
32-bit value (-w) or a string (-c).  Hits are shown as kernel (direct-map)
virtual addresses (-k, the default on a Linux target) or physical addresses
(-p), or, with -u, the user memory of the current context task (`set PID`),
found by walking its page tables; pages makedumpfile excluded are skipped.
  -s start / -e end   limit the search (addresses of the chosen kind)
  -l limit            stop after this many hits (default 10000)
Unlike crash, the search runs over physical memory once, so it also finds
data that no kernel virtual mapping covers on a target without one.
"""
    example = 'search -c KDUMPLAB\nsearch ffffffffaf214600'
    options = (Option("-s", "start", "start address", takes_value=True),
               Option("-e", "end", "end address", takes_value=True),
               Option("-k", "kernel", "kernel virtual addresses"),
               Option("-p", "physical", "physical addresses"),
               Option("-u", "user", "user memory of the current task"),
               Option("-c", "chars", "search for strings"),
               Option("-w", "word", "32-bit values"),
               Option("-l", "limit", "maximum hits", takes_value=True))

    def run(self, ctx: Context, args: list[str]) -> Result:
        opts, rest = self.parse(args)
        if not rest:
            raise CommandError(f"usage: {self.usage()}")
        target = ctx.target
        page_offset = getattr(target.space, "page_offset", None)
        virtual = not opts["physical"] and page_offset is not None
        to_phys = (lambda a: a - page_offset) if virtual else (lambda a: a)
        start = to_phys(parse_address(target, opts["start"])) if opts["start"] else 0
        end = to_phys(parse_address(target, opts["end"])) if opts["end"] else 1 << 64
        limit = parse_number(opts["limit"], 10) if opts["limit"] else MAX_HITS
        if opts["user"]:
            return self._user(ctx, rest, opts, limit)
        dump = ctx.session.dump
        phys = target.phys_space
        # a Xen guest searches its own frames (its p2m), not all of machine memory
        ranges = (target.memory_ranges() if hasattr(target, "memory_ranges")
                  else dump.ranges())
        lines, records = [], []
        for arg in rest:
            needle, align = self._needle(arg, opts)
            hits = 0
            for paddr in search_physical(phys, ranges, needle, align=align,
                                         start=start, end=end, interrupted=ctx.interrupted):
                shown = paddr + page_offset if virtual else paddr
                if opts["chars"]:
                    context = phys.read(paddr, min(CHARS_CONTEXT, 4096 - (paddr & 0xFFF)))
                    lines.append(f"{shown:x}: {printable(context)}")
                else:
                    lines.append(f"{shown:x}: {arg}")
                records.append({"address": shown, "physical": paddr, "pattern": arg})
                hits += 1
                if hits >= limit:
                    lines.append(f"search: stopped after {limit} hits (-l)")
                    break
        return Text("\n".join(lines), records)

    def _user(self, ctx: Context, patterns: list[str], opts: dict, limit: int) -> Text:
        """Search the pages mapped in the context task's user page tables."""
        start = parse_number(opts["start"], 16) if opts["start"] else 0
        end = parse_number(opts["end"], 16) if opts["end"] else 1 << 47
        lines, records = [], []
        for arg in patterns:
            needle, align = self._needle(arg, opts)
            hits = 0
            for vaddr, data in ctx.target.user_pages(start, end):
                ctx.check()
                pos = data.find(needle)
                while pos >= 0 and hits < limit:
                    if (vaddr + pos) % align == 0 and start <= vaddr + pos < end:
                        shown = printable(data[pos:pos + CHARS_CONTEXT]) \
                            if opts["chars"] else arg
                        lines.append(f"{vaddr + pos:x}: {shown}")
                        records.append({"address": vaddr + pos, "pattern": arg})
                        hits += 1
                    pos = data.find(needle, pos + 1)
        return Text("\n".join(lines), records)

    @staticmethod
    def _needle(arg: str, opts: dict) -> tuple[bytes, int]:
        if opts["chars"]:
            return arg.encode(), 1
        if opts["word"]:
            return struct.pack("<I", parse_number(arg, 16) & 0xFFFFFFFF), 4
        return struct.pack("<Q", parse_number(arg, 16) & (2**64 - 1)), 8


COMMANDS = [Search]
