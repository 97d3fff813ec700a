"""``set``: the session's settings (radix, colour, output, pager, zero pages), and on a
Linux target crash's task context (``set PID``, ``set -c CPU``, ``set -p``).

``hex`` and ``dec`` are crash's built-in aliases for ``set radix 16|10``.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast
from collections.abc import Iterable, Iterator, Mapping

from ..errors import CommandError
from ..layouts.tasks import context_lines
from ..results import Records
from ..targets.linux.context import (NoPanicTask, TaskContext, cpu_task, current_task,
                                     panic_task_address, resolve_task, task_context)
from . import crashvars
from .base import ANY_TARGET, Command, Context, Option

if TYPE_CHECKING:
    from ..targets.base import Target
    from ..targets.linux.kernel import LinuxTarget

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


@dataclass
class Setting:
    """A setting and its value (``described``: as `set` writes it)."""
    setting: str
    value: Any
    described: str = field(metadata={"json": False})


def setting_lines(records: Iterable[Setting]) -> Iterator[str]:
    """``set NAME``: one setting (offline as set -v shows it, as crash)."""
    for r in records:
        if r.setting == "offline":
            yield f"{r.setting:>13}: {r.described}"
        else:
            yield f"{'output radix' if r.setting == 'radix' else r.setting}: {r.described}"


#: set -v's order: crash's variables as crash lists them, then xcrash's own
VERBOSE_ORDER = ["scroll", "radix", "refresh", "print_max", "print_array", "console", "debug",
                 "core", "hash", "silent", "edit", "namelist", "dumpfile", "unwind",
                 "zero_excluded", "null-stop", "gdb", "scope", "offline", "redzone", "error",
                 "color", "output", "explain"]


def settings_lines(records: Iterable[Setting]) -> Iterator[str]:
    """``set -v``: every setting."""
    for r in records:
        yield f"{r.setting:>14}: {r.described}"


def task_context_lines(records: Iterable[TaskContext]) -> Iterator[str]:
    for r in records:
        yield from context_lines(r)


def has_task_context(target: Target) -> bool:
    """Whether a target has crash's task context (a Linux kernel, a Xen guest's too)."""
    from ..targets.linux.kernel import LinuxTarget
    return isinstance(target, LinuxTarget)


@dataclass
class ActiveMark:
    """set -a: the task now taken as the one active on its CPU."""
    pid: int
    comm: str
    task: int
    cpu: int


def active_mark_lines(records: Iterable[ActiveMark]) -> Iterator[str]:
    for r in records:
        yield f'"{r.comm}" task {r.task:x} has been marked as the active task on cpu {r.cpu}'


class SetCommand(Command):
    name = "set"
    arguments = "[setting [value]] | [pid | task]"
    summary = "show or change session settings (and the task/CPU context)"
    group = "session"
    targets = ANY_TARGET
    options = (Option("-v", "verbose", "show every setting"),
               Option("-a", "active", "this task (pid or task address) becomes the active "
                      "task of its CPU", takes_value=True, metavar="pid"),
               Option("-p", "panic", "the panic task becomes the context"),
               Option("-c", "cpu", "the task active on this CPU becomes the context",
                      takes_value=True, metavar="cpu"))
    description = (
        "With a setting name and a value, changes it; with a name alone, shows it; "
        "with -v, shows every setting.  Settings:\n\n"
        + "\n".join(f"  {name:<14} {text}" for name, text in SETTINGS.items())
        + "\n\ncrash's variables: print_max (array elements and string characters p and "
        "struct show), null-stop (char arrays end at their first NUL), offline (show|hide: "
        "offline CPUs in mach -c and the like), scope (a text address, shown; xcrash's "
        "types are the same in every scope), refresh, hash, silent, debug (kept, no "
        "effect on a dump); print_array, console, core, edit, namelist, dumpfile, unwind, "
        "gdb, redzone and error show crash's value and refuse another, saying why.\n\n"
        "On a Linux target, a PID or task address (crash's `set PID`), -c and -p "
        "select the task context that commands without a task argument use (bt, task, "
        "vm, ...), and `set` alone shows it; elsewhere `set` alone shows the settings.  "
        "-a makes a task the one active on its CPU (what bt -a, ps and runq take as "
        "running there), as crash does on a dump."
    )
    example = "set radix 16\nset radix 10\nset -v\nset"

    def run(self, ctx: Context, args: list[str]) -> Records:
        opts, rest = self.parse(args)
        chosen = [f for f, given in (("-v", opts["verbose"]), ("-p", opts["panic"]),
                                     ("-c", opts["cpu"] is not None),
                                     ("-a", opts["active"] is not None)) if given]
        if len(chosen) > 1 or chosen and rest:
            raise CommandError(f"set: invalid argument: {' '.join(args)}")
        if opts["verbose"]:
            return Records([self._setting(ctx, name, listed=True) for name in VERBOSE_ORDER],
                           settings_lines)
        if rest and rest[0] in SETTINGS:
            return self._set(ctx, rest[0], rest[1:])
        if rest and rest[0] in crashvars.BY_NAME:
            if len(rest) > 2:
                raise CommandError(f"{rest[0]}: one value expected")
            if len(rest) == 2:
                crashvars.change(ctx, rest[0], rest[1])
            if rest[0] == "silent" and ctx.settings.get("silent"):
                return Records([], setting_lines)       # crash says nothing when silent
            return Records([self._setting(ctx, rest[0])], setting_lines)
        if opts["active"] is not None:
            return self._active(ctx, opts["active"])
        target = ctx.target
        if not has_task_context(target):
            if not rest and not chosen:
                return Records([self._setting(ctx, name) for name in SETTINGS], settings_lines)
            raise CommandError(f"{rest[0] if rest else chosen[0]}: not a setting "
                               f"({', '.join(SETTINGS)}), and the {target.kind} target has "
                               "no task context")
        return self._context(cast("LinuxTarget", target), opts, rest)

    @staticmethod
    def _context(target: LinuxTarget, opts: dict[str, Any], rest: list[str]) -> Records:
        """``set``, ``set PID|TASK``, ``set -c CPU``, ``set -p``: the context's block."""
        if len(rest) > 1:
            raise CommandError(f"set: invalid argument: {' '.join(rest)}")
        if opts["panic"]:
            addr = panic_task_address(target)
        elif opts["cpu"] is not None:
            addr = cpu_task(target, opts["cpu"])
        elif rest:
            addr = resolve_task(target, rest[0])
        else:
            addr = current_task(target)
        if addr is None:
            raise NoPanicTask()
        if opts["panic"] or opts["cpu"] is not None or rest:
            target.selected_task = addr
        return Records([task_context(target, addr)], task_context_lines)

    def _set(self, ctx: Context, name: str, values: list[str]) -> Records:
        if len(values) > 1:
            raise CommandError(f"{name}: one value expected")
        if values:
            value = _parse(name, values[0])
            if name == "zero_excluded":
                ctx.session.dump.zero_excluded = value
            else:
                ctx.settings[name] = value
        return Records([self._setting(ctx, name)], setting_lines)

    @staticmethod
    def _active(ctx: Context, word: str) -> Records:
        """set -a: the task becomes the active one of its CPU (dumps only)."""
        from ..targets.linux.kernel import LinuxTarget
        from ..targets.linux.tasks import mark_active
        target = ctx.target
        if not isinstance(target, LinuxTarget):
            raise CommandError(f"set: -a: the {target.kind} target has no tasks")
        addr = resolve_task(target, word)
        found = task_context(target, addr)
        mark_active(target, found.cpu, addr)
        return Records([ActiveMark(found.pid, found.comm, addr, found.cpu)], active_mark_lines)

    @staticmethod
    def _setting(ctx: Context, name: str, listed: bool = False) -> Setting:
        if name in crashvars.BY_NAME:
            text = crashvars.show(ctx, name, listed)
            return Setting(name, text, text)
        if name == "zero_excluded":
            value = bool(getattr(ctx.session.dump, "zero_excluded", False))
        else:
            value = ctx.settings[name]
        return Setting(name, value, _describe(ctx, name))


COMMANDS = [SetCommand]
