"""A stand-in for xcrash.open in shell and CLI tests: no dump is read.

``XCRASH_TEST_SESSION=fake_session:open_session`` (with tests/ on the path)
points the CLI at it; in-process tests monkeypatch ``xcrash.open``.
"""
from __future__ import annotations

import os
from types import SimpleNamespace

from xcrash.errors import FileError, NoSuchSymbol, NoSuchType
from xcrash.symbols.types import Kind, Type

SYMBOLS = ["init_task", "jiffies", "jiffies_64", "linux_banner", "panic", "sysrq_handle_crash"]
TYPES = {"task_struct": Kind.STRUCT, "list_head": Kind.STRUCT, "pid_t": Kind.TYPEDEF,
         "sigval": Kind.UNION}


class FakeNames:
    def __init__(self, names: list[str]) -> None:
        self._names = names

    def names(self) -> list[str]:
        return list(self._names)


class FakeTarget:
    kind = "linux"

    def __init__(self, name: str = "kernel") -> None:
        self.name = name
        self.symbols = FakeNames(SYMBOLS)
        self.types = FakeNames([f"struct {n}" if k is Kind.STRUCT else
                                f"union {n}" if k is Kind.UNION else n
                                for n, k in TYPES.items()])

    def symbol(self, name: str) -> object:
        if name not in SYMBOLS:
            raise NoSuchSymbol(name)
        return SimpleNamespace(name=name, address=0xffffffff81000000)

    def type(self, name: str) -> Type:
        tag, _, bare = name.rpartition(" ")
        kind = TYPES.get(bare)
        if kind is None or (tag and tag != kind.value):
            raise NoSuchType(name)
        return Type(kind, bare, 8)


class FakeSession:
    def __init__(self, path: str, targets: list[str] | None = None) -> None:
        self.dump = SimpleNamespace(path=path, zero_excluded=False)
        self.targets = {n: FakeTarget(n) for n in (targets or ["kernel"])}
        self.current = next(iter(self.targets.values()))
        self.messages: list[str] = []

    def select(self, name: str) -> FakeTarget:
        self.current = self.targets[name]
        return self.current


def open_session(vmcore: str, *symbol_files: str, target: str | None = None) -> FakeSession:
    for path in (vmcore, *symbol_files):
        if not os.path.exists(path):
            raise FileError(path, "no such file")
    targets = ["xen", "dom0"] if "multi" in os.path.basename(vmcore) else None
    session = FakeSession(vmcore, targets)
    session.messages.append(f"{vmcore}: a fake session for tests")
    return session


def make_runner(session: FakeSession | None = None, **settings: object):
    """A Runner on a fake session writing into StringIOs: (runner, out, err)."""
    import io

    from xcrash.commands.registry import Registry
    from xcrash.commands.settings import default_settings
    from xcrash.engine.runner import Runner

    out, err = io.StringIO(), io.StringIO()
    runner = Runner(session or FakeSession("vmcore"), Registry(plugins=False),
                    {**default_settings({}), **settings}, out=out, err=err)
    return runner, out, err
