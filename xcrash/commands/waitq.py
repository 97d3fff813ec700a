"""waitq: the tasks waiting on a wait queue, as crash lists them."""
from __future__ import annotations

from ..errors import CommandError, MemoryError_, NoSuchSymbol, XcrashError
from ..objects import CorruptList
from .args import looks_hex, parse_number
from .base import Command, Context, Result, Text


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

    def run(self, ctx: Context, args: list[str]) -> Result:
        from ..targets.linux.tasks import for_each_task, task_cpu
        from ..targets.linux.waitq import waiters
        from .bt import header
        _opts, rest = self.parse(args)
        target = ctx.target
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
                offset = target.type(f"struct {struct}").member_path(member)[0] // 8
            except XcrashError:
                raise CommandError(f"waitq: {member} is not a member of {struct}") from None
            head = parse_number(rest[1], 16) + offset
        else:
            raise CommandError(f"usage: {self.usage()}")
        tasks = {t.address_: t for t in for_each_task(target)}
        stacks = {}
        for addr, t in tasks.items():
            try:
                stacks[int(t.stack)] = addr
            except (MemoryError_, XcrashError):
                continue
        try:
            found = waiters(target, head, stacks)
        except CorruptList:
            found = []          # not a list at all: crash calls it empty too
        except MemoryError_ as e:
            raise CommandError(f"waitq: {e}") from None
        if not found:
            label = f'"{name}" ({head:x})' if name else f"{head:x}"
            return Text(f"wait queue {label} is empty", [])
        return Text("\n".join(header(tasks[t], task_cpu(tasks[t])) for t in found),
                    [{"task": t, "pid": int(tasks[t].pid)} for t in found])


COMMANDS = [Waitq]
