"""Tab completion for the interactive shell.

- first word: command names, their aliases and crash-style aliases, with
  the one-line summary beside each;
- ``-x``: the options of the command being typed, with their help;
- after ``struct``/``union``/``whatis``: type names; after ``help``: commands;
  after ``set``: setting names; after ``>``/``>>``/``<``: file names;
- anything else: symbol names of the current target.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Iterable, Iterator

from prompt_toolkit.completion import CompleteEvent, Completer, Completion, PathCompleter
from prompt_toolkit.document import Document

from ..commands.settings import SETTINGS
from .names import TargetNames

if TYPE_CHECKING:
    from .runner import Runner

_NAME_TAIL = re.compile(r"[\w.$]*$")
_TYPE_COMMANDS = {"struct", "union", "whatis"}


class ShellCompleter(Completer):
    def __init__(self, runner: "Runner") -> None:
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
        if command == "help":
            yield from self._commands(current)
        elif command == "set" and len(before) == 1:
            yield from _offer(current, SETTINGS.items())
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
        prefix = _NAME_TAIL.search(current).group()   # `*init_ta`, `&jiff`: the name part
        if prefix:
            names = self.names.symbols(self.runner.session.current)
            yield from (Completion(n, -len(prefix)) for n in names.starting_with(prefix))

    def _types(self, prefix: str) -> Iterator[Completion]:
        names = self.names.types(self.runner.session.current)
        yield from (Completion(n, -len(prefix)) for n in names.starting_with(prefix))

    def _files(self, prefix: str) -> Iterator[Completion]:
        yield from self._paths.get_completions(Document(prefix), CompleteEvent())


def _offer(prefix: str, entries: Iterable[tuple[str, str]]) -> Iterator[Completion]:
    for word, meta in entries:
        if word.startswith(prefix):
            yield Completion(word, -len(prefix), display_meta=meta)
