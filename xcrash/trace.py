"""Tracing hook: record how an answer was obtained.

Layers call :func:`record` for symbol and type lookups, translations and
memory reads.  Recording costs one attribute test when nobody listens; the
shell's explain mode wraps a command in :func:`recording` and prints the
events.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Iterator


@dataclass
class Event:
    kind: str                      # "symbol", "type", "translate", "read", "member", ...
    what: str                      # short human description
    details: dict[str, Any] = field(default_factory=dict)


class _Recorder:
    __slots__ = ("events", "limit")

    def __init__(self, limit: int) -> None:
        self.events: list[Event] = []
        self.limit = limit


_active: _Recorder | None = None


def enabled() -> bool:
    return _active is not None


def record(kind: str, what: str, **details: Any) -> None:
    rec = _active
    if rec is not None and len(rec.events) < rec.limit:
        rec.events.append(Event(kind, what, details))


@contextlib.contextmanager
def recording(limit: int = 10000) -> Iterator[list[Event]]:
    """Collect the events of the enclosed code into the yielded list."""
    global _active
    outer = _active
    rec = _Recorder(limit)
    _active = rec
    try:
        yield rec.events
    finally:
        _active = outer
