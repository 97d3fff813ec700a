"""list: follow a linked list through memory, as crash's `list` does."""
from __future__ import annotations

from typing import Iterator

from ..errors import CommandError, MemoryError_
from ..objects import CorruptList, LIST_LIMIT, Object, list_for_each
from .args import parse_address, parse_number
from .base import Command, Context, Option, Result, Text
from .datatypes import formatter
from .valueformat import member_line, member_of


def entry_lines(ctx: Context, entries: list[int], show: str | None) -> list[str]:
    """Each entry's address, and with ``show`` ("struct[.member,member]") the
    structure (or those members) at that address, as crash's list/tree -s do."""
    target = ctx.target
    lines: list[str] = []
    fmt = formatter(ctx)
    show_type, members = None, []
    if show:
        name, _, member_list = show.partition(".")
        show_type = target.type(name if " " in name else f"struct {name}")
        members = [m for m in member_list.split(",") if m]
    for addr in entries:
        ctx.check()
        lines.append(f"{addr:x}")
        if show_type is not None:
            obj = Object(target, show_type, addr)
            if members:
                lines.extend(member_line(fmt, m, member_of(obj, m)) for m in members)
            else:
                lines.append(f"{show_type.display_name()} {fmt.value(obj, 0)}")
    return lines


class ListCmd(Command):
    name = "list"
    synopsis = "list [-o offset | -o struct.member] [-s struct[.member[,member]]] [-H] start"
    summary = "walk a linked list"
    group = "memory"
    description = """\
Prints the address of each entry of a linked list.
  start           the first entry, whose `next` pointer (at the offset) holds
                  the next entry's address; or, with -H, a `struct list_head`
                  that heads a list of embedded list_heads
  -o offset       where the next pointer (or list_head) sits in each entry:
                  a number or struct.member
  -s struct[.m]   show each entry as that structure (or just those members)
  -H              start is a list head; entries are `node - offset`
The walk stops at NULL, at the start, or on a loop, and says so; at most
4 million entries (more means corruption).
"""
    example = "list -H -o task_struct.tasks -s task_struct.comm init_task.tasks"
    options = (Option("-o", "offset", "offset of the next pointer", takes_value=True),
               Option("-s", "show", "structure to show per entry", takes_value=True),
               Option("-H", "head", "start is a list_head"))

    def run(self, ctx: Context, args: list[str]) -> Result:
        opts, rest = self.parse(args)
        if len(rest) != 1:
            raise CommandError(f"usage: {self.usage()}")
        target = ctx.target
        offset = self._offset(target, opts["offset"])
        start = self._start(target, rest[0])
        entries: list[int] = []
        problem = None
        try:
            walk = ((node - offset for node in list_for_each(target, start)) if opts["head"]
                    else self._follow(target, start, offset))
            for addr in walk:
                entries.append(addr)
        except CorruptList as err:
            problem = str(err)
        except MemoryError_ as err:
            problem = f"list: {err}"
        lines = entry_lines(ctx, entries, opts["show"])
        if problem:
            lines.append(problem)
        return Text("\n".join(lines), [{"address": a} for a in entries])

    @staticmethod
    def _offset(target: object, text: str | None) -> int:
        if not text:
            return 0
        if "." in text:
            struct, _, member = text.partition(".")
            t = target.type(struct if " " in struct else f"struct {struct}")  # type: ignore[attr-defined]
            return t.member_path(member)[0] // 8
        return parse_number(text, 10)

    @staticmethod
    def _start(target: object, text: str) -> int:
        if "." in text and not text.startswith("("):
            from ..expr import Evaluator
            value = Evaluator(target).evaluate(text)
            if isinstance(value, Object) and value.address_ is not None:
                return value.address_
        return parse_address(target, text)

    @staticmethod
    def _follow(target: object, start: int, offset: int) -> Iterator[int]:
        read = target.space.read_u64  # type: ignore[attr-defined]
        seen: set[int] = set()
        addr = start
        while addr and addr not in seen:
            if len(seen) >= LIST_LIMIT:
                raise CorruptList(start, addr, f"more than {LIST_LIMIT} entries")
            seen.add(addr)
            yield addr
            addr = read(addr + offset)
            if addr in seen and addr != start:
                raise CorruptList(start, addr, "loop that does not return to the start")


COMMANDS = [ListCmd]
