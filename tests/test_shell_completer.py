"""Completion, without a terminal: what is offered for what is typed."""
from __future__ import annotations

from pathlib import Path

import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

from fake_session import make_runner
from xcrash.shell.completer import ShellCompleter
from xcrash.shell.names import SortedNames


def offered(text: str) -> dict[str, str]:
    runner, _, _ = make_runner()
    completer = ShellCompleter(runner)
    return {c.text: c.display_meta_text
            for c in completer.get_completions(Document(text), CompleteEvent())}


def test_first_word_offers_commands_and_aliases_with_summaries() -> None:
    assert offered("hel") == {"help": "list the commands, or show a command's help page"}
    assert set(offered("q")) >= {"q", "quit"}
    assert offered("he")["hex"] == "alias: set radix 16"


def test_options_of_the_command_being_typed() -> None:
    assert offered("set -") == {"-v": "show every setting",
                                "-p": "the panic task becomes the context",
                                "-c": "the task active on this CPU becomes the context",
                                "-a": "this task (pid or task address) becomes the active "
                                      "task of its CPU"}


def test_setting_names_after_set_and_commands_after_help() -> None:
    assert set(offered("set ")) == {"radix", "color", "output", "scroll", "zero_excluded",
                                    "explain", "refresh", "print_max", "print_array",
                                    "console", "debug", "core", "hash", "silent", "edit",
                                    "namelist", "dumpfile", "unwind", "null-stop", "gdb",
                                    "scope", "offline", "redzone", "error"}
    assert "alias" in offered("help al")


def test_type_names_after_struct_union_whatis() -> None:
    assert set(offered("struct ")) == {"task_struct", "list_head", "pid_t", "sigval"}
    assert set(offered("struct -o task")) == {"task_struct"}
    assert set(offered("whatis ji")) == {"jiffies", "jiffies_64"}


def test_symbol_names_elsewhere_after_operators_too() -> None:
    assert set(offered("sym jiff")) == {"jiffies", "jiffies_64"}
    assert set(offered("p *init_t")) == {"init_task"}
    assert offered("sym ") == {}
    assert offered("help | gre") == {}


def test_file_names_after_redirections(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "out-file.txt").write_text("")
    monkeypatch.chdir(tmp_path)
    assert "-file.txt" in offered("help > out")
    assert "-file.txt" in offered("help >out")


def test_sorted_names_prefix_and_limit() -> None:
    names = SortedNames(["b", "ab", "aa", "a", "ab"])
    assert list(names.starting_with("a")) == ["a", "aa", "ab"]
    assert list(names.starting_with("a", limit=2)) == ["a", "aa"]
    assert list(names.starting_with("c")) == []
