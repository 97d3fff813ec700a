"""gdb's value history as crash keeps it: each value ``p`` prints (and each pointer
``struct -p`` follows) takes the next number; ``$N`` names it again, ``$`` the last,
``$$`` the one before, ``$$N`` the one N back."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..errors import CommandError
from ..expr import Evaluator
from ..objects import Object
from .base import Context

if TYPE_CHECKING:
    from ..targets.base import Target

_HISTORY_NAME = re.compile(r"\$(\$?\d*)")


class History:
    """gdb's value history, one per session (kept in the runner's settings)."""

    KEY = "_history"

    def __init__(self) -> None:
        self.values: list[Object | int] = []

    @classmethod
    def of(cls, ctx: Context) -> History:
        found = ctx.settings.get(cls.KEY)
        if not isinstance(found, History):
            found = ctx.settings[cls.KEY] = History()
        return found

    def add(self, value: Object | int) -> int:
        self.values.append(value)
        return len(self.values)

    def get(self, name: str) -> Object | int:
        """``$``, ``$N``, ``$$``, ``$$N`` (gdb's access_value_history)."""
        n = len(self.values)
        if name == "$" or name == "$0":
            index = n
        elif name.startswith("$$"):
            back = int(name[2:]) if name[2:] else 1
            index = n - back
        else:
            index = int(name[1:])
        if not self.values or index <= 0:
            raise CommandError("History is empty." if not self.values
                               else f"History has not yet reached {name}.")
        if index > n:
            raise CommandError(f"History has not yet reached ${index}.")
        return self.values[index - 1]


_HISTORY_NAME = re.compile(r"\$(\$?\d*)")


def evaluator(ctx: Context, target: Target | None = None, **kw: Any) -> Evaluator:
    """An evaluator whose ``$N`` names are the session's value history."""
    history = History.of(ctx)

    def lookup(name: str) -> Object | int:
        if _HISTORY_NAME.fullmatch(name) is None:
            raise CommandError(f"No symbol \"{name}\" in current context.")
        return history.get(name)
    return Evaluator(target if target is not None else ctx.target, history=lookup, **kw)
