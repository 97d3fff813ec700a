"""Turn a command's Result into what the user sees.

Three faces of the same rows:

- ``plain``: crash-identical text, for pipes, files, batch runs and anything
  that is not a terminal;
- ``rich``: a table on a terminal, with colours unless ``NO_COLOR`` or
  ``set color off`` (rich is imported here, lazily, and nowhere else);
- ``json``: records for ``--json`` / ``set output json``.
"""
from __future__ import annotations

import enum
import io
import json
import re
from typing import Any, Iterator

from .commands.base import Column, Result, Table, Text

_TRAILING_BLANKS = re.compile(r" +((?:\x1b\[[0-9;]*m)*)$", re.MULTILINE)

#: how ``Table.marks`` names look in a rich table
MARK_STYLES = {"active": "bold", "crashing": "bold red", "current": "bold cyan"}


def render(result: Result, mode: str = "plain", *, color: bool = True, width: int = 80,
           highlight: str | None = None) -> str:
    """The result as one string, ending with a newline unless empty.  In rich
    mode with colour, ``highlight`` ("asm", "value": ``highlight.KINDS``)
    colours the first text part with pygments."""
    if mode == "json":
        return to_json(result)
    if mode == "rich":
        return rich_text(result, color=color, width=width, highlight=highlight)
    return plain(result)


def parts(result: Result) -> Iterator[Text | Table]:
    """The Text and Table parts of a result, in order (lists may nest)."""
    if isinstance(result, (Text, Table)):
        yield result
    elif isinstance(result, (list, tuple)):
        for part in result:
            yield from parts(part)
    elif result is not None:
        raise TypeError(f"a command returned {type(result).__name__}, not Text/Table/list")


# -- plain text --------------------------------------------------------------------------
def plain(result: Result) -> str:
    out = []
    for part in parts(result):
        text = part.text if isinstance(part, Text) else table_plain(part)
        if text and not text.endswith("\n"):
            text += "\n"
        out.append(text)
    return "".join(out)


def table_plain(table: Table) -> str:
    """The table as crash lays it out: the table's own ``plain`` layout, else
    a header line of titles and columns two spaces apart, each aligned as its
    Column says."""
    if table.plain is not None:
        return table.plain(table)
    cells = [[cell(col, row.get(col.key)) for col in table.columns] for row in table.rows]
    widths = [max([len(col.title)] + [len(r[i]) for r in cells])
              for i, col in enumerate(table.columns)]

    def line(values: list[str]) -> str:
        return "  ".join(v.rjust(w) if col.align == "right" else v.ljust(w)
                         for v, w, col in zip(values, widths, table.columns)).rstrip()

    lines = [table.title] if table.title else []
    lines.append(line([col.title for col in table.columns]))
    lines.extend(line(r) for r in cells)
    return "\n".join(lines) + "\n"


def cell(col: Column, value: Any) -> str:
    """A value as its column shows it; a missing value is an empty cell."""
    if value is None and col.fmt is str:
        return ""
    return col.fmt(value)


# -- JSON ---------------------------------------------------------------------------------
def records(result: Result) -> list[dict[str, Any]] | dict[str, Any]:
    """JSON-able data: a table's rows keyed by column key, a text's records,
    or ``{"text": ...}`` for a text without records.  A result of several
    parts gives the records of all parts in one list."""
    found = list(parts(result))
    if len(found) == 1:
        return _part_records(found[0])
    out: list[dict[str, Any]] = []
    for part in found:
        data = _part_records(part)
        out.extend(data if isinstance(data, list) else [data])
    return out


def _part_records(part: Text | Table) -> list[dict[str, Any]] | dict[str, Any]:
    if isinstance(part, Table):
        return [{col.key: row.get(col.key) for col in part.columns} for row in part.rows]
    if part.records is not None:
        return part.records
    return {"text": part.text}


def to_json(result: Result) -> str:
    return json.dumps(records(result), indent=2, default=_json_default) + "\n"


def _json_default(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("latin-1")
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return str(value)


# -- rich ---------------------------------------------------------------------------------
def rich_text(result: Result, *, color: bool = True, width: int = 80,
              highlight: str | None = None) -> str:
    """Tables as rich tables (ANSI styles unless ``color`` is false), texts as
    they are: a text is already laid out and must not be re-wrapped (only
    coloured, the first one, when ``highlight`` names a kind)."""
    out = []
    for i, part in enumerate(parts(result)):
        if isinstance(part, Text):
            text = part.text
            if color and highlight and i == 0:
                from .highlight import highlight as colour
                text = colour(text, highlight)
            out.append(text if not text or text.endswith("\n") else text + "\n")
        else:
            out.append(_rich_table(part, color, width))
    return "".join(out)


def _rich_table(table: Table, color: bool, width: int) -> str:
    from rich import box
    from rich.console import Console
    from rich.table import Table as RichTable
    from rich.text import Text as RichText

    cells = [[cell(col, row.get(col.key)) for col in table.columns] for row in table.rows]
    natural = sum(max([len(col.title)] + [len(r[i]) for r in cells]) + 3
                  for i, col in enumerate(table.columns))
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=color, no_color=not color, width=max(width, natural),
                      highlight=False, markup=False, emoji=False)
    # padding on the right only: with the box's blank divider, columns sit two
    # spaces apart as in crash's listings
    rt = RichTable(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1, 0, 0),
                   header_style="bold" if color else "", title=table.title)
    for col in table.columns:
        rt.add_column(col.title, justify="right" if col.align == "right" else "left", no_wrap=True)
    for i, row in enumerate(cells):
        mark = table.marks.get(i)
        style = MARK_STYLES.get(mark, "bold") if mark and color else None
        rt.add_row(*(RichText(c) for c in row), style=style)
    console.print(rt)
    return _TRAILING_BLANKS.sub(r"\1", buf.getvalue())
