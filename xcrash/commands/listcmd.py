"""list: follow a linked list through memory, as crash's `list` does.

The walk (crash's do_list: its ends, its errors) and the entries' records come from
``targets/walks.py``; the layout (address, then each structure with -s/-S) from
``layouts/values.py``.
"""
from __future__ import annotations

import re
from functools import partial
from typing import TYPE_CHECKING, Any

from ..errors import CommandError, MemoryError_, NoSuchMember, NoSuchType, XcrashError
from ..expr import Evaluator
from ..layouts.values import walk_lines
from ..objects import Object
from ..results import Records, text_lines
from ..targets import typeinfo, walks
from ..targets.walks import ShownStruct
from .args import looks_hex, parse_address, parse_number
from .base import Command, Context, Option

if TYPE_CHECKING:
    from ..targets.base import Target

#: x86_64 kernel virtual addresses start here (crash's IS_KVADDR)
KERNEL_SPACE = 0xFFFF800000000000


def offset_of(target: Target, text: str | None, what: str = "-o argument") -> int:
    """An offset as crash takes one: a number (decimal, or hex with 0x or a hex letter),
    or ``struct.member`` (its offset)."""
    if not text:
        return 0
    if "." in text:
        struct, _, member = text.partition(".")
        t = _aggregate(target, struct)
        try:
            if t is None:
                raise NoSuchType(struct)
            return typeinfo.path_offset(t, member)[0]
        except (NoSuchMember, NoSuchType, CommandError):
            raise CommandError(f"invalid {what}: {text}") from None
    if re.fullmatch(r"(0[xX])?[0-9a-fA-F]+", text) is None:
        raise CommandError(f"invalid {what}: {text}")
    return parse_number(text, 10) if text.isdigit() else int(text, 16)


def _aggregate(target: Target, name: str) -> Any:
    for kind in ("struct", "union"):
        t = typeinfo.find_aggregate(target, name, kind)
        if t is not None:
            return t
    return None


def start_of(target: Target, text: str) -> int:
    """Where a walk starts: an address, a symbol, or an expression naming an object
    (``init_task.tasks``: the object's address)."""
    if "." in text and not text.startswith("("):
        value = Evaluator(target).evaluate(text)
        if isinstance(value, Object) and value.address_ is not None:
            return value.address_
    return parse_address(target, text)


def shown_struct(target: Target, spec: str, fast: bool = False) -> ShownStruct:
    """An -s/-S argument ``struct[.member[,member]]``: the type, and the members to
    show (checked now, so that a misspelt one fails before the walk)."""
    name, _, member_list = spec.partition(".")
    t = _aggregate(target, name)
    if t is None:
        raise CommandError(f"invalid data structure reference: {name}")
    members = [m for m in member_list.split(",") if m]
    for m in members:
        try:
            typeinfo.path_offset(t, m)
        except (NoSuchMember, CommandError):
            raise CommandError(f"Can't get offset of '{name}.{m}'" if fast else
                               f"invalid data structure reference: {name}.{m}") from None
    return ShownStruct(t, members, fast)


def shown_type(target: Target, spec: str | None) -> tuple[Any, list[str]]:
    """``tree``'s -s argument: (type, members), (None, []) without one."""
    if not spec:
        return None, []
    shown = shown_struct(target, spec)
    return shown.type, shown.members


