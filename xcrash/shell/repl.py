"""The interactive shell: a prompt_toolkit prompt in front of the Runner.

History persists in ``$XDG_STATE_HOME/xcrash/history``; Tab completes
commands, options, symbols, types and files; a greyed suggestion from the
history can be taken with the right arrow.  Ctrl-C at the prompt clears the
line, during a command interrupts it; Ctrl-D or ``q`` leaves.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from prompt_toolkit import PromptSession
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.history import FileHistory, History, InMemoryHistory

from ..commands.base import Quit
from .completer import ShellCompleter

if TYPE_CHECKING:
    from ..engine.runner import Runner


def history_path() -> Path:
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(Path.home(), ".local", "state")
    return Path(state) / "xcrash" / "history"


def _history() -> History:
    path = history_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(exist_ok=True)
    except OSError:     # read-only home: keep this session's history only
        return InMemoryHistory()
    return FileHistory(str(path))


def prompt_text(runner: Runner) -> str:
    """``xcrash> ``, or ``xcrash:<target>> `` when the dump has several targets."""
    session = runner.session
    if len(getattr(session, "targets", ())) > 1:
        return f"xcrash:{session.current.name}> "
    return "xcrash> "


def run_repl(runner: Runner) -> int:
    """Read and run lines until ``q`` or Ctrl-D; the exit status is 0."""
    prompt: PromptSession[str] = PromptSession(
        history=_history(),
        completer=ShellCompleter(runner),
        complete_in_thread=True,
        complete_while_typing=False,
        auto_suggest=AutoSuggestFromHistory(),
    )
    while True:
        try:
            text = prompt.prompt(lambda: prompt_text(runner))
        except KeyboardInterrupt:
            continue        # Ctrl-C at the prompt drops the line, as a shell does
        except EOFError:
            return 0        # Ctrl-D leaves
        try:
            runner.execute(text)
        except Quit:
            return 0        # q
        except KeyboardInterrupt:
            runner.error(None, "interrupted")
        except BrokenPipeError:
            runner.error(None, "output closed early")
