"""Explain mode: how an answer was obtained, with the equivalent Python calls."""
from __future__ import annotations

from conftest import run_lines


def test_explain_a_variable(linux_session) -> None:
    text = run_lines(linux_session, "p jiffies --explain")
    assert text.startswith("jiffies = $1 = ")
    assert "-- how xcrash found this --" in text
    assert "jiffies = 0xffffffffaf207980" in text
    assert "kernel image" in text
    assert "k.symbol('jiffies')" in text


def test_explain_shows_the_page_walk_of_a_stack_read(linux_session) -> None:
    text = run_lines(linux_session, "rd ffffb36c80163cc8 --explain")
    assert "(page table)" in text and "k.space.explain(0xffffb36c80163cc8)" in text


def test_set_explain_on_applies_to_every_command(linux_session) -> None:
    text = run_lines(linux_session, "set explain on", "sym jiffies", "set explain off",
                     "sym jiffies")
    assert text.count("-- how xcrash found this --") == 1
