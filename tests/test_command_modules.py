"""Every built-in command module loads.

The registry swallows a module that fails to import (a broken plug-in must not take
the shell down) and only warns: a moved import once dropped all the Xen commands
with nothing but that warning.  Here the warning is a failure.
"""
from __future__ import annotations

import importlib

import pytest

from xcrash.commands.registry import MinimalRegistry, Registry, builtin_modules

#: the Xen commands, the ones the last silent loss took
XEN_COMMANDS = {"doms", "domain", "vcpus", "vcpu", "pcpus", "dumpinfo", "sched"}


@pytest.mark.parametrize("module", sorted(builtin_modules()))
def test_module_imports(module: str) -> None:
    importlib.import_module(f"xcrash.commands.{module}")


def test_the_registry_loads_every_builtin_module_without_a_warning() -> None:
    warnings: list[str] = []
    registry = Registry(plugins=False, warn=warnings.append)
    names = {cmd.name for cmd in registry.commands()}
    assert warnings == []
    assert XEN_COMMANDS <= names
    assert {"ps", "bt", "help", "alias", "target", "q"} <= names


def test_every_module_with_commands_gives_them_to_the_registry() -> None:
    registry = Registry(plugins=False, warn=pytest.fail)
    for module in builtin_modules():
        mod = importlib.import_module(f"xcrash.commands.{module}")
        for cls in getattr(mod, "COMMANDS", ()):
            assert registry.get(cls.name) is not None, f"{module}: {cls.name}"


def test_minimal_registry_refuses_what_it_leaves_out() -> None:
    registry = MinimalRegistry(plugins=False, warn=pytest.fail)
    assert type(registry.get("rd")).__name__ != "_Refused"
    refused = registry.get("doms")
    assert refused is not None and type(refused).__name__ == "_Refused"
