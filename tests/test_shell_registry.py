"""The command registry: built-ins, entry-point plug-ins, aliases."""
from __future__ import annotations

import importlib.metadata

import pytest

from xcrash.commands.registry import ENTRY_POINT_GROUP, Registry, builtin_modules
from xcrash.errors import CommandError


def entry_points(*specs: tuple[str, str]) -> object:
    points = [importlib.metadata.EntryPoint(name, value, ENTRY_POINT_GROUP)
              for name, value in specs]

    def fake(**selection: str) -> list:
        assert selection == {"group": ENTRY_POINT_GROUP}
        return points
    return fake


def test_builtins_are_found_without_a_list() -> None:
    assert {"help", "settings", "alias", "quit"} <= set(builtin_modules())
    assert "registry" not in set(builtin_modules())
    registry = Registry(plugins=False)
    for word in ("help", "set", "alias", "q", "quit", "exit"):
        assert registry.get(word) is not None, word
    assert registry.get("quit") is registry.get("q")


def test_no_prefix_matching() -> None:
    registry = Registry(plugins=False)
    assert registry.get("hel") is None
    assert registry.get("he") is None


def test_plugins_from_entry_points(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points(
        ("hello", "plugin_commands:Hello"), ("pair", "plugin_commands:PAIR")))
    warnings: list[str] = []
    registry = Registry(warn=warnings.append)
    hello = registry.get("hello")
    assert hello is not None and hello.summary == "say hello"
    assert registry.get("hi") is registry.get("hello")
    assert registry.get("bye") is not None
    assert warnings == []


def test_broken_or_clashing_plugins_only_warn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points(
        ("gone", "no_such_module_xyz:Thing"), ("clash", "plugin_commands:HelpAgain"),
        ("notacommand", "plugin_commands:PAIR.__class__"), ("hello", "plugin_commands:Hello")))
    warnings: list[str] = []
    registry = Registry(warn=warnings.append)
    assert registry.get("hello") is not None          # the good one still loads
    help_ = registry.get("help")
    assert help_ is not None and help_.summary != "tries to take a built-in name"
    assert len(warnings) == 3
    assert all("\n" not in w for w in warnings)
    assert "gone" in warnings[0] and "ModuleNotFoundError" in warnings[0]
    assert "help" in warnings[1] and "already defined" in warnings[1]


def test_broken_plugin_warns_on_stderr_in_one_line(monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(importlib.metadata, "entry_points",
                        entry_points(("gone", "no_such_module_xyz:Thing")))
    Registry().get("help")
    err = capsys.readouterr().err
    assert err.startswith("xcrash: plug-in gone") and err.count("\n") == 1


def test_commands_listed_once_sorted() -> None:
    names = [c.name for c in Registry(plugins=False).commands()]
    assert names == sorted(set(names))
    assert "quit" not in names


def test_aliases() -> None:
    registry = Registry(plugins=False)
    assert registry.aliases["hex"].text == "set radix 16"
    alias = registry.define_alias("kp", "kmem -p")
    assert (alias.origin, registry.aliases["kp"].text) == ("runtime", "kmem -p")
    with pytest.raises(CommandError, match="help: is a command name"):
        registry.define_alias("help", "set")
