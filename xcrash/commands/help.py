"""``help``: the command list by group, or a command's help page."""
from __future__ import annotations

import textwrap
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ..errors import CommandError
from ..results import Records, text_lines
from ..targets.base import Cpu
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


#: crash's help -X tables: those with a counterpart here, and why the others have none
HELP_TABLES = {
    "-r": "the registers each CPU's note in the dump header holds",
    "-a": "crash's alias table: `alias` lists xcrash's aliases",
    "-D": "crash's dumpfile statistics: `sys` and `mach` show what the dump says",
    "-n": "crash's dumpfile statistics: `sys` and `mach` show what the dump says",
    "-k": "crash's kernel_table: `sys`, `mach` and `sys config` show the kernel's facts",
    "-K": "crash's kernel_table: `sys`, `mach` and `sys config` show the kernel's facts",
    "-t": "crash's task_table: `ps` and `set` show the tasks and the context",
    "-T": "crash's task_table: `ps` and `set` show the tasks and the context",
    "-v": "crash's vm_table: `kmem -i`, `mach` and `vm` show the memory facts",
    "-V": "crash's vm_table: `kmem -i`, `mach` and `vm` show the memory facts",
    "-s": "crash's symbol table data: `sym -l` lists the symbols",
    "-o": "crash's offset_table: `struct -o` shows any offset",
    "-m": "crash's machdep_table: `mach` shows the machine",
    "-N": "crash's net_table: `net` shows the devices",
    "-d": "crash's device table: `dev` shows the devices",
    "-f": "crash's filesys table: `mount` and `files` show the filesystems",
}
NO_TABLE = "an internal table of crash's (its buffers, caches, gdb or build data)"


def register_lines(cpus: Iterable[Cpu]) -> Iterator[str]:
    """crash's help -r: each CPU's saved registers, three to a line."""
    names = ["rip", "rsp", "rflags", "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8",
             "r9", "r10", "r11", "r12", "r13", "r14", "r15"]
    for i, cpu in enumerate(cpus):
        if i:
            yield ""
        yield f"CPU {cpu.index}:"
        cells = [f"{n.upper():>3}: {cpu.regs.get(n, 0):016x}" if n != "rflags"
                 else f"RFLAGS: {cpu.regs.get(n, 0):08x}" for n in names]
        for row in range(0, len(cells), 3):
            yield "    " + "  ".join(cells[row:row + 3])
        yield f"    CS: {cpu.regs.get('cs', 0):04x}  SS: {cpu.regs.get('ss', 0):04x}"


def options_lines(_records: Iterable[object]) -> Iterator[str]:
    yield "help options:"
    yield " -r - dump registers from dumpfile header"
    for flag, why in sorted(HELP_TABLES.items()):
        if flag != "-r":
            yield f" {flag} - (none here: {why})"
    yield " -z - help options"


class HelpCommand(Command):
    name = "help"
    arguments = "[command ... | all] [-<option>]"
    summary = "list the commands, or show a command's help page"
    group = "session"
    targets = ANY_TARGET
    description = (
        "Alone, lists the commands that work on the current target, by group, each with "
        "its one-line summary.  With command names (or aliases), shows their help pages: "
        "synopsis, options, description and an example; `all`: every page.  crash's "
        "-X options show its internal tables: -r (the registers each CPU's note in the "
        "dump header holds) has a counterpart here, -z lists the options, and each "
        "other says in one line which command shows what it would."
    )
    example = "help\nhelp doms\nhelp -r"

    def run(self, ctx: Context, args: list[str]) -> Records:
        if ctx.registry is None:
            raise CommandError("no command registry in this context")
        if not args:
            return Records(command_summaries(ctx.registry, ctx.target.kind), summary_lines)
        if args[0].startswith("-") and len(args[0]) > 1:
            return self._table(ctx, args[0])
        if args == ["all"]:
            args = [c.name for c in ctx.registry.commands() if c.works_on(ctx.target.kind)]
        text = "\n".join(_page(ctx.registry, word) for word in args)
        return text_lines(text[:-1] if text.endswith("\n") else text)

    @staticmethod
    def _table(ctx: Context, flag: str) -> Records:
        if flag == "-z":
            return Records([], options_lines)
        if flag == "-r":
            cpus = list(ctx.target.cpus)
            if not cpus:
                raise CommandError("help: -r: the dump holds no CPU registers for "
                                   f"the {ctx.target.kind} target")
            return Records(cpus, register_lines)
        why = HELP_TABLES.get(flag)
        if why is None and flag in ("-b", "-B", "-c", "-e", "-g", "-h", "-H", "-L", "-M",
                                    "-p"):
            why = NO_TABLE
        if why is None:
            raise CommandError(f"help: invalid option -- '{flag}'")
        raise CommandError(f"{flag}: {why}")


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
