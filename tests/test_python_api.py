"""The Python API the README documents."""
from __future__ import annotations


def test_api_as_documented(linux_session) -> None:
    kernel = linux_session.target("kernel")
    assert list(linux_session.targets) == ["kernel"]
    assert kernel.object("init_task").comm.string_() == b"swapper/0"
    tasks = kernel.tasks()
    assert len(tasks) == 45 and {int(t.pid) for t in tasks} >= {0, 1, 68}
    text = linux_session.run("ps lab_crasher")
    assert "lab_crasher" in text and text.splitlines()[0].lstrip().startswith("PID")
    rows = linux_session.run("ps lab_crasher", records=True)
    assert rows == [r for r in rows if r["pid"] == 68] and rows[0]["state"] == "RU"


def test_api_errors_are_typed(linux_session) -> None:
    import pytest

    from xcrash.errors import CommandError
    with pytest.raises(CommandError, match="frobnicate"):
        linux_session.run("frobnicate")
