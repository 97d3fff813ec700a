"""Ctrl-C while a command runs.

The first press only raises a flag that long loops poll through
``Context.interrupted`` / ``Context.check()``, so a command stops at a clean
point; a second press, for a command that does not poll, raises
KeyboardInterrupt at once.
"""
from __future__ import annotations

import contextlib
import signal
import threading
from types import FrameType
from collections.abc import Iterator


class Interrupt:
    def __init__(self) -> None:
        self.flag = False

    def is_set(self) -> bool:
        return self.flag

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        if self.flag:
            raise KeyboardInterrupt
        self.flag = True

    @contextlib.contextmanager
    def armed(self) -> Iterator[None]:
        """Catch SIGINT as above for the enclosed code (main thread only)."""
        self.flag = False
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = signal.signal(signal.SIGINT, self._handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)
            self.flag = False


@contextlib.contextmanager
def ignored() -> Iterator[None]:
    """Ignore SIGINT while a child (pager, shell command) owns the terminal.

    A do-nothing handler rather than SIG_IGN: an ignored signal stays ignored
    across exec, and the child must still die of its own Ctrl-C."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, _no_op)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _no_op(signum: int, frame: FrameType | None) -> None:
    pass
