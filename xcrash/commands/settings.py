"""``set``: the session's settings (radix, colour, output, pager, zero pages).

crash's ``set`` also switches the task/CPU context (``set PID``, ``set -c
CPU``); that is the target's business: any argument that is not a setting
goes to ``session.current.set_context(args)`` when the target has one.
``hex`` and ``dec`` are crash's built-in aliases for ``set radix 16|10``.
"""
from __future__ import annotations

import os
import shutil
from typing import Any, Mapping

from ..errors import CommandError
from .base import ANY_TARGET, Command, Context, Option, Result, Text

ON_OFF = {"on": True, "off": False}
RADIX = {"10": 10, "16": 16, "dec": 10, "decimal": 10, "hex": 16}


def default_settings(environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """The settings a session starts with; ``NO_COLOR`` (set, non-empty) turns colour off."""
    return {"radix": 10, "color": not environ.get("NO_COLOR"), "output": "text", "scroll": True,
            "explain": False}


def _on_off(value: bool) -> str:
    return "on" if value else "off"


def _describe(ctx: Context, name: str) -> str:
    """One setting as ``set NAME`` and ``set -v`` show it."""
    if name == "radix":
        radix = ctx.settings["radix"]
        return f"{radix} ({'hex' if radix == 16 else 'decimal'})"
    if name == "scroll":
        pager = shutil.which("less")
        on = ctx.settings["scroll"]
        return f"on ({pager} -FRX)" if on and pager else _on_off(on)
    if name == "zero_excluded":
        return _on_off(bool(getattr(ctx.session.dump, "zero_excluded", False)))
    value = ctx.settings[name]
    return _on_off(value) if isinstance(value, bool) else str(value)


def _parse(name: str, word: str) -> Any:
    table: Mapping[str, Any] = (RADIX if name == "radix"
                                else {"text": "text", "json": "json"} if name == "output"
                                else ON_OFF)
    try:
        return table[word.lower()]
    except KeyError:
        raise CommandError(f"{name}: invalid value {word!r} (use {'|'.join(table)})") from None


SETTINGS = {
    "radix": "output radix of numbers: 10 or 16 (also the hex and dec commands)",
    "color": "colours on a terminal: on or off (off when NO_COLOR is set)",
    "output": "how results are written: text (crash's layout) or json (records)",
    "scroll": "page long output through less on a terminal: on or off",
    "zero_excluded": "read pages the dump excluded as zero-filled instead of failing: on or off",
    "explain": "after each command, how the answer was obtained (as --explain): on or off",
}


class SetCommand(Command):
    name = "set"
    synopsis = "set [-v] [setting [value]] | set context-arguments"
    summary = "show or change session settings (and the task/CPU context)"
    group = "session"
    targets = ANY_TARGET
    options = (Option("-v", "verbose", "show every setting"),)
    description = (
        "With a setting name and a value, changes it; with a name alone, shows it; "
        "with -v, shows every setting.  Settings:\n\n"
        + "\n".join(f"  {name:<14} {text}" for name, text in SETTINGS.items())
        + "\n\nOther arguments (crash's `set PID`, `set -c CPU`, `set -p`) select the "
        "task or CPU context of the current target, when it has one; `set` alone shows "
        "that context, or the settings if the target has no context."
    )
    example = "xcrash> set radix 16\noutput radix: 16 (hex)\nxcrash> set scroll off\nscroll: off"

    def run(self, ctx: Context, args: list[str]) -> Result:
        if args == ["-v"] or (not args and not hasattr(ctx.target, "set_context")):
            return self._show_all(ctx)
        if not args or args[0] not in SETTINGS:
            set_context = getattr(ctx.target, "set_context", None)
            if set_context is None:
                raise CommandError(f"{args[0]}: not a setting ({', '.join(SETTINGS)}), "
                                   f"and the {ctx.target.kind} target has no task context")
            return set_context(args)
        name, values = args[0], args[1:]
        if len(values) > 1:
            raise CommandError(f"{name}: one value expected")
        if values:
            value = _parse(name, values[0])
            if name == "zero_excluded":
                ctx.session.dump.zero_excluded = value
            else:
                ctx.settings[name] = value
        label = "output radix" if name == "radix" else name
        return Text(f"{label}: {_describe(ctx, name)}\n",
                    records=[{"setting": name, "value": self._value(ctx, name)}])

    def _show_all(self, ctx: Context) -> Text:
        lines = [f"{name:>14}: {_describe(ctx, name)}" for name in SETTINGS]
        records = [{"setting": name, "value": self._value(ctx, name)} for name in SETTINGS]
        return Text("\n".join(lines) + "\n", records=records)

    @staticmethod
    def _value(ctx: Context, name: str) -> Any:
        if name == "zero_excluded":
            return bool(getattr(ctx.session.dump, "zero_excluded", False))
        return ctx.settings[name]


COMMANDS = [SetCommand]
