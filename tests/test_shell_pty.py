"""The interactive shell, driven in a pseudo-terminal."""
from __future__ import annotations

from pathlib import Path
from collections.abc import Iterator

import pexpect
import pytest

from pty_shell import PROMPT, leave, on_screen, spawn, wait_for_file


def test_pipe_to_a_shell_command(shell: pexpect.spawn) -> None:
    shell.sendline("help | grep alias")
    shell.expect("alias +list or define command aliases")
    shell.expect_exact(PROMPT)
    assert leave(shell) == 0


def test_redirection_to_a_file(shell: pexpect.spawn, tmp_path: Path) -> None:
    shell.sendline("help > out.txt")
    wait_for_file(tmp_path / "out.txt", "session:")
    shell.sendline("alias >> out.txt")
    text = wait_for_file(tmp_path / "out.txt", "ps -l\n")
    assert "session:\n" in text and text.endswith("builtin  last     ps -l\n")
    assert "\x1b" not in text
    assert leave(shell) == 0


def test_tab_completes_a_command_name_and_an_option(shell: pexpect.spawn) -> None:
    shell.send("hel\t")
    on_screen(shell, "help")
    shell.send(" ali\t")          # after help: command names again
    on_screen(shell, "alias")
    shell.sendline("")
    shell.expect_exact("NAME\r\n  alias - list or define command aliases")
    shell.expect_exact(PROMPT)
    shell.send("set -\t")            # set's options (-v, -p, -c): the menu of them
    on_screen(shell, "show every setting")
    shell.sendline("v")
    shell.expect("zero_excluded: off")
    shell.expect_exact(PROMPT)
    assert leave(shell) == 0


def test_history_persists_and_ctrl_d_leaves(shell: pexpect.spawn, tmp_path: Path) -> None:
    shell.sendline("hex")
    shell.expect_exact("output radix: 16 (hex)")
    shell.expect_exact(PROMPT)
    shell.sendcontrol("d")
    shell.expect(pexpect.EOF)
    shell.close()
    assert shell.exitstatus == 0
    assert "+hex" in (tmp_path / "state" / "xcrash" / "history").read_text()


def test_ctrl_c_clears_the_line_and_interrupts_a_shell_command(shell: pexpect.spawn) -> None:
    shell.send("help nosuch")
    shell.expect_exact("help nosuch")     # the prompt has the text: Ctrl-C now clears it
    shell.sendcontrol("c")
    shell.expect_exact(PROMPT)
    # exec: no moment where sh has forked a sleep that the Ctrl-C would miss
    shell.sendline("!echo sleeping; exec sleep 30")
    shell.expect_exact("sleeping\r\n")
    shell.sendcontrol("c")
    shell.expect_exact(PROMPT, timeout=10)
    shell.sendline("hex")
    shell.expect_exact("output radix: 16 (hex)")
    assert leave(shell) == 0


def test_errors_keep_the_shell_running(shell: pexpect.spawn) -> None:
    shell.sendline("frobnicate")
    shell.expect_exact("xcrash: frobnicate: command not found")
    shell.sendline("p 'unclosed")
    shell.expect_exact("xcrash: unterminated ' quote")
    shell.expect_exact(PROMPT)
    assert leave(shell) == 0


def test_long_output_goes_through_the_pager(tmp_path: Path) -> None:
    (tmp_path / "vmcore").write_bytes(b"")
    child = spawn(tmp_path, "vmcore", rows=8)
    child.expect_exact(PROMPT)
    child.sendline("help")
    child.expect(r"\(END\)|:")         # less waits on a full screen
    child.send("q")
    child.expect_exact(PROMPT)
    child.sendline("set scroll off")
    child.expect_exact(PROMPT)
    child.sendline("help")
    child.expect_exact("help COMMAND shows")
    child.expect_exact(PROMPT)
    assert leave(child) == 0


def test_prompt_names_the_target_when_there_are_several(tmp_path: Path) -> None:
    (tmp_path / "multi-vmcore").write_bytes(b"")
    child = spawn(tmp_path, "multi-vmcore")
    child.expect_exact("xcrash:xen>")
    assert leave(child) == 0


# -- on the real dump ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def real_dump() -> tuple[str, str]:
    from conftest import LINUX_DIR, need
    return (str(need(LINUX_DIR / "vmcore-d31.kdump")), str(need(LINUX_DIR / "vmlinux.xz")))


@pytest.fixture
def real_shell(tmp_path: Path, real_dump: tuple[str, str]) -> Iterator[pexpect.spawn]:
    child = spawn(tmp_path, *real_dump, rows=60, fake=False)
    child.expect_exact(PROMPT, timeout=120)
    yield child
    child.close(force=True)


@pytest.mark.slow
def test_symbol_and_type_completion_on_a_real_dump(real_shell: pexpect.spawn) -> None:
    real_shell.send("sym sysrq_handle_cr\t")
    on_screen(real_shell, "sysrq_handle_crash")
    real_shell.sendline("")
    real_shell.expect(r"[0-9a-f]{16} \([tT]\) sysrq_handle_crash")
    real_shell.expect_exact(PROMPT)
    real_shell.send("struct task_stru\t")
    on_screen(real_shell, "task_struct")
    real_shell.sendline(" | head -1")
    real_shell.expect_exact("struct task_struct {")
    real_shell.expect_exact(PROMPT)
    assert leave(real_shell) == 0


@pytest.mark.slow
def test_rich_table_and_symbol_fallback_on_a_real_dump(real_shell: pexpect.spawn) -> None:
    real_shell.sendline("ps")
    real_shell.expect(r"\x1b\[1m.*PID")          # a bold header: the rich table
    real_shell.expect_exact("lab_crasher")
    real_shell.expect_exact(PROMPT)
    real_shell.sendline("jiffies")                # not a command: `p jiffies`
    colour = r"(?:\x1b\[[0-9;]*m)*"            # p values are highlighted on a terminal
    real_shell.expect(rf"jiffies{colour} = {colour}\$\d+{colour} = {colour}\d+")
    real_shell.expect_exact(PROMPT)
    assert leave(real_shell) == 0
