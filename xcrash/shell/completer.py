"""Tab completion for the interactive shell.

- first word: command names, their aliases and crash-style aliases, with
  the one-line summary beside each;
- ``-x``: the options of the command being typed, with their help;
- after ``struct``/``union``/``whatis``: type names; after ``help``: commands;
  after ``set``: setting names; after ``>``/``>>``/``<``: file names;
- after ``struct name.`` / ``p var.`` / ``p var->``: the members of that
  struct or union (pointers followed, nested ``a.b->c`` too);
- after ``ps``, ``bt``, ``task``, ``set``, ``foreach``, ``files``, ``vm``, ``sig``: pids (with the command
  name beside each) and task addresses, from one walk of the task list per
  target; after ``-c``: CPU numbers; after ``target``/``dom``: target names;
- anything else: symbol names of the current target.

prompt_toolkit calls this in its completion thread (``complete_in_thread``),
so walking the task list or reading type information never blocks typing.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from collections.abc import Iterable, Iterator

from prompt_toolkit.completion import CompleteEvent, Completer, Completion, PathCompleter
from prompt_toolkit.document import Document

from ..commands import crashvars
from ..commands.settings import SETTINGS
from .names import TargetNames, member_names

if TYPE_CHECKING:
    from ..engine.runner import Runner

_NAME_TAIL = re.compile(r"[\w.$]*$")
_TYPE_COMMANDS = {"struct", "union", "whatis"}
#: commands taking pids and task addresses (ps also command names)
_TASK_COMMANDS = {"ps", "bt", "task", "set", "foreach", "files", "vm", "sig"}
_TARGET_COMMANDS = {"target", "dom"}
#: ``name.member.member->partial``, after optional ``*``, ``&``, ``(``
_MEMBER_PATH = re.compile(r"^[*&(]*([A-Za-z_]\w*)((?:(?:\.|->)[A-Za-z_]\w*)*)(?:\.|->)(\w*)$")
_HEX = re.compile(r"(?:0x)?[0-9a-fA-F]+")


class ShellCompleter(Completer):
    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self.names = TargetNames()
        self._paths = PathCompleter(expanduser=True)

    def get_completions(self, document: Document, event: CompleteEvent) -> Iterator[Completion]:
        text = document.text_before_cursor
        if "|" in text:     # a shell pipeline is the shell's business
            return
        words = text.split()
        current = "" if not words or text[-1].isspace() else words[-1]
        before = words[:-1] if current else words
        if (before and before[-1] in (">", ">>", "<")) or current.startswith((">", "<")):
            yield from self._files(current.lstrip("<>"))
            return
        if not before:
            yield from self._commands(current)
            return
        command = self._command_name(before[0])
        if current.startswith("-"):
            yield from self._options(command, current)
            return
        if before[-1] == "-c" and len(before) > 1:
            yield from self._cpus(current)
            return
        if command in _TARGET_COMMANDS and len(before) == 1:
            yield from self._targets(current)
            return
        members = _MEMBER_PATH.match(current)
        if members is not None:
            found = list(self._members(command, members))
            if found:
                yield from found
                return
        if command in _TASK_COMMANDS:
            yield from self._tasks(current, with_comms=command == "ps")
            if command == "foreach":
                yield from self._commands(current)
                return
            if command != "set":
                return
        if command == "help":
            yield from self._commands(current)
        elif command == "set" and len(before) == 1:
            yield from _offer(current, SETTINGS.items())
            yield from _offer(current, ((v.name, "crash's variable" + (
                f" (fixed here: {v.refusal})" if v.change is None else ""))
                for v in crashvars.VARIABLES))
        elif command in _TYPE_COMMANDS and len([w for w in before if not w.startswith("-")]) == 1:
            yield from self._types(current)
            if command == "whatis":
                yield from self._symbols(current)
        else:
            yield from self._symbols(current)

    # -- sources -------------------------------------------------------------------
    def _commands(self, prefix: str) -> Iterator[Completion]:
        registry = self.runner.registry
        entries = {word: cmd.summary for word, cmd in registry.words().items()}
        for name, alias in registry.aliases.items():
            entries.setdefault(name, f"alias: {alias.text}")
        yield from _offer(prefix, sorted(entries.items()))

    def _command_name(self, word: str) -> str:
        """The command a first word runs (through an alias)."""
        registry = self.runner.registry
        cmd = registry.get(word)
        if cmd is None and word in registry.aliases:
            first = registry.aliases[word].text.split()[:1]
            cmd = registry.get(first[0]) if first else None
        return cmd.name if cmd is not None else word

    def _options(self, command: str, prefix: str) -> Iterator[Completion]:
        cmd = self.runner.registry.get(command)
        if cmd is not None:
            yield from _offer(prefix, ((o.flag, o.help) for o in cmd.options))

    def _symbols(self, current: str) -> Iterator[Completion]:
        # `*init_ta`, `&jiff`: the name part (the pattern matches every string, maybe empty)
        tail = _NAME_TAIL.search(current)
        prefix = tail.group() if tail is not None else ""
        if prefix:
            names = self.names.symbols(self.runner.session.current)
            yield from (Completion(n, -len(prefix)) for n in names.starting_with(prefix))

    def _types(self, prefix: str) -> Iterator[Completion]:
        names = self.names.types(self.runner.session.current)
        yield from (Completion(n, -len(prefix)) for n in names.starting_with(prefix))

    def _members(self, command: str, match: re.Match[str]) -> Iterator[Completion]:
        """Members after ``struct name.`` (a type) or ``p var.``/``p var->`` (a variable)."""
        base, path, partial = match.group(1), match.group(2), match.group(3)
        target = self.runner.session.current
        try:
            if command in ("struct", "union"):
                try:
                    t = target.type(f"{command} {base}")
                except Exception:
                    t = target.type(base)
            elif command == "whatis":
                try:
                    t = target.type(f"struct {base}")
                except Exception:
                    t = target.type(base)
            else:
                t = target.variable_type(base)
            for name in re.findall(r"[A-Za-z_]\w*", path):
                t = _pointee(t).member(name)[1].type
            t = _pointee(t)
            names = member_names(t)
        except Exception:   # not a variable or type, or no such member: no members
            return
        for name in names:
            if name.startswith(partial):
                try:
                    meta = t.member(name)[1].type.display_name()
                except Exception:
                    meta = ""
                yield Completion(name, -len(partial), display_meta=meta)

    def _tasks(self, current: str, with_comms: bool) -> Iterator[Completion]:
        tasks = self.names.tasks(self.runner.session.current)
        if not tasks:
            return
        if current == "" or current.isdigit():
            comms: dict[int, list[str]] = {}
            for t in tasks:     # pid 0 is every CPU's idle task
                comms.setdefault(t.pid, []).append(t.comm)
            for pid in sorted(comms):
                if str(pid).startswith(current):
                    yield Completion(str(pid), -len(current), display_meta=", ".join(comms[pid]))
        if current and _HEX.fullmatch(current):
            digits = current.lower().removeprefix("0x")
            for t in tasks:
                if f"{t.address:x}".startswith(digits):
                    yield Completion(f"{t.address:x}", -len(digits),
                                     display_meta=f"pid {t.pid} {t.comm}")
        if with_comms and current:
            for comm in sorted({t.comm for t in tasks}):
                if comm.startswith(current):
                    yield Completion(comm, -len(current), display_meta="command")

    def _cpus(self, current: str) -> Iterator[Completion]:
        """CPU numbers (``-c 0,1``: after the last comma)."""
        prefix = current.rpartition(",")[2]
        try:
            cpus = [c.index for c in self.runner.session.current.cpus]
        except Exception:
            return          # CPUs that cannot be listed: no numbers offered (a prompt never fails)
        yield from _offer(prefix, ((str(i), "cpu") for i in cpus))

    def _targets(self, prefix: str) -> Iterator[Completion]:
        targets = getattr(self.runner.session, "targets", {}) or {}
        yield from _offer(prefix, ((name, f"{getattr(t, 'kind', '')} target")
                                   for name, t in targets.items()))

    def _files(self, prefix: str) -> Iterator[Completion]:
        yield from self._paths.get_completions(Document(prefix), CompleteEvent())


def _offer(prefix: str, entries: Iterable[tuple[str, str]]) -> Iterator[Completion]:
    for word, meta in entries:
        if word.startswith(prefix):
            yield Completion(word, -len(prefix), display_meta=meta)


def _pointee(t: Any) -> Any:
    """Follow typedefs, pointers and arrays to the struct/union a member
    access reaches (``p var->`` and ``p var.`` alike, as crash accepts both)."""
    from ..symbols.types import Kind
    for _ in range(8):
        s = t.strip_typedefs()
        if s.kind in (Kind.POINTER, Kind.ARRAY):
            t = s.target
        else:
            return s
    return t.strip_typedefs()
