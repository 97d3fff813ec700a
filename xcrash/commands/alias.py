"""``alias``: crash's command aliases (``alias kp kmem -p``)."""
from __future__ import annotations

from ..errors import CommandError
from .base import ANY_TARGET, Command, Context, Result, Text
from .base import Alias


class AliasCommand(Command):
    name = "alias"
    synopsis = "alias [name [command line]]"
    summary = "list or define command aliases"
    group = "session"
    targets = ANY_TARGET
    description = (
        "Alone, lists the aliases: crash's built-in ones and those defined in this session. "
        "With a name, shows that alias; with a name and a command line, defines it: a line "
        "whose first word is the alias runs the command line followed by the rest of the "
        "line.  A command's own name cannot be an alias."
    )
    example = "xcrash> alias kp kmem -p\nORIGIN   ALIAS    COMMAND\nruntime  kp       kmem -p"

    def run(self, ctx: Context, args: list[str]) -> Result:
        if ctx.registry is None:
            raise CommandError("no command registry in this context")
        if not args:
            return listing(list(ctx.registry.aliases.values()))
        name = args[0]
        if len(args) == 1:
            alias = ctx.registry.aliases.get(name)
            if alias is None:
                raise CommandError(f"{name}: no such alias")
            return listing([alias])
        return listing([ctx.registry.define_alias(name, " ".join(args[1:]))])


def listing(aliases: list[Alias]) -> Text:
    """crash's layout: ORIGIN, ALIAS and COMMAND columns."""
    width = max([7] + [len(a.name) for a in aliases]) + 2
    lines = [f"{'ORIGIN':<9}{'ALIAS':<{width}}COMMAND"]
    lines += [f"{a.origin:<9}{a.name:<{width}}{a.text}" for a in aliases]
    records = [{"origin": a.origin, "alias": a.name, "command": a.text} for a in aliases]
    return Text("\n".join(lines) + "\n", records=records)


COMMANDS = [AliasCommand]
