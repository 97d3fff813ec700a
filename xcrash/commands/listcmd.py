"""list: follow a linked list through memory, as crash's `list` does.

The walk and the entries' records come from ``targets/walks.py``; the layout
(address, then the structure with -s) from ``layouts/values.py``.
"""
from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from ..errors import CommandError
from ..expr import Evaluator
from ..layouts.values import entry_lines
from ..objects import Object
from ..results import Records
from ..symbols.types import Type
from ..targets import walks
from .args import parse_address, parse_number
from .base import Command, Context, Option

if TYPE_CHECKING:
    from ..targets.base import Target


def offset_of(target: Target, text: str | None) -> int:
    """An offset as crash takes one: a number, or ``struct.member`` (its offset)."""
    if not text:
        return 0
    if "." in text:
        struct, _, member = text.partition(".")
        return target.offsetof(struct if " " in struct else f"struct {struct}", member)
    return parse_number(text, 10)


def start_of(target: Target, text: str) -> int:
    """Where a walk starts: an address, a symbol, or an expression naming an object
    (``init_task.tasks``: the object's address)."""
    if "." in text and not text.startswith("("):
        value = Evaluator(target).evaluate(text)
        if isinstance(value, Object) and value.address_ is not None:
            return value.address_
    return parse_address(target, text)


def shown_type(target: Target, spec: str | None) -> tuple[Type | None, list[str]]:
    """The -s argument ``struct[.member[,member]]``: the type, and the members to
    show (checked now, so that a misspelt one fails before the walk)."""
    if not spec:
        return None, []
    name, _, member_list = spec.partition(".")
    t = target.type(name if " " in name else f"struct {name}")
    members = [m for m in member_list.split(",") if m]
    for m in members:
        t.member_path(m)
    return t, members


class ListCmd(Command):
    name = "list"
    arguments = "start"
    summary = "walk a linked list"
    group = "memory"
    description = """\
Prints the address of each entry of a linked list.  `start` is the first entry,
whose `next` pointer (at the -o offset) holds the next entry's address; with -H,
a `struct list_head` that heads a list of embedded list_heads, whose entries are
each node less the offset.  An offset is a number or struct.member.  The walk
stops at NULL or at the start; a pointer that cannot be read or a loop ends it
with a warning; at most 4 million entries (more means corruption).
"""
    example = "list -H -o task_struct.tasks -s task_struct.comm init_task.tasks"
    options = (Option("-o", "offset", "where the next pointer (or list_head) sits in each entry",
                      takes_value=True, metavar="offset"),
               Option("-s", "show", "show each entry as that structure (or those members)",
                      takes_value=True, metavar="struct[.member,...]"),
               Option("-H", "head", "start is a list head"))

    def run(self, ctx: Context, args: list[str]) -> Records:
        opts, rest = self.parse(args)
        if len(rest) != 1:
            raise CommandError(f"usage: {self.usage()}")
        target = ctx.target
        offset = offset_of(target, opts["offset"])
        start = start_of(target, rest[0])
        t, members = shown_type(target, opts["show"])
        walk = (walks.list_head_entries(target, start, offset) if opts["head"]
                else walks.chain(target, start, offset))
        return Records(walks.shown(target, walk, "list", t, members),
                       partial(entry_lines, radix=int(ctx.settings.get("radix", 10))))


COMMANDS = [ListCmd]
