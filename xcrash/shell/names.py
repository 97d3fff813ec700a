"""Symbol and type names of a target, for completion: read once, kept sorted.

Listing every symbol of a kernel takes a moment, so it happens on the first
completion that needs it (in prompt_toolkit's completion thread), and once
per target.
"""
from __future__ import annotations

import bisect
import threading
from typing import Any, Iterator

#: most names offered at once; more is noise, and slow to draw
LIMIT = 500

_TAGS = ("struct ", "union ", "enum ")


class SortedNames:
    def __init__(self, names: Any) -> None:
        self._names = sorted(set(names))

    def __len__(self) -> int:
        return len(self._names)

    def starting_with(self, prefix: str, limit: int = LIMIT) -> Iterator[str]:
        i = bisect.bisect_left(self._names, prefix)
        for name in self._names[i:i + limit]:
            if not name.startswith(prefix):
                return
            yield name


class TargetNames:
    """The names of every target seen so far, by target."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._symbols: dict[int, SortedNames] = {}
        self._types: dict[int, SortedNames] = {}

    def symbols(self, target: Any) -> SortedNames:
        return self._get(self._symbols, target, _symbol_names)

    def types(self, target: Any) -> SortedNames:
        """struct, union, enum and typedef names, without their ``struct ``
        tag (``struct task_<TAB>`` wants ``task_struct``)."""
        return self._get(self._types, target, _type_names)

    def _get(self, cache: dict[int, SortedNames], target: Any, read: Any) -> SortedNames:
        with self._lock:
            names = cache.get(id(target))
            if names is None:
                try:
                    names = SortedNames(read(target))
                except Exception:   # no symbol file, or a source that cannot list: no names
                    names = SortedNames(())
                cache[id(target)] = names
            return names


def _symbol_names(target: Any) -> Iterator[str]:
    symbols = getattr(target, "symbols", None)
    return iter(symbols.names()) if symbols is not None else iter(())


def _type_names(target: Any) -> Iterator[str]:
    for name in target.types.names():
        for tag in _TAGS:
            if name.startswith(tag):
                name = name[len(tag):]
                break
        yield name
