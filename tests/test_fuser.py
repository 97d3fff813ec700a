"""fuser against crash 8.0.6 on linux-sysrq: by path (fd, mmap, root/cwd), by dentry
address, and a path nobody uses."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import recorded_blocks
from xcrash.errors import CommandError

BLOCKS = recorded_blocks(Path(__file__).parent / "crash-ref" / "linux-sysrq" / "fuser.txt")


@pytest.mark.parametrize("command,want", BLOCKS, ids=[c for c, _ in BLOCKS])
def test_equals_crash(sysrq, command: str, want: str) -> None:
    assert sysrq.run(command).strip("\n") == want


def test_the_crasher_wrote_to_sysrq_trigger(sysrq) -> None:
    [user] = sysrq.run("fuser /proc/sysrq-trigger", records=True)
    assert (user["comm"], user["uses"]) == ("xc-crasher", ["fd"])


def test_bad_arguments(sysrq) -> None:
    with pytest.raises(CommandError, match="not a kernel address"):
        sysrq.run("fuser 400000")
    with pytest.raises(CommandError, match="a full path or a kernel address"):
        sysrq.run("fuser console")
