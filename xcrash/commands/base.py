"""What a command is, what it returns, and how it reads its options.

A command never prints: it returns a :class:`Result` — plain text, a
:class:`Table` of rows, or several of them — and the renderer in
``xcrash.render`` turns that into crash-identical plain text, a rich table or
JSON records.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Union

from ..errors import CommandError

if TYPE_CHECKING:
    from ..session import Session
    from ..targets.base import Target
    from .registry import Registry


@dataclass
class Text:
    """Plain text, already laid out as crash lays it out.  ``records`` is the
    same information as JSON-able dicts, when the command has any."""
    text: str
    records: list[dict[str, Any]] | None = None


@dataclass
class Column:
    title: str
    key: str
    align: str = "left"          # "left" | "right"
    #: how a value is shown in plain text / a rich table (JSON keeps the raw value)
    fmt: Callable[[Any], str] = str


@dataclass
class Table:
    """Rows of a listing.  ``plain`` lays the rows out exactly as crash does;
    without it the renderer aligns columns itself.  ``marks`` maps a row index
    to a highlight style name ("active", "crashing") for the terminal."""
    columns: list[Column]
    rows: list[dict[str, Any]]
    plain: Callable[["Table"], str] | None = None
    marks: dict[int, str] = field(default_factory=dict)
    title: str | None = None


Result = Union[Text, Table, list]   # a list holds Text/Table parts in order


@dataclass
class Option:
    """One option: ``-x`` flag, or ``-x VALUE`` when ``takes_value``."""
    flag: str
    dest: str
    help: str
    takes_value: bool = False
    repeat: bool = False


@dataclass
class Context:
    """What a running command may use."""
    session: "Session"
    settings: dict[str, Any]
    #: set by the shell when Ctrl-C was pressed; long loops call check()
    interrupted: Callable[[], bool] = lambda: False
    #: the commands and aliases (for `help`, `alias`); None outside a shell
    registry: "Registry | None" = None
    #: the arguments exactly as typed (quotes kept), for commands that take a
    #: C expression (`p`, `eval`) where word splitting would lose something
    line: str = ""

    @property
    def target(self) -> "Target":
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
    synopsis: str = ""
    summary: str = ""              # one line, for `help` and completion
    description: str = ""          # long help: what it does, columns, differences from crash
    example: str = ""              # a worked example on a shipped sample dump
    group: str = "general"         # "general", "memory", "symbols", "linux", "xen", "session"
    options: tuple[Option, ...] = ()
    #: target kinds it works on: "linux", "xen", or both (ANY_TARGET: every kind)
    targets: tuple[str, ...] = ("linux", "xen")

    def run(self, ctx: Context, args: list[str]) -> Result:
        raise NotImplementedError

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
        return values, rest


def _is_negative_number(arg: str) -> bool:
    try:
        int(arg, 0)
        return True
    except ValueError:
        return False
