"""``q``, ``quit``, ``exit``: leave the shell (or end a batch run there)."""
from __future__ import annotations

from .base import ANY_TARGET, Command, Context, Quit, Result


class QuitCommand(Command):
    name = "q"
    aliases = ("quit", "exit")
    synopsis = "q"
    summary = "leave xcrash"
    group = "session"
    targets = ANY_TARGET
    description = "Ends the session; in a batch run, the commands after it are not run."
    example = "q"

    def run(self, ctx: Context, args: list[str]) -> Result:
        raise Quit


COMMANDS = [QuitCommand]
