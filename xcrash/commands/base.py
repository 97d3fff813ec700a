"""What a command is, what it returns, and how it reads its options.

A command never prints: it returns a :class:`Result` — typed records with their
layout (:class:`~xcrash.results.Records`), several of them, or a generator of
them — and the renderer in ``xcrash.render`` turns that into crash-identical
plain text, a rich table or JSON records.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from collections.abc import Callable

from ..errors import CommandError
from .. import results
from ..results import Teaching

if TYPE_CHECKING:
    from ..session import Session
    from ..targets.base import Target


@dataclass
class Alias:
    name: str
    text: str
    origin: str          # "builtin" | "runtime"


class CommandBook(Protocol):
    """What `help` and `alias` read of the registry (commands.registry.Registry)."""
    aliases: dict[str, Alias]

    def get(self, word: str) -> Command | None: ...

    def commands(self) -> list[Command]: ...

    def define_alias(self, name: str, text: str) -> Alias: ...


#: what run() returns: Records, a list of them, or a generator of them (xcrash.results)
Result = results.Result


@dataclass(frozen=True)
class Option:
    """One option, declared once: the parser, the synopsis and ``help CMD`` all
    read it.  ``-x`` is a flag; with ``takes_value`` it is ``-x METAVAR``;
    ``repeat`` collects every occurrence in a list."""
    flag: str
    dest: str
    help: str
    takes_value: bool = False
    repeat: bool = False
    metavar: str = ""

    @property
    def shown(self) -> str:
        """``-x`` or ``-x METAVAR``, as the synopsis and the option table show it."""
        return f"{self.flag} {self.metavar or self.dest.upper()}" if self.takes_value else self.flag


@dataclass
class Context:
    """What a running command may use."""
    session: Session
    settings: dict[str, Any]
    #: set by the shell when Ctrl-C was pressed; long loops call check()
    interrupted: Callable[[], bool] = lambda: False
    #: the commands and aliases (for `help`, `alias`); None outside a shell
    registry: CommandBook | None = None
    #: the arguments exactly as typed (quotes kept), for commands that take a
    #: C expression (`p`, `eval`) where word splitting would lose something
    line: str = ""

    @property
    def target(self) -> Target:
        return self.session.current

    def check(self) -> None:
        if self.interrupted():
            raise KeyboardInterrupt


class Quit(Exception):
    """Raised by `q`/`quit`/`exit`: the shell or batch run stops there."""


#: a ``Command.targets`` value for commands that work whatever the target is
ANY_TARGET = ("*",)


class Command:
    """Base class of every command.  Subclasses set the class attributes and
    implement :meth:`run`."""

    name: str = ""
    aliases: tuple[str, ...] = ()
    #: a hand-written synopsis (older commands); else :meth:`usage` builds it
    synopsis: str = ""
    #: the positional arguments as the synopsis shows them ("[pid | task] ...")
    arguments: str = ""
    #: groups of option dests of which one at most may be given
    exclusive: tuple[tuple[str, ...], ...] = ()
    summary: str = ""              # one line, for `help` and completion
    description: str = ""          # long help: what it does, columns, differences from crash
    example: str = ""              # a worked example on a shipped sample dump
    group: str = "general"         # "general", "memory", "symbols", "linux", "xen", "session"
    options: tuple[Option, ...] = ()
    #: target kinds it works on: "linux", "xen", or both (ANY_TARGET: every kind)
    targets: tuple[str, ...] = ("linux", "xen")

    def run(self, ctx: Context, args: list[str]) -> Result:
        raise NotImplementedError

    def teach(self, ctx: Context, args: list[str]) -> Teaching | None:
        """What ``--explain`` teaches after its account of the reads: the kernel
        structures behind this command's answer and a program printing the same answer
        (the arguments as ``run`` took them, after it ran); None where there is nothing
        to teach."""
        return None

    @classmethod
    def usage(cls) -> str:
        """The synopsis: hand-written, or built from the declared options (an
        exclusive group as ``[-a|-b]``) and ``arguments``."""
        if cls.synopsis:
            return cls.synopsis
        grouped = {dest: group for group in cls.exclusive for dest in group}
        by_dest = {o.dest: o for o in cls.options}
        words = [cls.name]
        done: set[str] = set()
        for opt in cls.options:
            if opt.dest in done:
                continue
            group = grouped.get(opt.dest, (opt.dest,))
            done.update(group)
            words.append("[" + "|".join(by_dest[d].shown for d in group if d in by_dest) + "]")
        if cls.arguments:
            words.append(cls.arguments)
        return " ".join(words)

    @classmethod
    def works_on(cls, kind: str) -> bool:
        """Whether the command applies to a target of this kind."""
        return "*" in cls.targets or kind in cls.targets

    # -- helpers for subclasses ---------------------------------------------
    def parse(self, args: list[str]) -> tuple[dict[str, Any], list[str]]:
        """crash-style option parsing: options may come anywhere before ``--``,
        flags may be multi-character (``-64``) and values may be attached
        (``-c1``) or separate (``-c 1``)."""
        by_flag = {o.flag: o for o in self.options}
        values: dict[str, Any] = {o.dest: ([] if o.repeat else (None if o.takes_value else False))
                                  for o in self.options}
        rest: list[str] = []
        i = 0
        while i < len(args):
            arg = args[i]
            i += 1
            if arg == "--":
                rest.extend(args[i:])
                break
            if not arg.startswith("-") or arg == "-" or _is_negative_number(arg) and arg not in by_flag:
                rest.append(arg)
                continue
            opt = by_flag.get(arg)
            attached = None
            if opt is None:
                # -c1 (attached value) or -lf (bundled single-letter flags)
                head = arg[:2]
                cand = by_flag.get(head)
                if cand is not None and cand.takes_value:
                    opt, attached = cand, arg[2:]
                elif all(("-" + ch) in by_flag and not by_flag["-" + ch].takes_value for ch in arg[1:]):
                    for ch in arg[1:]:
                        values[by_flag["-" + ch].dest] = True
                    continue
                else:
                    raise CommandError(f"{self.name}: invalid option -- {arg!r}")
            if opt.takes_value:
                if attached is None:
                    if i >= len(args):
                        raise CommandError(f"{self.name}: option {opt.flag} needs a value")
                    attached = args[i]
                    i += 1
                if opt.repeat:
                    values[opt.dest].append(attached)
                else:
                    values[opt.dest] = attached
            else:
                values[opt.dest] = True
        self._check_exclusive(values)
        return values, rest

    def _check_exclusive(self, values: dict[str, Any]) -> None:
        flags = {o.dest: o.flag for o in self.options}
        for group in self.exclusive:
            given = [flags[d] for d in group if values.get(d) not in (None, False, [])]
            if len(given) > 1:
                raise CommandError(f"{self.name}: {' and '.join(given)} cannot be used together")


def _is_negative_number(arg: str) -> bool:
    try:
        int(arg, 0)
        return True
    except ValueError:
        return False        # the answer asked for: not a number (an option, then)
