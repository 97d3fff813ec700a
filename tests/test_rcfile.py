"""Start-up files are read only when they are the user's own and not writable by others."""
from __future__ import annotations

import os
from pathlib import Path

from xcrash.shell.rcfile import candidates, run_rcfiles


def test_trusted_files_run_in_order_and_unsafe_ones_are_skipped(tmp_path: Path) -> None:
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    (home / ".xcrashrc").write_text("set radix 16\n")
    (work / ".xcrashrc").write_text("alias x sys\n")
    ran: list[str] = []
    warnings: list[str] = []

    def runs(path: str) -> bool:
        ran.append(path)
        return True
    run_rcfiles(runs, warnings.append, candidates(home, work))
    assert ran == [str(home / ".xcrashrc"), str(work / ".xcrashrc")] and not warnings
    os.chmod(work / ".xcrashrc", 0o666)
    ran.clear()
    run_rcfiles(runs, warnings.append, candidates(home, work))
    assert ran == [str(home / ".xcrashrc")]
    assert warnings and "writable by others" in warnings[0]


def test_home_is_not_read_twice(tmp_path: Path) -> None:
    assert candidates(tmp_path, tmp_path) == [tmp_path / ".xcrashrc"]
