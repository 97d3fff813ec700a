"""foreach: run bt, ps, task, files, vm, sig or net -s for each selected task, as crash does."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from collections.abc import Iterable, Iterator

from ..caveats import caveat
from ..errors import CommandError, MemoryError_
from ..results import Layout, Records, nothing, parts
from ..targets.linux.context import task_index
from ..targets.linux.taskinfo import comm_of
from ..targets.linux.tasks import active_tasks, is_kernel_thread, task_state_name
from .args import linux_target
from .base import Command, Context, Result

if TYPE_CHECKING:
    from ..objects import Object

REGEX_CHARS = frozenset("*.^$[]()+?|{}\\")
STATES = ("RU", "IN", "UN", "ID", "ST", "TR", "ZO", "DE", "PA", "NE", "WA")
SUBCOMMANDS = ("bt", "ps", "task", "files", "vm", "sig", "net")


def blank_line(_records: Iterable[Any]) -> Iterator[str]:
    yield ""


#: what crash prints between two tasks' outputs
BETWEEN_TASKS = Records((), blank_line)


def _no_trailing_blanks(layout: Layout) -> Layout:
    """A layout whose trailing blank lines are left out (a task's output ends at its last
    line: the blank line between tasks is foreach's)."""
    def trimmed(records: Iterable[Any]) -> Iterator[str]:
        blanks: list[str] = []
        for line in layout(records):
            if not line.strip():
                blanks.append(line)
                continue
            yield from blanks
            blanks.clear()
            yield line
    return trimmed


class Foreach(Command):
    name = "foreach"
    arguments = "[pid | taskaddr | name | -k | -u | kernel | user | active | state] ... " \
        "bt|ps|task|files|vm|sig|net [options]"
    summary = "run a command for each selected task"
    group = "linux"
    targets = ("linux",)
    description = """\
Runs bt, ps, task, files, vm, sig or net -s (with their own options) for every task, or for
the tasks selected by PID, task address, command name (a name with regular expression
characters, e.g. 'xc-.*', is a regex searched in the names; a leading backslash makes the
rest a plain name), -k / kernel (kernel threads), -u / user (user tasks), active (the tasks
running on a CPU) or state (RU IN UN ID ST TR ZO DE PA NE WA); the outputs are separated by
blank lines, in PID order as crash's.  A task whose output is empty (bt -R that does not
match) is left out.
"""
    example = "foreach bt\nforeach UN bt\nforeach xc-crasher task -R pid,comm\nforeach 'xc-.*' ps"

    def run(self, ctx: Context, args: list[str]) -> Result:
        pos = next((i for i, a in enumerate(args) if a in SUBCOMMANDS), None)
        if pos is None:
            raise CommandError(f"foreach: no command (one of {', '.join(SUBCOMMANDS)})")
        selectors, command, cargs = args[:pos], args[pos], args[pos + 1:]
        target = linux_target(ctx)
        kernel = "-k" in selectors or "kernel" in selectors
        user = "-u" in selectors or "user" in selectors
        active = set(active_tasks(target).values()) if "active" in selectors else None
        states = {s for s in selectors if s in STATES}
        keywords = {"-k", "-u", "kernel", "user", "active"}
        names = [s for s in selectors if s not in STATES and s not in keywords]
        for s in names:
            if s.startswith("-"):
                raise CommandError(f"foreach: invalid option {s}")
        index = task_index(target)
        index.announce()
        ttype = target.type("struct task_struct")
        chosen = []
        for addr in index.in_pid_order():
            task = target.object_at(ttype, addr)
            try:
                if kernel and not is_kernel_thread(task) or user and is_kernel_thread(task):
                    continue
                if states and task_state_name(task) not in states:
                    continue
                if active is not None and addr not in active:
                    continue
                if names and not any(self._matches(task, n) for n in names):
                    continue
            except MemoryError_ as err:
                caveat(f"task {addr:x} unreadable ({err}): left out of the selection")
                continue
            chosen.append(addr)
        if not chosen:
            return nothing()
        if command == "ps":
            from .ps import Ps
            result = Ps().run(ctx, cargs + [f"{a:x}" for a in chosen])
            if isinstance(result.items, list):
                order = {a: i for i, a in enumerate(chosen)}
                result.items.sort(key=lambda r: order.get(getattr(r, "task", 0), 0))
            return result
        return self._each(ctx, self._command(command), cargs, chosen)

    @staticmethod
    def _each(ctx: Context, cls: Any, cargs: list[str], chosen: list[int]) -> Iterator[Records]:
        """The sub-command's output for each task, a blank line between tasks; its
        records, one task after another, for JSON.  A task whose output is empty
        (bt -R that does not match) is left out, as crash does; so is one whose memory
        cannot be read, with a WARNING, and the other tasks follow."""
        shown = False
        for addr in chosen:
            ctx.check()
            try:
                kept = [Records(p.records(), _no_trailing_blanks(p.layout), p.columns, p.mark)
                        for p in parts(cls().run(ctx, cargs + [f"{addr:x}"]))]
                filled = any(p.records() and any(line.strip() for line in p.lines())
                             for p in kept)
            except MemoryError_ as err:
                caveat(f"task {addr:x}: {err}: its output is left out")
                continue
            if not filled:
                continue
            if shown:
                yield BETWEEN_TASKS
            shown = True
            yield from kept

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
    def _matches(task: Object, sel: str) -> bool:
        """PID, task address, command name, or — when the selector holds regular
        expression characters (crash's quoted form) — a regex searched in the name;
        a leading backslash makes the rest a plain name (`\\bt`)."""
        if sel.isdigit() and int(sel) == int(task.pid):
            return True
        try:
            if int(sel, 16) == task.address_:
                return True
        except ValueError:
            pass                # not an address: a name
        comm = comm_of(task)
        if sel.startswith("\\"):
            return comm == sel[1:]
        if REGEX_CHARS.intersection(sel):
            try:
                return re.search(sel, comm) is not None
            except re.error as err:
                raise CommandError(f"foreach: bad regular expression {sel!r}: {err}") from None
        return comm == sel


COMMANDS = [Foreach]
