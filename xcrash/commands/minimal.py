"""--minimal: the restricted session crash offers for dumps too damaged for the rest.

Only commands that need nothing beyond the symbol table and raw memory stay:
crash's set (log, dis, rd, sym, eval, set, exit) plus xcrash's help, alias,
vtop, ptov and search.  Every other command answers with one line saying why.
"""
from __future__ import annotations

from ..errors import CommandError
from .base import ANY_TARGET, Command, Context, Result
from .registry import Registry

ALLOWED = frozenset({"log", "dis", "rd", "sym", "eval", "set", "q", "help", "alias", "vtop",
                     "ptov", "search"})


class _Refused(Command):
    """Stands in for a command that --minimal leaves out."""

    targets = ANY_TARGET

    def __init__(self, real: Command) -> None:
        self.name = real.name
        self.aliases = real.aliases
        self.summary = real.summary
        self.group = real.group

    def run(self, ctx: Context, args: list[str]) -> Result:
        raise CommandError(f"not available in --minimal mode, which keeps only "
                           f"{', '.join(sorted(ALLOWED))}")


class MinimalRegistry(Registry):
    """A registry whose commands outside ALLOWED refuse politely."""

    def get(self, word: str) -> Command | None:
        cmd = super().get(word)
        if cmd is None or cmd.name in ALLOWED:
            return cmd
        return _Refused(cmd)


COMMANDS: list[type[Command]] = []
