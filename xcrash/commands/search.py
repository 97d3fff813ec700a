"""search: find values or strings in memory, where crash's search looks.

The hits come from ``targets/search.py`` as they are found (over the kernel's regions
of ``targets/linux/searchranges.py``, a task's user memory, physical memory or the
tasks' stacks), so a long search streams; this module reads the options and lays the
hits out as crash does.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from ..errors import CommandError
from ..memory.space import AddressSpace
from ..results import Column, Records
from ..targets.linux.context import current_task
from ..targets.linux.kernel import LinuxTarget
from ..layouts.tasks import task_header
from ..targets.linux.taskinfo import TaskRef
from ..targets.memory import direct_map_base
from ..targets.search import (MODES, Needle, PhysicalRun, Region, SearchNote, page_chunks,
                              physical_pages, say_unreadable, search_regions)
from .args import parse_address, parse_number
from .base import Command, Context, Option
from .rd import word_lines

#: where user space ends (crash's USERSPACE_TOP on x86_64, 4-level)
USER_TOP = 1 << 47


def hit_lines(records: Iterable[Any]) -> Iterator[str]:
    """crash's lines: ``address: value (label)`` or ``address: characters``; with -x the
    units before and after each hit; a task's header before its stack's hits."""
    first_task = True
    for r in records:
        if isinstance(r, SearchNote):
            yield f"search: {r.text}"
        elif isinstance(r, TaskRef):
            if not first_task:
                yield ""
            first_task = False
            yield task_header(r)
        elif r.before or r.after:
            unit = (r.after or r.before)[0].size
            if r.before:
                yield from word_lines(r.before, start=r.before[0].address, unit=unit)
            yield f"{r.address:>16x}:  {r.shown}"
            if r.after:
                yield from word_lines(r.after, start=r.after[0].address, unit=unit)
            yield ""
        else:
            yield f"{r.address:x}: {r.shown}"


COLUMNS = [Column("ADDRESS", "address", fmt=lambda v: f"{v:x}"), Column("FOUND", "shown")]


class Search(Command):
    name = "search"
    arguments = "value | (expression) | symbol | string ..."
    summary = "search memory for values or strings"
    group = "memory"
    description = """\
Searches memory for aligned 64-bit values (the default), 32-bit (-w) or 16-bit (-h)
values, or strings (-c; each hit with the characters that follow it), as crash does.
A value may be hexadecimal, a symbol (its address) or a parenthesised expression;
a hit shows the value found and, for a symbol or an expression, what was typed.
-m MASK: the bits set in MASK do not matter.  -x COUNT: the COUNT units before and
after each hit too.

Where: kernel virtual memory by default (-k), region by region as crash's search
goes (direct map, vmalloc areas and modules, the struct page map, the kernel image
mapping, which shows the physical memory under it a second time); -K leaves out the
vmalloc areas, the modules and the struct page map, -V the direct map and the
kernel image; -u the user memory of the context task (`set PID`); -p physical
memory; -t every task's kernel stack, -T the active tasks' (a task's header before
its hits).  -s START (an address of that kind, or a symbol), -e END or -l LENGTH
(bytes) bound the search.  Pages the dump does not hold are skipped; other pages
that cannot be read are counted in a warning.  -n COUNT stops after COUNT hits of
each pattern (xcrash's: crash has no limit; crash's -l is the length).