class ListCmd(Command):
    name = "list"
    synopsis = ("list [[-o] offset][-e end][-[s|S] struct[.member[,member] [-l offset]] -[x|d]]"
                " [-r|-B] [-h [-O head_offset]|-H] start")
    summary = "walk a linked list"
    group = "memory"
    description = """\
Prints the address of each entry of a linked list, as crash's do_list walks it.
`start` is the first entry, whose next pointer (at the -o offset) holds the next
entry's address; the walk stops at NULL, at -e's end, back at the start or the
first entry.  With -H, start is a `struct list_head` heading a list of embedded
list_heads (the entries are each node less the offset; `(empty)` for an empty
list); with -h, start is an entry that holds the list_head at the offset (-O: the
head's list_head sits at another offset); -r walks a list_head list backwards.
An offset is a number or struct.member, given with -o or as an argument.  -s shows
each entry as a structure (or its members: nested paths like `se.on_rq` work),
-S the same members read straight from memory (crash's faster form: unsigned
numbers, pointers in hex); -l says where in that structure the list's pointer
sits, when start points at it.  -B detects a loop by Brent's algorithm.  A node
seen twice, or one that cannot be read, ends the walk with crash's error after the
entries shown.
"""
    example = ("list -H super_blocks -s super_block.s_id\n"
               "list task_struct.tasks -h init_task -S task_struct.pid,comm")
    options = (Option("-o", "offset", "where the next pointer (or list_head) sits in each entry",
                      takes_value=True, metavar="offset"),
               Option("-e", "end", "the list ends at this address", takes_value=True,
                      metavar="end"),
               Option("-s", "show", "show each entry as that structure (or those members)",
                      takes_value=True, repeat=True, metavar="struct[.member,...]"),
               Option("-S", "fast", "the same, members read straight from memory",
                      takes_value=True, repeat=True, metavar="struct[.member,...]"),
               Option("-l", "struct_offset", "with -s/-S: the list's pointer sits at this "
                      "offset in the structure", takes_value=True, metavar="offset"),
               Option("-x", "hex", "structure values in hexadecimal"),
               Option("-d", "dec", "structure values in decimal"),
               Option("-r", "reverse", "a list_head list backwards (its prev pointers)"),
               Option("-B", "brent", "detect loops by Brent's algorithm"),
               Option("-h", "head_entry", "start is an entry holding the list_head"),
               Option("-O", "head_offset", "with -h: the head's list_head offset",
                      takes_value=True, metavar="head_offset"),
               Option("-H", "head", "start is a list head"))
    exclusive = (("hex", "dec"), ("show", "fast"))

    def run(self, ctx: Context, args: list[str]) -> Records:
        opts, rest = self.parse(args)
        target = ctx.target
        if len(rest) > 2:
            raise CommandError(f"too many arguments; usage: {self.usage()}")
        offset = offset_of(target, opts["offset"]) if opts["offset"] is not None else None
        start: int | None = None
        for i, word in enumerate(rest):
            if "." in word and not word.startswith("(") and _is_member_spec(target, word):
                if offset is not None:
                    raise CommandError(f"offset value {offset} ({offset:#x}) already entered")
                offset = offset_of(target, word)
                continue
            sym = _symbol(target, word)
            if sym is not None or word.startswith("(") or not looks_hex(word):
                if start is not None:
                    raise CommandError("list start already entered")
                start = sym.address if sym is not None else _evaluated(target, word)
                continue
            if start is not None:
                offset = parse_number(word, 10) if word.isdigit() else int(word, 16)
                break
            if offset is not None or i == len(rest) - 1:
                start = _kernel_address(word)
                break
            nxt = rest[i + 1]
            if _symbol(target, nxt) is not None or "." in nxt or nxt.startswith("("):
                offset = parse_number(word, 10) if word.isdigit() else int(word, 16)
                continue
            value = int(word, 16)
            if value >= KERNEL_SPACE and not word.isdigit():
                start = value
                continue
            offset = parse_number(word, 10) if word.isdigit() else int(word, 16)
        if start is None:
            raise CommandError(f"starting address required; usage: {self.usage()}")
        shows = [shown_struct(target, spec) for spec in opts["show"]] + \
            [shown_struct(target, spec, fast=True) for spec in opts["fast"]]
        struct_offset = 0
        if opts["struct_offset"] is not None:
            if not shows:
                raise CommandError("-l option can only be used with -s or -S option")
            if offset is not None:
                raise CommandError("-l and -o are mutually exclusive")
            struct_offset = offset_of(target, opts["struct_offset"], "-l option")
        member_offset = offset or 0
        head_offset = 0
        end = parse_address(target, opts["end"]) if opts["end"] else 0
        head_format = opts["head"] or opts["head_entry"] or opts["reverse"]
        radix = 16 if opts["hex"] else 10 if opts["dec"] else int(ctx.settings.get("radix", 10))
        if head_format:
            head_offset = member_offset
            member_offset = 8 if opts["reverse"] else 0
            if opts["head"] or opts["head_offset"] is not None:
                at = start + (0 if opts["head"] else
                              offset_of(target, opts["head_offset"], "-O argument"))
                if not end:
                    end = start if opts["head"] else at
                try:
                    start = target.space.read_u64(at + (member_offset if opts["head"] else 0))
                except MemoryError_ as err:
                    raise CommandError(f"LIST_HEAD contents: {err}") from None
                if start == end:
                    return text_lines("(empty)")
            else:
                start += head_offset
        walk = walks.crash_list(target, start, member_offset, end=end,
                                head_format=bool(head_format), brent=opts["brent"])
        addresses = (node - head_offset for node in walk)
        return Records(walks.walk_entries(target, addresses, "list", shows, struct_offset),
                       partial(walk_lines, radix=radix))


def _is_member_spec(target: Target, word: str) -> bool:
    name, _, member = word.partition(".")
    t = _aggregate(target, name)
    if t is None or not member:
        return False
    try:
        typeinfo.path_offset(t, member)
        return True
    except (NoSuchMember, CommandError):
        return False            # not struct.member: a start expression


def _symbol(target: Target, word: str) -> Any:
    try:
        return target.symbol(word)
    except XcrashError:
        return None             # not a symbol: a number or an expression


def _evaluated(target: Target, word: str) -> int:
    try:
        value = start_of(target, word)
    except CommandError:
        raise CommandError(f"invalid argument: {word}") from None
    if value < KERNEL_SPACE and getattr(target, "kind", "") == "linux":
        raise CommandError(f"invalid argument: {word}")
    return value


def _kernel_address(word: str) -> int:
    value = int(word, 16)
    if value < KERNEL_SPACE:
        raise CommandError(f"invalid kernel virtual address: {word}")
    return value


COMMANDS = [ListCmd]
