"""The memory commands on the record model (linux-sysrq): rd and search stream their
records; what could not be read is shown as ? or said in a WARNING, never replaced by a
default (rd past the end of a RAM range, an unreadable struct file, VMA file or task)."""
from __future__ import annotations

import io
import json
import types

import pytest

from xcrash.errors import MemoryError_


def run(session, line: str, output: str = "text") -> tuple[bool, str, str]:
    from xcrash.engine.runner import Runner
    out, err = io.StringIO(), io.StringIO()
    runner = Runner(session, out=out, err=err)
    runner.settings["output"] = output
    return runner.execute(line), out.getvalue(), err.getvalue()


def command_result(session, line: str):
    from xcrash.commands.base import Context
    from xcrash.commands.registry import Registry
    words = line.split()
    cmd = Registry().get(words[0])
    assert cmd is not None
    return cmd.run(Context(session, {}), words[1:])


@pytest.mark.parametrize("line", ["rd -p 100000 100000", "search -c xc-crasher"])
def test_long_outputs_are_lazy_records(sysrq, line: str) -> None:
    result = command_result(sysrq, line)
    assert isinstance(result.items, types.GeneratorType)


def test_rd_into_a_missing_page_shows_what_was_read_then_warns(sysrq) -> None:
    """RAM ends at 9f000: two lines, then the read error as a WARNING (JSON: warnings)."""
    ok, out, _ = run(sysrq, "rd -p 9eff0 4")
    assert ok and out.splitlines() == [
        "           9eff0:  0000000000000000 0000000000000000   ................",
        "WARNING: read error: physical address 9f000: physical address 0x9f000: not RAM in "
        "the dump (no such page frame): the display stops there"]
    ok, out, _ = run(sysrq, "rd -p 9eff0 4", "json")
    doc = json.loads(out)
    assert [r["address"] for r in doc["records"]] == [0x9eff0, 0x9eff8]
    assert len(doc["warnings"]) == 1 and "9f000" in doc["warnings"][0]
    ok, _, err = run(sysrq, "rd -p 9f000 4")
    assert not ok and "read error: physical address 9f000" in err


def test_rd_a_shows_printable_runs_as_crash_does(sysrq) -> None:
    """crash's rd -a: without a count the string ends at its first unprintable byte
    (the banner's newline); with one, unprintable bytes end a line and the next
    printable byte starts a new one at its own address."""
    ok, out, _ = run(sysrq, "rd -a linux_banner")
    assert ok and out.splitlines()[-1] == "ffffffffa5e599d8:   SMP Thu Nov 26 08:08:09 UTC 2026"
    ok, out, _ = run(sysrq, "rd -a linux_banner 0xb0")
    assert ok and out.splitlines()[3:] == ["ffffffffa5e59a09:  ((((("]
    ok, out, _ = run(sysrq, "rd -a linux_banner", "json")
    records = json.loads(out)["records"]
    assert records[0] == {"address": 0xffffffffa5e59960,
                          "value": "Linux version 6.1.192-xcrash (root@vm) (gcc (Debian 12.2.0-1"}
    assert all(set(r) == {"address", "value"} for r in records)
    ok, out, _ = run(sysrq, "rd -p -a 9efc0 100")        # zeros, then no RAM
    assert ok and out.splitlines() == [
        "WARNING: read error: physical address 9f000: physical address 0x9f000: not RAM in "
        "the dump (no such page frame): the display stops there"]


def test_search_limit_is_a_warning(sysrq) -> None:
    ok, out, _ = run(sysrq, "search -n 2 ffffffffa6214600")
    assert ok and out.splitlines()[-1] == "WARNING: search: stopped after 2 hits (-n)"
    assert len(out.splitlines()) == 3
    ok, out, _ = run(sysrq, "search -n 2 ffffffffa6214600", "json")
    doc = json.loads(out)
    assert [set(r) for r in doc["records"]] == [{"address", "pattern", "value"}] * 2
    assert doc["warnings"] == ["search: stopped after 2 hits (-n)"]


def test_an_unreadable_struct_file_is_question_marks(sysrq, monkeypatch) -> None:
    from xcrash.targets.linux import files

    real = files.open_file

    def open_file(target, fd, file):
        if fd == 10:
            raise MemoryError_("damaged", file)
        return real(target, fd, file)
    monkeypatch.setattr(files, "open_file", open_file)
    ok, out, _ = run(sysrq, "files 1")
    lines = out.splitlines()
    assert ok and lines[-2] == (" 10 ffff975a8086fa00                ?                ? ?    ?")
    assert lines[-1].startswith("WARNING: file ffff975a8086fa00 (fd 10) unreadable (damaged)")
    ok, out, _ = run(sysrq, "files 1", "json")
    [record] = json.loads(out)["records"]
    assert record["files"][-1] == {"fd": 10, "file": 0xffff975a8086fa00, "dentry": None,
                                   "inode": None, "type": None, "path": None}


def test_an_unreadable_vma_file_is_a_question_mark(sysrq, monkeypatch) -> None:
    from xcrash.targets.linux import vma

    def dentry_path(target, dentry, mnt):
        raise MemoryError_("damaged", dentry)
    monkeypatch.setattr(vma, "dentry_path", dentry_path)
    ok, out, _ = run(sysrq, "vm 1")
    lines = out.splitlines()
    assert ok and lines[4] == "ffff975a80b3c110     400000     401000     71 ?"
    assert lines[9] == "ffff975a80b3c440     5e5000     5ec000 100073 "       # anonymous
    assert lines[14] == "WARNING: file of VMA ffff975a80b3c110 unreadable (damaged): shown as ?"
    ok, out, _ = run(sysrq, "vm 1", "json")
    assert json.loads(out)["records"][0]["vmas"][0]["file"] is None


def test_fuser_names_a_task_it_could_not_read(sysrq, monkeypatch) -> None:
    """An unreadable task is no longer a silent "No users": the others are listed and
    the task is named in a WARNING."""
    from xcrash.targets.linux import fileusers

    real = fileusers.uses_of

    def uses_of(target, task, spec, address):
        if int(task.pid) == 1:
            raise MemoryError_("damaged", task.address_)
        return real(target, task, spec, address)
    monkeypatch.setattr(fileusers, "uses_of", uses_of)
    ok, out, _ = run(sysrq, "fuser /init")
    assert ok and out.splitlines() == [
        "No users of /init found",
        "WARNING: files or memory map of task ffff975a80191480 (pid 1) unreadable (damaged): "
        "whether it uses /init is not known"]
