"""The shell in a pseudo-terminal: Ctrl-R, suggestions from history, and the
completions that need the dump (targets; members and pids on the real dump)."""
from __future__ import annotations

from pathlib import Path
from collections.abc import Iterator

import pexpect
import pytest

from pty_shell import PROMPT, leave, on_screen, spawn


def test_ctrl_r_searches_the_history(shell: pexpect.spawn) -> None:
    shell.sendline("set radix 16")
    shell.expect_exact("output radix: 16 (hex)")
    shell.expect_exact(PROMPT)
    shell.sendline("set radix 10")
    shell.expect_exact("output radix: 10 (decimal)")
    shell.expect_exact(PROMPT)
    shell.sendcontrol("r")
    shell.expect_exact("reverse-i-search")
    shell.send("x 16")
    on_screen(shell, "set radix 16")
    shell.sendline("")          # accept the found line, Enter runs it
    shell.sendline("")
    shell.expect_exact("output radix: 16 (hex)")
    shell.expect_exact(PROMPT)
    assert leave(shell) == 0


def test_suggestion_from_history_taken_with_the_right_arrow(shell: pexpect.spawn) -> None:
    shell.sendline("set scroll off")
    shell.expect_exact("scroll: off")
    shell.expect_exact(PROMPT)
    shell.send("set sc")
    on_screen(shell, "roll off")        # the greyed suggestion
    shell.send("\x1b[C")                # right arrow takes it
    shell.sendline("")
    shell.expect_exact("scroll: off")
    shell.expect_exact(PROMPT)
    assert leave(shell) == 0


def test_target_names_complete(tmp_path: Path) -> None:
    (tmp_path / "multi-vmcore").write_bytes(b"")
    child = spawn(tmp_path, "multi-vmcore")
    child.expect_exact("xcrash:xen>")
    child.send("target d\t")
    on_screen(child, "target dom0")
    child.sendcontrol("c")
    child.expect_exact("xcrash:xen>")
    assert leave(child) == 0


# -- on the real dump ---------------------------------------------------------------------
@pytest.fixture
def real_shell(tmp_path: Path) -> Iterator[pexpect.spawn]:
    from conftest import LINUX_DIR, need
    dump = (str(need(LINUX_DIR / "vmcore-d31.kdump")), str(need(LINUX_DIR / "vmlinux.xz")))
    child = spawn(tmp_path, *dump, rows=60, fake=False)
    child.expect_exact(PROMPT, timeout=120)
    yield child
    child.close(force=True)


@pytest.mark.slow
def test_members_pids_and_cpus_complete_on_a_real_dump(real_shell: pexpect.spawn) -> None:
    real_shell.send("p init_task.se.vrun\t")
    on_screen(real_shell, "vruntime")
    real_shell.sendline("")
    colour = r"(?:\x1b\[[0-9;]*m)*"            # p values are highlighted on a terminal
    real_shell.expect(rf"{colour}\$\d+{colour} = {colour}\d+")
    real_shell.expect_exact(PROMPT)
    real_shell.send("ps lab_cr\t")
    on_screen(real_shell, "lab_crasher")
    real_shell.sendline("")
    real_shell.expect_exact("PID")
    real_shell.expect_exact("lab_crasher")
    real_shell.expect_exact(PROMPT)
    real_shell.send("bt 6\t")           # 6, 64, 68...: a menu with the commands beside
    real_shell.expect_exact("lab_crasher")
    real_shell.sendcontrol("c")
    real_shell.expect_exact(PROMPT)
    assert leave(real_shell) == 0
