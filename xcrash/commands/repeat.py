"""repeat: a command again and again until Ctrl-C, and gdb: no gdb here."""
from __future__ import annotations

import time
from collections.abc import Iterator

from ..errors import CommandError
from ..results import Records
from .base import ANY_TARGET, Command, Context, Result
from .crashvars import NO_GDB


class Repeat(Command):
    name = "repeat"
    synopsis = "repeat [-seconds] command"
    summary = "run a command repeatedly until Ctrl-C"
    group = "session"
    targets = ANY_TARGET
    description = """\
Runs the command again and again, waiting the given number of seconds between
runs, until Ctrl-C (crash: "meant for use on a live system"; on a dump each
run shows the same).  The delay must come before the command.  Without
Ctrl-C (in a batch run) it does not end, as crash's.
"""
    example = "help repeat"

    def run(self, ctx: Context, args: list[str]) -> Iterator[Records]:
        delay = 0.0
        if args and args[0].startswith("-") and args[0][1:].replace(".", "", 1).isdigit():
            delay = float(args[0][1:])
            args = args[1:]
        if not args:
            raise CommandError(f"usage: {self.synopsis}")
        if ctx.registry is None:
            raise CommandError("no command registry in this context")
        cmd = ctx.registry.get(args[0])
        if cmd is None or cmd.name == "repeat":
            raise CommandError(f"{args[0]}: not a command repeat can run")
        if not cmd.works_on(ctx.target.kind):
            raise CommandError(f"{args[0]}: not available on the {ctx.target.kind} target")
        return self._runs(ctx, cmd, args[1:], delay)

    @staticmethod
    def _runs(ctx: Context, cmd: Command, args: list[str], delay: float) -> Iterator[Records]:
        while True:
            ctx.check()
            yield from _records(cmd.run(ctx, list(args)))
            waited = 0.0
            while waited < delay:
                ctx.check()
                time.sleep(min(0.1, delay - waited))
                waited += 0.1


def _records(result: Result) -> Iterator[Records]:
    """A command's result as a stream of Records (lists and generators flattened)."""
    if isinstance(result, Records):
        yield result
        return
    for part in result:
        yield from _records(part)


class Gdb(Command):
    name = "gdb"
    synopsis = "gdb command ..."
    summary = "(no gdb here: use p, struct, union, whatis)"
    group = "session"
    targets = ANY_TARGET
    description = """\
crash passes the line to its embedded gdb; xcrash has no gdb behind it.  p,
struct, union, whatis, dis, sym and list read the same debug information, and
the Python API (xcrash.open(dump, vmlinux): session.run(...), the targets'
objects) goes further.
"""
    example = "help gdb"

    def run(self, ctx: Context, args: list[str]) -> Records:
        raise CommandError(NO_GDB)


COMMANDS = [Repeat, Gdb]
