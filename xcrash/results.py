"""What a command returns: typed records, and the layout that shows them as crash does.

A command asks a ``targets/`` helper for records (dataclass instances, possibly
produced lazily by a generator) and returns them in a :class:`Records` together
with its layout: a function from the records to crash's text lines.  Everything
the user can see comes from those records:

- plain text: ``layout(records)``, streamed line by line (pipes, files, batch);
- a rich table: ``columns`` over the records' attributes, when the command gives
  them (otherwise the plain text, coloured);
- JSON: each record's fields (:func:`record_json`), in an envelope with the
  command's caveats.

A result is one :class:`Records` or a list of them, shown one after another (or a
generator of them, for a long output made part by part: ``foreach``).
"""
from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Callable, Iterable, Iterator, Sequence

from .caveats import Unreadable

#: a layout: the records in, crash's text out, one line at a time (no newlines)
Layout = Callable[[Iterable[Any]], Iterable[str]]


@dataclass
class Column:
    """A column of the rich table: its title, the record attribute it shows, its
    alignment and how a value is written (JSON keeps the value itself)."""
    title: str
    key: str
    align: str = "left"          # "left" | "right"
    fmt: Callable[[Any], str] = str


@dataclass
class Records:
    """Records and the ways to show them."""
    items: Iterable[Any]
    layout: Layout
    #: a rich table over the records; empty: the terminal shows the plain text
    columns: Sequence[Column] = ()
    #: a record's highlight in the rich table ("active", "crashing", "current") or None
    mark: Callable[[Any], str | None] | None = None
    _cached: list[Any] | None = field(default=None, repr=False)

    def records(self) -> list[Any]:
        """Every record (a lazy source is run once and kept)."""
        if self._cached is None:
            self._cached = list(self.items)
            self.items = self._cached
        return self._cached

    def lines(self, keep: bool = True) -> Iterator[str]:
        """crash's text, line by line: streams when the records are lazy, keeping each
        record as it comes, so that records() after lines() still has them all.
        Without ``keep`` (output written as it comes: memory stays bounded however long
        it is), lazy records are not kept, and records() cannot be asked afterwards."""
        if self._cached is not None:
            yield from self.layout(self._cached)
            return
        if not keep:
            items = self.items
            self.items = _streamed()
            yield from self.layout(items)
            return
        kept: list[Any] = []

        def keeping() -> Iterator[Any]:
            for record in self.items:
                kept.append(record)
                yield record
        yield from self.layout(keeping())
        self._cached = self.items = kept


def _streamed() -> Iterator[Any]:
    raise RuntimeError("these records were streamed without being kept")
    yield       # a generator: it raises when read


#: what a command returns: Records, a sequence of results (nested ones too), or a generator
#: of Records made part by part
Result = Records | Sequence["Result"] | Iterator[Records]


def parts(result: Result | None) -> Iterator[Records]:
    """The Records parts of a result, in order (sequences may nest; a generator of
    parts is run once, as it is shown)."""
    if isinstance(result, Records):
        yield result
    elif isinstance(result, (list, tuple, Iterator)):
        for part in result:
            yield from parts(part)
    elif result is not None:
        raise TypeError(f"a command returned {type(result).__name__}, not Records")


# -- records as JSON -------------------------------------------------------------------
def record_json(record: Any) -> Any:
    """A record as JSON-able data: a dataclass gives its fields but those declared
    with ``field(metadata={"json": False})``; nested records, lists and dicts are
    converted the same way; an :class:`~xcrash.caveats.Unreadable` value is null."""
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        return {f.name: record_json(getattr(record, f.name))
                for f in dataclasses.fields(record) if f.metadata.get("json", True)}
    if isinstance(record, Unreadable):
        return None
    if isinstance(record, dict):
        return {str(k): record_json(v) for k, v in record.items()}
    if isinstance(record, (list, tuple)):
        return [record_json(v) for v in record]
    if isinstance(record, enum.Enum):
        return record.name
    if isinstance(record, (bytes, bytearray)):
        return bytes(record).decode("latin-1")
    if isinstance(record, (set, frozenset)):
        return sorted(record_json(v) for v in record)
    if record is None or isinstance(record, (bool, int, float, str)):
        return record
    return str(record)


# -- small layouts every command may use ----------------------------------------------
@dataclass(frozen=True)
class TextLine:
    """A line of free text: output that is prose, not data (help pages, a
    configuration file the kernel carries, the hypervisor's console)."""
    text: str


def text_lines(text: str) -> Records:
    """Free text as records of :class:`TextLine` (one per line)."""
    return Records([TextLine(line) for line in text.split("\n")] if text else [], each_text)


def each_text(records: Iterable[Any]) -> Iterator[str]:
    """The layout of :class:`TextLine` records."""
    for record in records:
        yield from record.text.split("\n")


def nothing() -> Records:
    """A result with no records and no text."""
    return Records([], each_text)


# -- what --explain teaches ---------------------------------------------------------------
@dataclass
class Teaching:
    """What ``--explain`` adds after its account of the reads: the kernel structures an
    answer came from and why they are walked that way (``sentences``, with the version
    differences that mattered on this dump), further facts line by line (``details``:
    which ORC entry unwound which frame, ...), and a program in the Python API that
    prints the same answer.  The program is ``imports`` and ``body``; the engine puts
    the opening of the session's own dump between them, binding the target to
    ``variable``.  ``body`` is empty when no program reproduces this form of the
    command (``sentences`` then say which form has one)."""
    sentences: list[str]
    imports: list[str] = field(default_factory=list)
    body: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)
    variable: str = "kernel"

    def __add__(self, other: Teaching) -> Teaching:
        """Two teachings one after another (a program that prints both answers)."""
        return Teaching(self.sentences + other.sentences,
                        self.imports + [i for i in other.imports if i not in self.imports],
                        self.body + other.body, self.details + other.details, self.variable)