On the Xen hypervisor, and in a Xen PV guest (its own frames only), the search runs
over physical memory and shows physical addresses (guests: direct-map addresses).
"""
    example = 'search -c xc-crasher\nsearch sysrq_handle_crash\nsearch -t ffff975a80191480'
    options = (Option("-s", "start", "start address (of the kind searched) or symbol",
                      takes_value=True, metavar="start"),
               Option("-e", "end", "end address or symbol", takes_value=True, metavar="end"),
               Option("-l", "length", "length in bytes of the range searched",
                      takes_value=True, metavar="length"),
               Option("-k", "kernel", "kernel virtual memory (the default)"),
               Option("-K", "nonmapped", "the same without the vmalloc areas, the modules "
                      "and the struct page map"),
               Option("-V", "mapped", "the same without the direct map and the kernel image"),
               Option("-u", "user", "the user memory of the context task"),
               Option("-p", "physical", "physical memory"),
               Option("-t", "stacks", "every task's kernel stack"),
               Option("-T", "active", "the active tasks' kernel stacks"),
               Option("-m", "mask", "ignore the bits set in this (hex) mask",
                      takes_value=True, metavar="mask"),
               Option("-c", "chars", "search for strings"),
               Option("-w", "word", "32-bit values"),
               Option("-h", "half", "16-bit values"),
               Option("-x", "context", "show this many units before and after each hit",
                      takes_value=True, metavar="count"),
               Option("-n", "limit", "stop after this many hits of each pattern (xcrash's "
                      "option; crash has none)", takes_value=True, metavar="count"))

    def run(self, ctx: Context, args: list[str]) -> Records:
        opts, rest = self.parse(args)
        target = ctx.target
        mode = self._mode(opts)
        where = [f for f, d in (("-k", "kernel"), ("-K", "nonmapped"), ("-V", "mapped"),
                                ("-u", "user"), ("-p", "physical")) if opts[d]]
        tasks = "t" if opts["stacks"] else "T" if opts["active"] else ""
        if opts["stacks"] and opts["active"]:
            raise CommandError("search: -t and -T options are mutually exclusive")
        if tasks and (where or opts["start"] or opts["end"] or opts["length"]):
            raise CommandError(f"search: -{tasks} option cannot be used with other "
                               "memory-selection options")
        if not rest or opts["end"] and opts["length"]:
            raise CommandError(f"usage: {self.usage()}")
        mask = parse_number(opts["mask"], 16) if opts["mask"] else 0
        context = parse_number(opts["context"], 10) if opts["context"] else 0
        if context and mode == "chars":
            raise CommandError("search: -x option is not allowed with -c")
        most = 4096 // MODES[mode] if mode != "chars" else 0
        if context > most:
            raise CommandError(f"search: context value {context} is too large: maximum "
                               f"is {most}")
        limit = parse_number(opts["limit"], 10) if opts["limit"] else None
        if limit is not None and limit <= 0:
            raise CommandError(f"search: invalid hit limit: {opts['limit']}")
        notes: list[SearchNote] = []
        if mask and mode == "chars":
            notes.append(SearchNote("mask ignored on string search"))
            mask = 0
        needles = [self._needle(target, a, mode, mask) for a in rest if a]
        if not isinstance(target, LinuxTarget) or hasattr(target, "p2m"):
            if where and where != ["-p"] or tasks:
                raise CommandError(f"search: {' '.join(where) or '-' + tasks}: not "
                                   f"applicable to the {target.kind} target (its search "
                                   "runs over physical memory)")
            return self._physical(ctx, opts, needles, limit, context, notes)
        return self._linux(ctx, target, opts, needles, where, tasks, limit, context, notes)

    @staticmethod
    def _mode(opts: dict[str, Any]) -> str:
        modes = [m for m, d in (("chars", "chars"), ("uint", "word"), ("ushort", "half"))
                 if opts[d]]
        # crash: the last of -c, -w, -h given wins (with a warning); here one is allowed
        if len(modes) > 1:
            raise CommandError("search: only one of -c, -w and -h")
        return modes[0] if modes else "ulong"

    @staticmethod
    def _needle(target: Any, arg: str, mode: str, mask: int) -> Needle:
        """A hexadecimal value, a symbol's address or an expression's value (crash's
        order: an expression, a symbol, a number)."""
        if mode == "chars":
            return Needle(arg, arg.encode(), "chars")
        label = ""
        if arg.startswith("("):
            value, label = _expression(target, arg), arg
        elif target.symbols is not None and target.symbols.get(arg) is not None:
            value, label = target.address_of(arg), f"({arg})"
        else:
            try:
                value = int(arg, 16)
            except ValueError:
                raise CommandError(f"search: invalid number or symbol: {arg}") from None
        bits = 8 * MODES[mode]
        if value >> bits:
            flag = "-w" if mode == "uint" else "-h"
            if mode != "ulong":
                raise CommandError(f"search: value too large for {flag} option: {value:x} "
                                   f"{label}".rstrip())
            value &= (1 << 64) - 1
        return Needle(arg, value, mode, mask, "" if mask else label)

    def _linux(self, ctx: Context, target: LinuxTarget, opts: dict[str, Any],
               needles: list[Needle], where: list[str], tasks: str, limit: int | None,
               context: int, notes: list[SearchNote]) -> Records:
        from ..targets.linux import searchranges
        from ..targets.linux.context import task_index
        from ..targets.linux.tasks import active_tasks
        unreadable: list[Any] = []
        space: AddressSpace = target.space
        if tasks:
            index = task_index(target)
            chosen = index.in_pid_order()
            if tasks == "T":
                active = set(active_tasks(target).values())
                chosen = [t for t in chosen if t in active]
            regions: Iterable[Region] = searchranges.stack_regions(target, chosen)
            start, end = 0, 1 << 64
        elif "-u" in where:
            task = current_task(target)
            if task is None or not int(target.object_at("struct task_struct", task).mm):
                raise CommandError("search: current context has no user address space")
            start, end = self._bounds(target, opts, notes, 0, USER_TOP, "user")
            space = target.user_space(task)
            regions = [Region("user", page_chunks(target.user_pages(start, end, task)))]
        elif "-p" in where:
            start, end = self._bounds(target, opts, notes, 0, 1 << 52, "physical")
            ranges = target.dump.ranges() if target.dump is not None else []
            valid = searchranges.valid_frames(target)
            regions = [Region("physical", physical_pages(
                target.space.phys, ranges, start=start, end=end, valid=valid,
                unreadable=unreadable), physical=PhysicalRun(target.phys_space, ranges, 0,
                                                             valid, start, end))]
            space = target.phys_space
        else:
            kinds = searchranges.kernel_ranges(target)
            start, end = self._bounds(target, opts, notes, kinds[0][0],
                                      max(k[1] for k in kinds), "kernel")
            leave_out = (searchranges.NOT_K if "-K" in where else
                         searchranges.NOT_V if "-V" in where else ())
            regions = searchranges.kernel_regions(target, start, end, leave_out, unreadable)

        def hits() -> Iterator[Any]:
            yield from notes
            yield from search_regions(regions, needles, start=start, end=end, limit=limit,
                                      context=context, space=space, check=ctx.check,
                                      unreadable=unreadable)
            say_unreadable(unreadable)
        return Records(hits(), hit_lines, columns=COLUMNS)

    @staticmethod
    def _bounds(target: LinuxTarget, opts: dict[str, Any], notes: list[SearchNote],
                start: int, end: int, kind: str) -> tuple[int, int]:
        """[start, end) of the search: -s, -e or -l over the default; a start not on a
        long is rounded down as crash does (and says)."""
        if opts["start"]:
            start = _address(target, opts["start"])
            if kind == "kernel" and start < target.space.page_offset:
                raise CommandError(f"search: invalid kernel virtual address: {start:x}")
            if kind == "user" and start >= USER_TOP:
                raise CommandError(f"search: invalid user virtual address: {start:x}")
        elif kind == "user":
            start = _first_user_address(target)
        if opts["end"]:
            end = _address(target, opts["end"])
            if not end:
                raise CommandError("search: invalid ending address: 0")
        elif opts["length"]:
            end = start + parse_number(opts["length"], 10)
        if end < start:
            raise CommandError(f"search: ending address {end:x} is below starting address "
                               f"{start:x}")
        if start & 7:
            start &= ~7
            notes.append(SearchNote(f"rounding down start address to: {start:x}"))
        return start, end

    @staticmethod
    def _physical(ctx: Context, opts: dict[str, Any], needles: list[Needle],
                  limit: int | None, context: int, notes: list[SearchNote]) -> Records:
        """The hypervisor's or a Xen PV guest's search: its physical frames (a guest's
        own), shown as physical (a guest: direct-map) addresses."""
        from ..targets.xen.guests import PvLinuxTarget
        target = ctx.target
        base = direct_map_base(target)
        offset = base if base is not None and not opts["physical"] else 0
        start = _address(target, opts["start"]) - offset if opts["start"] else 0
        end = (_address(target, opts["end"]) - offset if opts["end"] else
               start + parse_number(opts["length"], 10) if opts["length"] else 1 << 64)
        ranges = (target.memory_ranges() if isinstance(target, PvLinuxTarget)
                  else ctx.session.dump.ranges())
        unreadable: list[Any] = []
        region = Region("physical", physical_pages(target.phys_space, ranges, offset=offset,
                                                   start=start + offset, end=end + offset,
                                                   unreadable=unreadable),
                        physical=PhysicalRun(target.phys_space, ranges, offset,
                                             lambda _p: True))
        space = target.space if offset else target.phys_space

        def hits() -> Iterator[Any]:
            yield from notes
            yield from search_regions([region], needles, start=start + offset,
                                      end=end + offset, limit=limit, context=context,
                                      space=space, check=ctx.check, unreadable=unreadable)
            say_unreadable(unreadable)
        return Records(hits(), hit_lines, columns=COLUMNS)


def _address(target: Any, text: str) -> int:
    """An address as crash's -s and -e take it: a symbol, else hexadecimal."""
    if target.symbols is not None and target.symbols.get(text) is not None:
        return int(target.address_of(text))
    try:
        return int(text, 16)
    except ValueError:
        return parse_address(target, text)


def _expression(target: Any, text: str) -> int:
    """A parenthesised value: ``(symbol+offset)`` (a function's address too), or a C
    expression."""
    inner = text[1:-1].strip() if text.endswith(")") else ""
    if inner and not inner.startswith("("):
        try:
            return parse_address(target, inner)
        except CommandError:
            pass                # not symbol+offset: a C expression, evaluated below
    return parse_address(target, text)


def _first_user_address(target: LinuxTarget) -> int:
    """crash's address_space_start: where the context task's first VMA begins."""
    from ..targets.linux.vma import vma_addresses
    task = current_task(target)
    mm = int(target.object_at("struct task_struct", task).mm) if task is not None else 0
    for vma in vma_addresses(target, mm):
        return int(target.object_at("struct vm_area_struct", vma).vm_start)
    return 0


COMMANDS = [Search]
