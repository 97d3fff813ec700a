"""waitq: the tasks waiting on a wait queue, as crash lists them."""
from __future__ import annotations

from functools import partial
from collections.abc import Iterable, Iterator

from ..errors import CommandError, NoSuchSymbol, XcrashError
from ..layouts.tasks import task_header
from ..results import Column, Records
from ..targets.linux.taskinfo import TaskRef
from ..targets.linux.waitq import waiters
from .args import linux_target, looks_hex, parse_number
from .base import Command, Context

COLUMNS = [Column("PID", "pid", "right"), Column("TASK", "task", fmt=lambda v: f"{v:x}"),
           Column("CPU", "cpu", "right"), Column("COMMAND", "comm")]


def waitq_lines(tasks: Iterable[TaskRef], *, label: str) -> Iterator[str]:
    """A task header per waiting task, or crash's "wait queue ... is empty"."""
    empty = True
    for t in tasks:
        empty = False
        yield task_header(t)
    if empty:
        yield f"wait queue {label} is empty"


class Waitq(Command):
    name = "waitq"
    synopsis = "waitq symbol | struct.member address | address"
    summary = "tasks waiting on a wait queue"
    group = "linux"
    targets = ("linux",)
    description = """\
The tasks queued on a wait_queue_head, one task header each: the head given
as a global variable, as a member of a structure at an address
(pipe_inode_info.rd_wait ffff...), or by its address.
"""
    example = "waitq log_wait\nwaitq pipe_inode_info.rd_wait ffff975a80b78b40"

    def run(self, ctx: Context, args: list[str]) -> Records:
        _opts, rest = self.parse(args)
        target = linux_target(ctx)
        name = None
        if len(rest) == 1 and looks_hex(rest[0]):
            head = parse_number(rest[0], 16)
        elif len(rest) == 1:
            name = rest[0]
            try:
                head = target.address_of(name)
            except NoSuchSymbol:
                raise CommandError(f"waitq: symbol not found: {name}") from None
        elif len(rest) == 2 and "." in rest[0]:
            struct, _, member = rest[0].partition(".")
            try:
                offset = target.offsetof(f"struct {struct}", member)
            except XcrashError:
                raise CommandError(f"waitq: {member} is not a member of {struct}") from None
            head = parse_number(rest[1], 16) + offset
        else:
            raise CommandError(f"usage: {self.usage()}")
        label = f'"{name}" ({head:x})' if name else f"{head:x}"
        found = waiters(target, head)
        return Records(found, partial(waitq_lines, label=label), columns=COLUMNS if found else ())


COMMANDS = [Waitq]
