"""Symbol and type names of a target, for completion: read once, kept sorted.

Listing every symbol of a kernel takes a moment, so it happens on the first
completion that needs it (in prompt_toolkit's completion thread), and once
per target.
"""
from __future__ import annotations

import bisect
import threading
from typing import TYPE_CHECKING, NamedTuple, Protocol, runtime_checkable
from collections.abc import Callable, Iterable, Iterator

if TYPE_CHECKING:
    from ..objects import Object
    from ..symbols.types import Type
    from ..targets.base import Target

#: most names offered at once; more is noise, and slow to draw
LIMIT = 500

_TAGS = ("struct ", "union ", "enum ")


class SortedNames:
    def __init__(self, names: Iterable[str]) -> None:
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
        self._tasks: dict[int, list[TaskName]] = {}

    def tasks(self, target: Target) -> list[TaskName]:
        """(pid, task address, comm) of every task of a Linux target, walked
        once per target (``for_each_task``); [] for targets without tasks."""
        with self._lock:
            found = self._tasks.get(id(target))
            if found is None:
                try:
                    found = list(_task_names(target))
                except Exception:   # an unreadable task list: no task completions
                    found = []
                self._tasks[id(target)] = found
            return found

    def symbols(self, target: Target) -> SortedNames:
        return self._get(self._symbols, target, _symbol_names)

    def types(self, target: Target) -> SortedNames:
        """struct, union, enum and typedef names, without their ``struct ``
        tag (``struct task_<TAB>`` wants ``task_struct``)."""
        return self._get(self._types, target, _type_names)

    def _get(self, cache: dict[int, SortedNames], target: Target,
             read: Callable[[Target], Iterable[str]]) -> SortedNames:
        with self._lock:
            names = cache.get(id(target))
            if names is None:
                try:
                    names = SortedNames(read(target))
                except Exception:   # no symbol file, or a source that cannot list: no names
                    names = SortedNames(())
                cache[id(target)] = names
            return names


class TaskName(NamedTuple):
    pid: int
    address: int
    comm: str


@runtime_checkable
class WithTasks(Protocol):
    """A target that lists its tasks: a Linux kernel (``LinuxTarget.tasks``)."""

    def tasks(self) -> list[Object]: ...


def _task_names(target: Target) -> Iterator[TaskName]:
    if target.kind != "linux" or not isinstance(target, WithTasks):
        return                  # only a Linux kernel has tasks
    for task in target.tasks():
        comm = task.comm.string_().decode("utf-8", "replace")
        yield TaskName(int(task.pid), task.at_, comm)


def member_names(t: Type) -> list[str]:
    """The member names of a struct/union type (through typedefs and
    anonymous members), in declaration order; [] for other types."""
    from ..symbols.types import Kind
    s = t.strip_typedefs()
    if s.kind not in (Kind.STRUCT, Kind.UNION):
        return []
    out: list[str] = []
    for m in s.members or ():
        if m.name is None:
            out.extend(member_names(m.type))
        else:
            out.append(m.name)
    return out


def _symbol_names(target: Target) -> Iterator[str]:
    symbols = getattr(target, "symbols", None)
    return iter(symbols.names()) if symbols is not None else iter(())


def _type_names(target: Target) -> Iterator[str]:
    for name in target.types.names():
        for tag in _TAGS:
            if name.startswith(tag):
                name = name[len(tag):]
                break
        yield name
