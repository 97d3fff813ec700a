"""Completion that depends on the dump: members, pids and task addresses,
CPU numbers, target names (fake targets; the real dump in the pty tests)."""
from __future__ import annotations

from types import SimpleNamespace

from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

from fake_session import FakeSession, FakeTarget, make_runner
from xcrash.errors import NoSuchType
from xcrash.shell.completer import ShellCompleter
from xcrash.symbols.types import Kind, Member, Type

U64 = Type(Kind.INT, "u64", 8)
INT = Type(Kind.INT, "int", 4)
LIST = Type(Kind.STRUCT, "list_head", 16)
LIST._members = [Member("next", Type(Kind.POINTER, None, 8, target=LIST), 0),
                 Member("prev", Type(Kind.POINTER, None, 8, target=LIST), 64)]
SE = Type(Kind.STRUCT, "sched_entity", 16,
          members=[Member("vruntime", U64, 0), Member("exec_start", U64, 64)])
ANON = Type(Kind.UNION, None, 8, members=[Member("flags", INT, 0), Member("raw", U64, 0)])
TASK = Type(Kind.STRUCT, "task_struct", 64)
TASK._members = [Member("pid", INT, 0), Member("se", SE, 64), Member("tasks", LIST, 192),
                 Member(None, ANON, 320),
                 Member("parent", Type(Kind.POINTER, None, 8, target=TASK), 384)]


def _task(pid: int, address: int, comm: str) -> SimpleNamespace:
    return SimpleNamespace(pid=pid, address_=address, at_=address,
                           comm=SimpleNamespace(string_=lambda: comm.encode()))


class TaskTarget(FakeTarget):
    def __init__(self, name: str = "kernel", kind: str = "linux") -> None:
        super().__init__(name)
        self.kind = kind
        self.cpus = [SimpleNamespace(index=0), SimpleNamespace(index=1)]

    def type(self, name: str) -> Type:
        if name in ("task_struct", "struct task_struct"):
            return TASK
        return super().type(name)

    def variable_type(self, name: str) -> Type:
        if name == "init_task":
            return TASK
        if name == "current_ptr":
            return Type(Kind.POINTER, None, 8, target=TASK)
        raise NoSuchType(name)

    def tasks(self) -> list[SimpleNamespace]:
        return [_task(0, 0xffffffff82a14600, "swapper/0"), _task(0, 0xffff888003c1a000, "swapper/1"),
                _task(1, 0xffff888003c10000, "init"), _task(68, 0xffff888004e8c000, "lab_crasher"),
                _task(6, 0xffff888003c16000, "kworker/0:0")]


def offered(text: str, session: FakeSession | None = None) -> dict[str, str]:
    if session is None:
        session = FakeSession("vmcore")
        session.targets = {"kernel": TaskTarget()}
        session.current = session.targets["kernel"]
    runner, _, _ = make_runner(session)
    completer = ShellCompleter(runner)
    return {c.text: c.display_meta_text
            for c in completer.get_completions(Document(text), CompleteEvent())}


def test_members_after_a_struct_name_and_dot() -> None:
    assert offered("struct task_struct.") == {
        "pid": "int", "se": "struct sched_entity", "tasks": "struct list_head",
        "flags": "int", "raw": "u64", "parent": "struct task_struct *"}
    assert set(offered("struct task_struct.p")) == {"pid", "parent"}
    assert set(offered("struct task_struct.se.")) == {"vruntime", "exec_start"}
    assert set(offered("struct -o task_struct.ta")) == {"tasks"}


def test_members_after_a_variable_dot_and_arrow() -> None:
    assert set(offered("p init_task.se.v")) == {"vruntime"}
    assert set(offered("p init_task.parent->se.e")) == {"exec_start"}
    assert set(offered("p current_ptr->")) == {"pid", "se", "tasks", "flags", "raw", "parent"}
    assert set(offered("p *current_ptr->tasks.next->")) == {"next", "prev"}
    assert offered("p init_task.nosuch.") == {}
    assert offered("p jiffies.") == {}      # not a struct: nothing (not symbols either)


def test_pids_and_task_addresses_after_task_commands() -> None:
    assert offered("ps ") == {"0": "swapper/0, swapper/1", "1": "init", "6": "kworker/0:0",
                              "68": "lab_crasher"}
    assert offered("bt 6") == {"6": "kworker/0:0", "68": "lab_crasher"}
    assert offered("task ffff8880") == {"ffff888003c1a000": "pid 0 swapper/1",
                                        "ffff888003c10000": "pid 1 init",
                                        "ffff888004e8c000": "pid 68 lab_crasher",
                                        "ffff888003c16000": "pid 6 kworker/0:0"}
    assert offered("ps lab") == {"lab_crasher": "command"}
    assert "68" in offered("set 6") and "68" in offered("foreach 6")
    assert {"radix", "0", "68"} <= set(offered("set "))
    assert "bt" in offered("foreach b")


def test_tasks_are_walked_once_per_target() -> None:
    session = FakeSession("vmcore")
    target = TaskTarget()
    calls: list[int] = []
    walk = target.tasks

    def counted() -> list[SimpleNamespace]:
        calls.append(1)
        return walk()
    target.tasks = counted      # type: ignore[method-assign]  # count the walks of this one
    session.targets = {"kernel": target}
    session.current = target
    runner, _, _ = make_runner(session)
    completer = ShellCompleter(runner)
    for text in ("ps ", "bt 6", "task ffff"):
        list(completer.get_completions(Document(text), CompleteEvent()))
    assert calls == [1]


def test_no_tasks_on_other_targets() -> None:
    session = FakeSession("vmcore")
    session.targets = {"xen": TaskTarget("xen", kind="xen")}
    session.current = session.targets["xen"]
    assert offered("ps ", session) == {}


def test_cpu_numbers_after_dash_c() -> None:
    assert offered("bt -c ") == {"0": "cpu", "1": "cpu"}
    assert offered("set -c 1") == {"1": "cpu"}
    assert offered("bt -c 0,") == {"0": "cpu", "1": "cpu"}


def test_target_names_after_target_and_dom() -> None:
    session = FakeSession("vmcore", ["xen", "dom0", "dom1"])
    assert offered("target ", session) == {"xen": "linux target", "dom0": "linux target",
                                           "dom1": "linux target"}
    assert set(offered("dom d", session)) == {"dom0", "dom1"}
