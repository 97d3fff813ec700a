"""Progress of slow one-off work (unpacking an .xz file, indexing DWARF).

Layers call :func:`report` with a task name and the fraction done; nobody
listens unless a front end installs a reporter (the shell does, on a
terminal, and shows a bar only when the work has taken more than a second).
"""
from __future__ import annotations

import sys
import time
from typing import TextIO
from collections.abc import Callable

Reporter = Callable[[str, float], None]
_reporter: Reporter | None = None


def report(task: str, fraction: float) -> None:
    if _reporter is not None:
        _reporter(task, fraction)


def set_reporter(reporter: Reporter | None) -> Reporter | None:
    """Install a reporter (None: none); returns the previous one."""
    global _reporter
    previous, _reporter = _reporter, reporter
    return previous


class TerminalBar:
    """``xcrash: unpacking vmlinux.xz [#######.......]  48%`` on one line of a terminal,
    shown only once a task has run for ``delay`` seconds."""

    def __init__(self, stream: TextIO = sys.stderr, delay: float = 1.0, width: int = 30) -> None:
        self.stream = stream
        self.delay = delay
        self.width = width
        self.started: dict[str, float] = {}
        self.shown = False

    def __call__(self, task: str, fraction: float) -> None:
        now = time.monotonic()
        start = self.started.setdefault(task, now)
        done = fraction >= 1.0
        if now - start < self.delay and not self.shown:
            if done:
                self.started.pop(task, None)
            return
        filled = int(self.width * min(fraction, 1.0))
        bar = "#" * filled + "." * (self.width - filled)
        self.stream.write(f"\rxcrash: {task} [{bar}] {fraction:4.0%}")
        self.shown = True
        if done:
            self.stream.write("\n")
            self.shown = False
            self.started.pop(task, None)
        self.stream.flush()
