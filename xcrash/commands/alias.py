"""``alias``: crash's command aliases (``alias kp kmem -p``)."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ..errors import CommandError
from ..results import Records
from .base import ANY_TARGET, Alias, Command, Context


@dataclass
class AliasEntry:
    """A line of ``alias``: where the alias comes from ("builtin" or "runtime"), its
    name and the command line it stands for."""
    origin: str
    alias: str
    command: str


def alias_lines(entries: Iterable[AliasEntry]) -> Iterator[str]:
    """crash's layout: ORIGIN, ALIAS and COMMAND columns (ALIAS as wide as the longest)."""
    entries = list(entries)
    width = max([7] + [len(a.alias) for a in entries]) + 2
    yield f"{'ORIGIN':<9}{'ALIAS':<{width}}COMMAND"
    for a in entries:
        yield f"{a.origin:<9}{a.alias:<{width}}{a.command}"


def listing(aliases: Iterable[Alias]) -> Records:
    return Records([AliasEntry(a.origin, a.name, a.text) for a in aliases], alias_lines)


class AliasCommand(Command):
    name = "alias"
    arguments = "[name [command line]]"
    summary = "list or define command aliases"
    group = "session"
    targets = ANY_TARGET
    description = (
        "Alone, lists the aliases: crash's built-in ones and those defined in this session. "
        "With a name, shows that alias; with a name and a command line, defines it: a line "
        "whose first word is the alias runs the command line followed by the rest of the "
        "line.  A command's own name cannot be an alias."
    )
    example = "alias kp kmem -p\nalias"

    def run(self, ctx: Context, args: list[str]) -> Records:
        if ctx.registry is None:
            raise CommandError("no command registry in this context")
        if not args:
            return listing(ctx.registry.aliases.values())
        name = args[0]
        if len(args) == 1:
            alias = ctx.registry.aliases.get(name)
            if alias is None:
                raise CommandError(f"{name}: no such alias")
            return listing([alias])
        return listing([ctx.registry.define_alias(name, " ".join(args[1:]))])


COMMANDS = [AliasCommand]
