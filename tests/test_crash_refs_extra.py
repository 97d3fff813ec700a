"""Commands compared with crash 8.0.6 outputs the project recorded (tests/crash-ref/)."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run

REFS = Path(__file__).resolve().parent / "crash-ref" / "vmcore-d23.kdump"


def ref(prefix: str) -> tuple[str, str]:
    path = next(REFS.glob(f"{prefix}-*.txt"))
    lines = path.read_text().rstrip("\n").split("\n")
    return lines[0][len("crash> "):], "\n".join(lines[1:])


@pytest.fixture
def d23(linux_session):
    if linux_session.variant != "user-pages":
        pytest.skip("recorded on vmcore-d23.kdump")
    return linux_session


@pytest.mark.parametrize("prefix", ["40", "41", "42", "43", "44", "45", "48", "49", "50"])
def test_identical_to_crash(d23, prefix: str) -> None:
    command, want = ref(prefix)
    assert run(d23, command) == want


def test_bt_F_names_symbols_and_slab_caches_as_crash_does(d23) -> None:
    """Words into kernel symbols as symbol+offset, into slab objects as [cache]."""
    command, want = ref("46")
    assert run(d23, command) == want
    assert "[maple_node]" in want and "[proc_dir_entry]" in want


def test_bt_E_goes_on_where_crash_stops(d23) -> None:
    """crash aborts at the fifth exception stack of CPU 0 ("unrecognized stack
    address"); xcrash shows the same before it and searches every stack."""
    command, want = ref("47")
    got = run(d23, command)
    kept = want.split("\nCPU 0 (unknown) EXCEPTION STACK:")[0]
    assert got.startswith(kept)
    assert "CPU 1 NMI EXCEPTION STACK:" in got
