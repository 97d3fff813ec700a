"""search: find a value or a string in memory.

The hits come from ``targets/memory.py`` as they are found, so a search over all
memory streams; this module reads the options and lays the hits out.
"""
from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from typing import Any

from ..errors import CommandError
from ..results import Column, Records
from ..targets.memory import Needle, SearchHit, direct_map_base, search_memory, search_user
from .args import parse_address, parse_number
from .base import Command, Context, Option

MAX_HITS = 10000


def hit_lines(hits: Iterable[SearchHit]) -> Iterator[str]:
    for hit in hits:
        yield f"{hit.address:x}: {hit.shown}"


COLUMNS = [Column("ADDRESS", "address", fmt=lambda v: f"{v:x}"), Column("FOUND", "shown")]


class Search(Command):
    name = "search"
    arguments = "value | string ..."
    summary = "search memory for a value or a string"
    group = "memory"
    description = """\
Searches every page the dump holds for an aligned 64-bit value (default), a
32-bit value (-w) or a string (-c; with the characters that follow each hit).
Hits are shown as kernel (direct-map) virtual addresses (the default on a Linux
target) or physical addresses (-p, the default on a target without a direct
map), or, with -u, in the user memory of the current context task (`set PID`),
found by walking its page tables.  Pages makedumpfile excluded are skipped;
other pages that cannot be read are counted in a warning.  Hits are shown as
they are found.  Unlike crash, the search runs over physical memory once, so
it also finds data that no kernel virtual mapping covers, and -l is a number of
hits (crash's -l is a length).
"""
    example = 'search -c xc-crasher\nsearch -l 2 ffffffffa6214600'
    options = (Option("-s", "start", "start address (of the kind shown)", takes_value=True,
                      metavar="start"),
               Option("-e", "end", "end address (of the kind shown)", takes_value=True,
                      metavar="end"),
               Option("-k", "kernel", "kernel virtual addresses (the default)"),
               Option("-p", "physical", "physical addresses"),
               Option("-u", "user", "the user memory of the current context task"),
               Option("-c", "chars", "search for strings"),
               Option("-w", "word", "32-bit values"),
               Option("-l", "limit", f"stop after this many hits of a pattern "
                      f"(default {MAX_HITS})", takes_value=True, metavar="limit"))

    def run(self, ctx: Context, args: list[str]) -> Records:
        opts, rest = self.parse(args)
        if not rest:
            raise CommandError(f"usage: {self.usage()}")
        target = ctx.target
        limit = parse_number(opts["limit"], 10) if opts["limit"] else MAX_HITS
        if limit <= 0:
            raise CommandError(f"search: invalid hit limit: {opts['limit']}")
        needles = [self._needle(arg, opts) for arg in rest]
        if opts["user"]:
            from ..targets.linux.kernel import LinuxTarget
            if not isinstance(target, LinuxTarget):
                raise CommandError("search: -u needs a task context (a Linux target)")
            start = parse_number(opts["start"], 16) if opts["start"] else 0
            end = parse_number(opts["end"], 16) if opts["end"] else 1 << 47
            hits = search_user(target.user_pages, needles, start=start, end=end, limit=limit,
                               check=ctx.check)
            return Records(hits, hit_lines, columns=COLUMNS)
        base = direct_map_base(target)
        virtual = not opts["physical"] and base is not None
        to_phys = (lambda a: a - base) if virtual and base is not None else (lambda a: a)
        start = to_phys(parse_address(target, opts["start"])) if opts["start"] else 0
        end = to_phys(parse_address(target, opts["end"])) if opts["end"] else 1 << 64
        # a Xen guest searches its own frames (its p2m), not all of machine memory
        from ..targets.xen.guests import PvLinuxTarget
        ranges = (target.memory_ranges() if isinstance(target, PvLinuxTarget)
                  else ctx.session.dump.ranges())
        hits = search_memory(target, ranges, needles, virtual=virtual, start=start, end=end,
                             limit=limit, interrupted=ctx.interrupted)
        return Records(hits, hit_lines, columns=COLUMNS)

    @staticmethod
    def _needle(arg: str, opts: dict[str, Any]) -> Needle:
        if opts["chars"]:
            return Needle(arg, arg.encode(), 1, chars=True)
        if opts["word"]:
            return Needle(arg, struct.pack("<I", parse_number(arg, 16) & 0xFFFFFFFF), 4)
        return Needle(arg, struct.pack("<Q", parse_number(arg, 16) & (2**64 - 1)), 8)


COMMANDS = [Search]
