"""Turn a command's result into what the user sees.

Three faces of the same records (``xcrash.results``):

- ``plain``: crash-identical text, for pipes, files, batch runs and anything
  that is not a terminal; streamed line by line (:func:`plain_chunks`);
- ``rich``: a table on a terminal when the command declares columns, with
  colours unless ``NO_COLOR`` or ``set color off`` (rich is imported here,
  lazily, and nowhere else); otherwise the plain text, optionally highlighted;
- ``json``: the records' fields (:func:`records`), which the runner puts in its
  envelope with the command's caveats.
"""
from __future__ import annotations

import io
import json
import re
from typing import Any
from collections.abc import Iterator

from .results import Column, Records, Result, parts, record_json

_TRAILING_BLANKS = re.compile(r" +((?:\x1b\[[0-9;]*m)*)$", re.MULTILINE)

#: how marks look in a rich table
MARK_STYLES = {"active": "bold", "crashing": "bold red", "current": "bold cyan"}


def render(result: Result, mode: str = "plain", *, color: bool = True, width: int = 80,
           highlight: str | None = None) -> str:
    """The result as one string, ending with a newline unless empty.  In rich
    mode with colour, ``highlight`` ("asm", "value": ``highlight.KINDS``)
    colours the text of a result without columns with pygments."""
    if mode == "json":
        return to_json(records(result))
    if mode == "rich":
        return rich_text(result, color=color, width=width, highlight=highlight)
    return "".join(plain_chunks(result))


# -- plain text --------------------------------------------------------------------------
def plain_chunks(result: Result, keep: bool = True) -> Iterator[str]:
    """crash's text, one line (with its newline) at a time (``keep``: see
    Records.lines)."""
    for part in parts(result):
        for line in part.lines(keep):
            yield line + "\n"


def cell(col: Column, value: Any) -> str:
    """A value as its column shows it; a missing value is an empty cell."""
    if value is None and col.fmt is str:
        return ""
    return col.fmt(value)


def field_of(record: Any, key: str) -> Any:
    """A record's field by name (a dataclass attribute, or a dict key)."""
    return record.get(key) if isinstance(record, dict) else getattr(record, key, None)


# -- JSON ---------------------------------------------------------------------------------
def records(result: Result) -> list[Any]:
    """JSON-able data of every record of every part, in order."""
    return [record_json(rec) for part in parts(result) for rec in part.records()]


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2) + "\n"


# -- rich ---------------------------------------------------------------------------------
def rich_text(result: Result, *, color: bool = True, width: int = 80,
              highlight: str | None = None) -> str:
    """Parts with columns as rich tables (ANSI styles unless ``color`` is false),
    the others as their plain text: laid out already, never re-wrapped (only
    coloured, when ``highlight`` names a kind)."""
    out = []
    for part in parts(result):
        if part.columns:
            out.append(_rich_table(part, color, width))
            continue
        text = "".join(line + "\n" for line in part.lines())
        if color and highlight:
            from .highlight import highlight as colour
            text = colour(text, highlight)
        out.append(text)
    return "".join(out)


def _rich_table(part: Records, color: bool, width: int) -> str:
    from rich import box
    from rich.console import Console
    from rich.table import Table as RichTable
    from rich.text import Text as RichText

    rows = part.records()
    cells = [[cell(col, field_of(row, col.key)) for col in part.columns] for row in rows]
    natural = sum(max([len(col.title)] + [len(r[i]) for r in cells]) + 3
                  for i, col in enumerate(part.columns))
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=color, no_color=not color, width=max(width, natural),
                      highlight=False, markup=False, emoji=False)
    # padding on the right only: with the box's blank divider, columns sit two
    # spaces apart as in crash's listings
    rt = RichTable(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1, 0, 0),
                   header_style="bold" if color else "")
    for col in part.columns:
        rt.add_column(col.title, justify="right" if col.align == "right" else "left", no_wrap=True)
    for row, texts in zip(rows, cells):
        mark = part.mark(row) if part.mark is not None else None
        style = MARK_STYLES.get(mark, "bold") if mark and color else None
        rt.add_row(*(RichText(c) for c in texts), style=style)
    console.print(rt)
    return _TRAILING_BLANKS.sub(r"\1", buf.getvalue())
