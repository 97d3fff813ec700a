"""fuser against crash 8.0.6 on linux-sysrq: by path (fd, mmap, root/cwd), by dentry
address, and a path nobody uses."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import xcrash
from xcrash.errors import CommandError

SAMPLES = Path(__file__).resolve().parents[1] / "sample-dumps"
MANIFEST = SAMPLES / "MANIFEST.json"
MAN = json.loads(MANIFEST.read_text()) if MANIFEST.exists() else {}
RECORDED = Path(__file__).parent / "crash-ref" / "linux-sysrq" / "fuser.txt"
pytestmark = pytest.mark.skipif(not MAN, reason="sample-dumps/MANIFEST.json is not here")


@pytest.fixture(scope="module")
def sysrq():
    entry = MAN["dumps"]["linux-sysrq"]
    return xcrash.open(str(SAMPLES / entry["files"][0]["path"]),
                       str(SAMPLES / entry["kernel"]["vmlinux"]))


def blocks() -> list[tuple[str, str]]:
    return [(cmd, body.strip("\n")) for cmd, body in
            re.findall(r"^crash> (.*)\n((?:(?!crash> ).*\n?)*)", RECORDED.read_text(), re.M)]


@pytest.mark.parametrize("index", range(len(blocks())))
def test_equals_crash(sysrq, index: int) -> None:
    command, want = blocks()[index]
    assert sysrq.run(command).strip("\n") == want


def test_the_crasher_wrote_to_sysrq_trigger(sysrq) -> None:
    [user] = sysrq.run("fuser /proc/sysrq-trigger", records=True)
    assert (user["comm"], user["uses"]) == ("xc-crasher", ["fd"])


def test_bad_arguments(sysrq) -> None:
    with pytest.raises(CommandError, match="not a kernel address"):
        sysrq.run("fuser 400000")
    with pytest.raises(CommandError, match="a full path or a kernel address"):
        sysrq.run("fuser console")
