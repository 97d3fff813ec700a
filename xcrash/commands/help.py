"""``help``: the command list by group, or a command's help page."""
from __future__ import annotations

import textwrap
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ..errors import CommandError
from ..results import Records, text_lines
from .base import ANY_TARGET, Command, CommandBook, Context

#: the order groups are listed in; other groups follow alphabetically
GROUP_ORDER = ("general", "memory", "symbols", "linux", "xen", "session")


@dataclass
class CommandSummary:
    """A line of ``help``: a command, its group and its one-line summary."""
    name: str
    group: str
    summary: str


def summary_lines(commands: Iterable[CommandSummary]) -> Iterator[str]:
    """The commands under their group headings, a blank line after each group."""
    commands = list(commands)
    width = max((len(c.name) for c in commands), default=0) + 2
    group = None
    for c in commands:
        if c.group != group:
            if group is not None:
                yield ""
            group = c.group
            yield f"{group}:"
        yield f"  {c.name:<{width}}{c.summary}".rstrip()
    if group is not None:
        yield ""
    yield "help COMMAND shows a command's page; alias lists the command aliases."


def command_summaries(registry: CommandBook, kind: str) -> list[CommandSummary]:
    """The commands that work on a target of this kind, group by group."""
    groups: dict[str, list[Command]] = {}
    for cmd in registry.commands():
        if cmd.works_on(kind):
            groups.setdefault(cmd.group, []).append(cmd)
    order = [g for g in GROUP_ORDER if g in groups] + sorted(set(groups) - set(GROUP_ORDER))
    return [CommandSummary(cmd.name, group, cmd.summary) for group in order
            for cmd in groups[group]]


class HelpCommand(Command):
    name = "help"
    arguments = "[command ...]"
    summary = "list the commands, or show a command's help page"
    group = "session"
    targets = ANY_TARGET
    description = (
        "Alone, lists the commands that work on the current target, by group, each with "
        "its one-line summary.  With command names (or aliases), shows their help pages: "
        "synopsis, options, description and an example."
    )
    example = "help\nhelp doms"

    def run(self, ctx: Context, args: list[str]) -> Records:
        if ctx.registry is None:
            raise CommandError("no command registry in this context")
        if not args:
            return Records(command_summaries(ctx.registry, ctx.target.kind), summary_lines)
        text = "\n".join(_page(ctx.registry, word) for word in args)
        return text_lines(text[:-1] if text.endswith("\n") else text)


def help_page(registry: CommandBook, word: str) -> str:
    """``help WORD``'s text (the command line's ``-h WORD``)."""
    return _page(registry, word)


def _page(registry: CommandBook, word: str) -> str:
    """A command's page, or what an alias stands for."""
    cmd = registry.get(word)
    if cmd is None:
        alias = registry.aliases.get(word)
        if alias is None:
            raise CommandError(f"{word}: no such command")
        return f"{word}: alias for \"{alias.text}\"\n"
    return page(cmd)


def page(cmd: Command) -> str:
    """A command's help page, laid out like crash's (NAME, SYNOPSIS, ...)."""
    def section(title: str, body: str) -> list[str]:
        return [title, textwrap.indent(body.rstrip("\n"), "  "), ""] if body else []

    lines = section("NAME", f"{cmd.name} - {cmd.summary}")
    lines += section("SYNOPSIS", cmd.usage())
    if cmd.aliases:
        lines += section("ALIASES", ", ".join(cmd.aliases))
    if cmd.options:
        lines += section("OPTIONS", option_table(cmd))
    lines += section("DESCRIPTION", _wrap(cmd.description))
    lines += section("EXAMPLE", cmd.example)
    return "\n".join(lines)


def option_table(cmd: Command, width: int = 76) -> str:
    """The declared options, one per entry, their help wrapped beside them."""
    shown = [o.shown for o in cmd.options]
    column = min(max(len(f) for f in shown) + 2, 16)
    out = []
    for flag, opt in zip(shown, cmd.options):
        body = textwrap.wrap(" ".join(opt.help.split()), width - column) or [""]
        if len(flag) + 2 > column:
            out.append(flag)
            out.extend(" " * column + line for line in body)
        else:
            out.append(f"{flag:<{column}}{body[0]}")
            out.extend(" " * column + line for line in body[1:])
    exclusive = [" ".join(next(o.flag for o in cmd.options if o.dest == d) for d in group)
                 for group in cmd.exclusive]
    out += [f"(one at most of: {group})" for group in exclusive]
    return "\n".join(out)


def _wrap(text: str, width: int = 76) -> str:
    """Wrap prose paragraphs; keep indented lines (tables, code) as written."""
    out = []
    for para in text.split("\n\n"):
        if any(line.startswith(" ") for line in para.splitlines()):
            out.append(para)
        else:
            out.append(textwrap.fill(" ".join(para.split()), width))
    return "\n\n".join(out)


COMMANDS = [HelpCommand]
