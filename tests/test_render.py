"""The renderer: one set of records shown as crash's text, a rich table or JSON."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from collections.abc import Iterable, Iterator

from xcrash.caveats import Unreadable
from xcrash.render import records, render
from xcrash.results import Column, Records, record_json, text_lines


@dataclass
class Task:
    pid: int
    task: int
    comm: str
    hidden: str = field(default="x", metadata={"json": False})


TASKS = [Task(1, 0xffff8880, "init"), Task(68, 0xffff8881, "[lab_crasher]")]
COLUMNS = [Column("PID", "pid", "right"), Column("TASK", "task", fmt=lambda v: f"{v:x}"),
           Column("COMM", "comm")]


def layout(tasks: Iterable[Task]) -> Iterator[str]:
    yield "PID  TASK      COMM"
    for t in tasks:
        yield f"{t.pid:3d}  {t.task:x}  {t.comm}"


def test_plain_text_is_the_layout_of_the_records() -> None:
    assert render(Records(TASKS, layout)) == (
        "PID  TASK      COMM\n"
        "  1  ffff8880  init\n"
        " 68  ffff8881  [lab_crasher]\n")
    assert render(text_lines("  a\n b")) == "  a\n b\n"
    assert render(text_lines("")) == ""


def test_lazy_records_are_produced_once_whatever_is_asked() -> None:
    produced = []

    def source() -> Iterator[Task]:
        for t in TASKS:
            produced.append(t.pid)
            yield t
    part = Records(source(), layout)
    assert records(part) == [{"pid": 1, "task": 0xffff8880, "comm": "init"},
                             {"pid": 68, "task": 0xffff8881, "comm": "[lab_crasher]"}]
    assert render(part).count("\n") == 3
    assert produced == [1, 68]


def test_parts_are_rendered_in_order_nested_lists_too() -> None:
    out = render([text_lines("head"), [Records(TASKS[:1], layout)], text_lines("tail")])
    assert out == "head\nPID  TASK      COMM\n  1  ffff8880  init\ntail\n"


def test_json_of_records_nested_values_and_unreadable() -> None:
    @dataclass
    class Frame:
        level: int
        raw: bytes
        regs: dict[str, int]
        rss: int | Unreadable

    data = record_json(Frame(0, b"\x01a", {"rip": 2**64 - 1}, Unreadable("PUD not present")))
    assert data == {"level": 0, "raw": "\x01a", "regs": {"rip": 2**64 - 1}, "rss": None}
    assert json.loads(render(Records(TASKS, layout), "json")) == records(Records(TASKS, layout))


def test_unreadable_keeps_the_width_and_alignment_of_its_column() -> None:
    value = Unreadable("no page")
    assert f"{value:8d}|{value:<4}|{value:x}|{value}" == "       ?|?   |?|?"
    assert not value


def test_rich_table_keeps_bracketed_values_and_honours_colour() -> None:
    part = Records(TASKS, layout, COLUMNS, mark=lambda t: "crashing" if t.pid == 68 else None)
    plain = render(part, "rich", color=False, width=80)
    assert "\x1b[" not in plain
    assert "[lab_crasher]" in plain and "ffff8881" in plain
    coloured = render(part, "rich", color=True, width=80)
    assert "\x1b[" in coloured and "[lab_crasher]" in coloured


def test_rich_table_wider_than_the_terminal_is_not_truncated() -> None:
    part = Records([Task(1, 1, "x" * 150)], layout, [Column("COMM", "comm")])
    assert "x" * 150 in render(part, "rich", color=False, width=40)


def test_rich_without_columns_shows_the_text_as_it_is() -> None:
    assert render(text_lines("[b]bold?[/b]"), "rich", color=True) == "[b]bold?[/b]\n"


def test_records_after_lines_of_a_lazy_source_are_all_there() -> None:
    """foreach lays a part out, then asks for its records (JSON): a generator must not
    have been used up by the layout."""
    part = Records((t for t in TASKS), layout)
    assert len(list(part.lines())) == 3
    assert [r.pid for r in part.records()] == [1, 68]
