"""foreach: run bt, ps, task, files, vm, sig or net -s for each selected task, as crash does."""
from __future__ import annotations

import re
from typing import Any

from ..errors import CommandError, MemoryError_, XcrashError
from ..results import Records, nothing
from .base import Command, Context, Result, as_records

REGEX_CHARS = frozenset("*.^$[]()+?|{}\\")
STATES = ("RU", "IN", "UN", "ID", "ST", "TR", "ZO", "DE", "PA", "NE", "WA")
SUBCOMMANDS = ("bt", "ps", "task", "files", "vm", "sig", "net")


def _tasks(target: Any) -> list[tuple[Any, int]]:
    """(task object, pid) of every task, in crash's order (by PID, idle tasks by CPU)."""
    from ..targets.linux.tasks import for_each_task, task_cpu
    out = []
    for task in for_each_task(target):
        try:
            pid = int(task.pid)
            out.append((task, pid, task_cpu(task) if pid == 0 else 0))
        except (XcrashError, MemoryError_):
            continue
    out.sort(key=lambda t: (t[1], t[2]))
    return [(t, pid) for t, pid, _ in out]


class Foreach(Command):
    name = "foreach"
    synopsis = "foreach [pid | taskaddr | name | -k | -u | state]... bt|ps|task|files|vm|sig|net [options]"
    summary = "run a command for each selected task"
    group = "linux"
    targets = ("linux",)
    description = """\
Runs bt, ps, task, files, vm, sig or net -s (with their own options) for every task, or for the
tasks selected by PID, task address, command name (a name with regular
expression characters, e.g. 'lab_.*', is a regex searched in the names),
-k / kernel (kernel threads), -u / user (user tasks), active (the tasks
running on a CPU) or state (RU IN UN ID ST TR ZO DE PA NE WA); the outputs
are separated by blank lines, in PID order as crash's.
"""
    example = "foreach bt\nforeach UN bt\nforeach lab_crasher task -R pid,comm"

    def run(self, ctx: Context, args: list[str]) -> Result:
        from ..targets.linux.tasks import is_kernel_thread, task_state_name
        pos = next((i for i, a in enumerate(args) if a in SUBCOMMANDS), None)
        if pos is None:
            raise CommandError(f"foreach: no command (one of {', '.join(SUBCOMMANDS)})")
        selectors, command, cargs = args[:pos], args[pos], args[pos + 1:]
        target = ctx.target
        tasks = _tasks(target)
        kernel = "-k" in selectors or "kernel" in selectors
        user = "-u" in selectors or "user" in selectors
        active = None
        if "active" in selectors:
            from ..targets.linux.tasks import active_tasks
            active = set(active_tasks(target).values())
        states = {s for s in selectors if s in STATES}
        keywords = {"-k", "-u", "kernel", "user", "active"}
        names = [s for s in selectors if s not in STATES and s not in keywords]
        for s in names:
            if s.startswith("-"):
                raise CommandError(f"foreach: invalid option {s}")
        chosen = []
        for task, pid in tasks:
            try:
                if kernel and not is_kernel_thread(task) or user and is_kernel_thread(task):
                    continue
                if states and task_state_name(task) not in states:
                    continue
                if active is not None and task.address_ not in active:
                    continue
                if names and not any(self._matches(task, pid, n) for n in names):
                    continue
            except (XcrashError, MemoryError_):
                continue
            chosen.append(task.address_)
        if not chosen:
            return nothing()
        if command == "ps":
            from .ps import Ps
            result = Ps().run(ctx, cargs + [f"{a:x}" for a in chosen])
            if isinstance(result.items, list):
                order = {a: i for i, a in enumerate(chosen)}
                result.items.sort(key=lambda r: order.get(getattr(r, "task", 0), 0))
            return result
        cls = self._command(command)
        parts: list[Records] = []
        for addr in chosen:
            ctx.check()
            for part in as_records(cls().run(ctx, cargs + [f"{addr:x}"])):
                lines = list(part.lines())
                while lines and not lines[-1].strip():
                    lines.pop()
                if any(line.strip() for line in lines):     # bt -R may show nothing
                    if parts:
                        parts.append(Records([], lambda _r: iter([""])))
                    parts.append(Records(part.records(), lambda _r, lines=lines: iter(lines)))
        return parts

    @staticmethod
    def _command(name: str) -> Any:
        if name == "bt":
            from .bt import Bt
            return Bt
        if name == "files":
            from .files import Files
            return Files
        if name == "vm":
            from .vm import Vm
            return Vm
        if name == "sig":
            from .sig import Sig
            return Sig
        if name == "net":
            from .net import Net
            return Net
        from .task import Task
        return Task

    @staticmethod
    def _matches(task: Any, pid: int, sel: str) -> bool:
        """PID, task address, command name, or — when the selector holds regular
        expression characters (crash's quoted form) — a regex searched in the name;
        a leading backslash makes the rest a plain name (`\\bt`)."""
        if sel.isdigit() and int(sel) == pid:
            return True
        try:
            if int(sel, 16) == task.address_:
                return True
        except ValueError:
            pass
        comm = task.comm.string_().decode("utf-8", "replace")
        if sel.startswith("\\"):
            return comm == sel[1:]
        if REGEX_CHARS.intersection(sel):
            try:
                return re.search(sel, comm) is not None
            except re.error as err:
                raise CommandError(f"foreach: bad regular expression {sel!r}: {err}") from None
        return comm == sel


COMMANDS = [Foreach]
