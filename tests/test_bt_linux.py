"""bt on the real Linux dumps, against crash 8.0.6's reference outputs."""
from __future__ import annotations

import re

import pytest

from conftest import crash_ref
from test_commands_linux import run


def _blocks(text: str) -> dict[str, str]:
    """crash's per-task blocks keyed by their TASK address."""
    out = {}
    for block in re.split(r"\n\s*\n", text.strip()):
        m = re.search(r"TASK: ([0-9a-f]+)", block)
        if m:
            out[m.group(1)] = block.rstrip()
    return out


def _functions(text: str) -> list[str]:
    return re.findall(r"^\s*#\d+ \[[0-9a-f]+\] (\S+) at", text, re.M)


@pytest.mark.parametrize("command,ref", [("bt", "10-bt"), ("bt -a", "12-bt_a"),
                                         ("bt -f", "11-bt_f")])
def test_bt_matches_crash(linux_session, command: str, ref: str) -> None:
    assert run(linux_session, command) == crash_ref(linux_session.ref_dir, ref)


def test_bt_every_task_matches_foreach_bt(linux_session) -> None:
    ref = _blocks(crash_ref(linux_session.ref_dir, "13-foreach_bt"))
    assert len(ref) >= 40
    for task, block in ref.items():
        ours = run(linux_session, f"bt {task}")
        assert _functions(ours) == _functions(block), task
        assert ours == block, task


def test_bt_by_pid_and_cpu(linux_session) -> None:
    ref = _blocks(crash_ref(linux_session.ref_dir, "13-foreach_bt"))
    init = next(b for b in ref.values() if b.startswith("PID: 1 "))
    assert run(linux_session, "bt 1") == init
    a = run(linux_session, "bt -a").split("\n\n")
    assert run(linux_session, "bt -c 0") == a[0]
    assert run(linux_session, "bt -c 1") == a[1]


def test_bt_lines(linux_session) -> None:
    out = run(linux_session, "bt -l")
    assert re.search(r"^    \S+\.[chS]: \d+$", out, re.M)
