"""foreach: run bt, ps, task, files, vm, sig or net -s for each selected task, as crash does."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from collections.abc import Iterable, Iterator

from ..caveats import caveat
from ..errors import CommandError, MemoryError_
from ..results import Layout, Records, nothing, parts
from ..layouts.tasks import context_lines, task_header
from ..targets.linux.context import TaskContext, task_context, task_index
from ..targets.linux.taskinfo import TaskRef, comm_of, task_ref
from ..targets.linux.tasks import active_tasks, is_kernel_thread, task_state_name
from .args import linux_target, parse_address
from .base import Command, Context, Result

if TYPE_CHECKING:
    from ..objects import Object
    from ..targets.linux.kernel import LinuxTarget

REGEX_CHARS = frozenset("*.^$[]()+?|{}\\")
STATES = ("RU", "IN", "UN", "ID", "ST", "TR", "ZO", "DE", "PA", "NE", "WA")
SUBCOMMANDS = ("bt", "ps", "task", "files", "vm", "sig", "net", "set", "vtop")


def blank_line(_records: Iterable[Any]) -> Iterator[str]:
    yield ""


#: what crash prints between two tasks' outputs
BETWEEN_TASKS = Records((), blank_line)


def _headed_lines(records: Iterable[Any]) -> Iterator[str]:
    """foreach set and vtop: each task's header (a blank line before all but the
    first), then its context block or its translations (the struct page header once,
    as crash prints it once per command)."""
    from .vtop import linux_translation_lines
    first = True
    page_header = True
    for r in records:
        if isinstance(r, TaskContext):
            yield from context_lines(r)
        elif isinstance(r, TaskRef):
            if not first:
                yield ""
            first = False
            yield task_header(r)
        else:
            yield from linux_translation_lines(r, page_header)
            page_header = page_header and r.mem_page is None


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
    arguments = "[pid | taskaddr | name | -k | -u | kernel | user | gleader | active | state] " \
        "... bt|ps|task|files|vm|sig|net|set|vtop [options]"
    summary = "run a command for each selected task"
    group = "linux"
    targets = ("linux",)
    description = """\
Runs bt, ps, task, files, vm, sig, net -s, set or vtop (with their own options) for every
task, or for the tasks selected by PID, task address, command name (a name with regular
expression characters, e.g. 'xc-.*', is a regex searched in the names; a leading backslash
makes the rest a plain name), -k / kernel (kernel threads), -u / user (user tasks), gleader
(user thread-group leaders), active (the tasks running on a CPU) or state (RU IN UN ID ST
TR ZO DE PA NE WA); the outputs are separated by blank lines, in PID order as crash's.
`set` shows each task's context block (the context does not change); `vtop ADDRESS...`
translates the addresses in each task's memory.  A task whose output is empty (bt -R that does not
match) is left out.
"""
    example = "foreach bt\nforeach UN bt\nforeach xc-crasher task -R pid,comm\nforeach 'xc-.*' ps"

    def run(self, ctx: Context, args: list[str]) -> Result:
        pos = next((i for i, a in enumerate(args) if a in SUBCOMMANDS), None)
        if pos is None:
            raise CommandError(f"foreach: no command (one of {', '.join(SUBCOMMANDS)})")
        selectors, command, cargs = args[:pos], args[pos], args[pos + 1:]
        target = linux_target(ctx)
        chosen = self._select(target, selectors)
        if not chosen:
            return nothing()
        if command == "ps":
            from .ps import Ps
            result = Ps().run(ctx, cargs + [f"{a:x}" for a in chosen])
            if isinstance(result.items, list):
                order = {a: i for i, a in enumerate(chosen)}
                result.items.sort(key=lambda r: order.get(getattr(r, "task", 0), 0))
            return result
        if command == "vtop":
            return self._vtop(ctx, cargs, chosen)
        if command == "set":
            if cargs:
                raise CommandError(f"foreach: set takes no argument ({cargs[0]})")
            return Records(self._contexts(ctx, chosen), _headed_lines)
        return self._each(ctx, self._command(command), cargs, chosen)

    def _select(self, target: LinuxTarget, selectors: list[str]) -> list[int]:
        """The tasks the selectors pick, in PID order (crash's)."""
        kernel = user = leaders = False
        for s in selectors:             # crash's checks, in the order typed
            if s in ("-k", "kernel"):
                if user:
                    raise CommandError("foreach: user and kernel are mutually exclusive!")
                kernel = True
            elif s in ("-u", "user", "gleader"):
                if kernel:
                    raise CommandError(f"foreach: {'gleader' if s == 'gleader' else 'user'} "
                                       "and kernel are mutually exclusive!")
                user = True
                leaders = leaders or s == "gleader"
        active = set(active_tasks(target).values()) if "active" in selectors else None
        states = [s.lstrip("\\") for s in selectors if s.lstrip("\\") in STATES + ("SW",)]
        if len(states) > 1:
            raise CommandError("foreach: only one task state allowed")
        if states == ["SW"]:
            # TASK_SWAPPING went with Linux 2.4
            raise CommandError("foreach: invalid task state for this kernel: SW")
        keywords = {"-k", "-u", "kernel", "user", "active", "gleader"}
        names = [s for s in selectors if s.lstrip("\\") not in STATES and s not in keywords]
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
                if kernel and not is_kernel_thread(task) or \
                        (user or leaders) and is_kernel_thread(task):
                    continue
                if leaders and int(task.pid) != int(task.tgid):
                    continue
                if states and task_state_name(task) != states[0]:
                    continue
                if active is not None and addr not in active:
                    continue
                if names and not any(self._matches(task, n) for n in names):
                    continue
            except MemoryError_ as err:
                caveat(f"task {addr:x} unreadable ({err}): left out of the selection")
                continue
            chosen.append(addr)
        return chosen

    @staticmethod
    def _contexts(ctx: Context, chosen: list[int]) -> Iterator[Any]:
        """foreach set: each task's header and context block (the context stays)."""
        target = linux_target(ctx)
        for addr in chosen:
            ctx.check()
            yield task_ref(target.object_at("struct task_struct", addr))
            yield task_context(target, addr)

    @staticmethod
    def _vtop(ctx: Context, cargs: list[str], chosen: list[int]) -> Records:
        """foreach vtop: each task's header, then vtop of each address in its memory
        (crash's -c: through the task's page tables, its default here)."""
        from .vtop import Vtop, linux_translation
        # crash's foreach vtop -c (the task's page tables for kernel addresses too) is
        # a flag; every address is translated in the task's memory here
        opts, addresses = Vtop().parse([a for a in cargs if a != "-c"])
        if not addresses:
            raise CommandError("foreach: foreach command requires address argument")
        target = linux_target(ctx)
        values = [parse_address(target, a) for a in addresses]

        def each() -> Iterator[Any]:
            for addr in chosen:
                ctx.check()
                yield task_ref(target.object_at("struct task_struct", addr))
                for value in values:
                    yield linux_translation(target, addr, value, opts)
        return Records(each(), _headed_lines)

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
