"""``q``, ``quit``, ``exit``: leave the shell (or end a batch run there)."""
from __future__ import annotations

from ..results import Records
from .base import ANY_TARGET, Command, Context, Quit


class QuitCommand(Command):
    name = "q"
    aliases = ("quit", "exit")
    summary = "leave xcrash"
    group = "session"
    targets = ANY_TARGET
    description = "Ends the session; in a batch run, the commands after it are not run."
    example = "q"

    def run(self, ctx: Context, args: list[str]) -> Records:
        raise Quit


COMMANDS = [QuitCommand]
