"""Saying so when an answer is not the whole truth.

A crash tool that guesses must say it guessed.  Two tools for that:

- :class:`Unreadable`: a value that could not be read from the dump.  It stands
  where the value would (a record field), is written ``?`` in crash's columns
  (keeping the column's width and alignment: ``f"{value:8d}"`` works), and is
  null in JSON.
- :func:`caveat`: one line saying what could not be read or what was inferred
  instead (a heuristic, a fallback).  The command runner collects a command's
  caveats (:func:`collecting`) and shows them after its output: ``WARNING: ...``
  lines in text, a ``warnings`` list in JSON, events for ``--explain``.  Outside
  a runner (the Python API used directly) a caveat is a Python warning of the
  category :class:`CaveatWarning`.

Typical use in a helper::

    try:
        vsz, rss = task_memory(target, task)
    except MemoryError_ as err:
        caveat(f"ps: mm of task {task.address_:x}: {err}")
        vsz = rss = Unreadable(str(err))
"""
from __future__ import annotations

import contextlib
import re
import warnings
from collections.abc import Iterator

from . import trace

_SPEC = re.compile(r"(?:(?P<fill>.)?(?P<align>[<>=^]))?[-+ ]?#?0?(?P<width>\d+)?")


class Unreadable:
    """A value the dump did not give: ``reason`` says why."""

    __slots__ = ("reason",)

    def __init__(self, reason: str = "") -> None:
        self.reason = reason

    def __format__(self, spec: str) -> str:
        """``?`` in the width and alignment of the format asked for (numbers
        right-aligned, as the value would have been)."""
        m = _SPEC.match(spec)
        width = int(m.group("width")) if m and m.group("width") else 0
        align = (m.group("align") if m else None) or (">" if spec[-1:] in "dxXfeEgGob%" and spec
                                                      else "<")
        return format("?", f"{align}{width}" if width else "")

    def __str__(self) -> str:
        return "?"

    def __repr__(self) -> str:
        return f"Unreadable({self.reason!r})"

    def __bool__(self) -> bool:
        return False

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Unreadable)

    def __hash__(self) -> int:
        return hash(Unreadable)


class CaveatWarning(UserWarning):
    """A caveat raised outside a command runner."""


_active: list[list[str]] = []


def caveat(what: str) -> None:
    """Record that an answer is partial or inferred: one line, naming the object
    and what was shown instead."""
    trace.record("caveat", what)
    if _active:
        if what not in _active[-1]:
            _active[-1].append(what)
    else:
        warnings.warn(what, CaveatWarning, stacklevel=2)


@contextlib.contextmanager
def collecting() -> Iterator[list[str]]:
    """Collect the caveats of the enclosed code (each once, in order) in the yielded list."""
    found: list[str] = []
    _active.append(found)
    try:
        yield found
    finally:
        _active.pop()
