"""The renderer: crash-style plain text, rich tables, JSON records."""
from __future__ import annotations

import json

from xcrash.commands.base import Column, Table, Text
from xcrash.render import records, render

COLUMNS = [Column("PID", "pid", "right"), Column("TASK", "task", fmt=lambda v: f"{v:x}"),
           Column("COMM", "comm")]
ROWS = [{"pid": 1, "task": 0xffff8880, "comm": "init"},
        {"pid": 68, "task": 0xffff8881, "comm": "[lab_crasher]", "hidden": "x"}]


def test_text_is_written_as_is_with_a_final_newline() -> None:
    assert render(Text("  a\n b")) == "  a\n b\n"
    assert render(Text("x\n\n")) == "x\n\n"
    assert render(Text("")) == ""


def test_table_without_layout_aligns_columns_under_a_header() -> None:
    assert render(Table(COLUMNS, ROWS)) == (
        "PID  TASK      COMM\n"
        "  1  ffff8880  init\n"
        " 68  ffff8881  [lab_crasher]\n")


def test_table_title_missing_values_and_own_layout() -> None:
    table = Table([Column("A", "a"), Column("B", "b")], [{"a": "x"}], title="TITLE")
    assert render(table) == "TITLE\nA  B\nx\n"
    own = Table(COLUMNS, ROWS, plain=lambda t: f"{len(t.rows)} rows")
    assert render(own) == "2 rows\n"


def test_parts_are_rendered_in_order_nested_lists_too() -> None:
    out = render([Text("head"), [Table([Column("A", "a")], [{"a": 1}])], Text("tail\n")])
    assert out == "head\nA\n1\ntail\n"


def test_json_records() -> None:
    table = Table(COLUMNS, ROWS)
    assert records(table) == [{"pid": 1, "task": 0xffff8880, "comm": "init"},
                              {"pid": 68, "task": 0xffff8881, "comm": "[lab_crasher]"}]
    assert records(Text("t", records=[{"k": 1}])) == [{"k": 1}]
    assert records(Text("free text")) == {"text": "free text"}
    assert records([Text("a"), Text("b", records=[{"k": 2}]), table])[:3] == [
        {"text": "a"}, {"k": 2}, {"pid": 1, "task": 0xffff8880, "comm": "init"}]
    data = json.loads(render(Text("x", records=[{"raw": b"\x01a", "n": 2**64 - 1}]), "json"))
    assert data == [{"raw": "\x01a", "n": 2**64 - 1}]


def test_rich_table_keeps_bracketed_values_and_honours_colour() -> None:
    table = Table(COLUMNS, ROWS, marks={1: "crashing"})
    plain = render(table, "rich", color=False, width=80)
    assert "\x1b[" not in plain
    assert "[lab_crasher]" in plain and "ffff8881" in plain
    coloured = render(table, "rich", color=True, width=80)
    assert "\x1b[" in coloured and "[lab_crasher]" in coloured


def test_rich_table_wider_than_the_terminal_is_not_truncated() -> None:
    table = Table([Column("ARGS", "a")], [{"a": "x" * 150}])
    out = render(table, "rich", color=False, width=40)
    assert "x" * 150 in out


def test_rich_leaves_text_alone() -> None:
    assert render(Text("[b]bold?[/b]"), "rich", color=True) == "[b]bold?[/b]\n"
