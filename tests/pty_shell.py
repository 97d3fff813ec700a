"""Helpers for driving xcrash's interactive shell in a pseudo-terminal (pexpect).

Not a test module: the pty tests import these, and conftest.py builds the ``shell``
fixture from them.
"""
from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import pexpect

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
PROMPT = "xcrash>"


def spawn(tmp_path: Path, *argv: str, rows: int = 50, fake: bool = True) -> pexpect.spawn:
    env = dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{TESTS}", TERM="xterm",
               XDG_STATE_HOME=str(tmp_path / "state"), PROMPT_TOOLKIT_NO_CPR="1")
    env.pop("NO_COLOR", None)
    if fake:
        env["XCRASH_TEST_SESSION"] = "fake_session:open_session"
    else:
        env.pop("XCRASH_TEST_SESSION", None)
    return pexpect.spawn(sys.executable, ["-m", "xcrash", "-s", *argv], env=env, cwd=str(tmp_path),
                         encoding="utf-8", timeout=20, dimensions=(rows, 120))


def on_screen(child: pexpect.spawn, text: str) -> None:
    """Wait until ``text`` is drawn, whatever escape sequences the redraw puts
    between its characters (a completion is inserted after what was typed)."""
    escapes = r"(?:\x1b\[[0-9;?]*[A-Za-z]|[\x08\r\n ])*"
    child.expect(escapes.join(re.escape(ch) for ch in text))


def wait_for_file(path: Path, needle: str) -> str:
    """The file's text once it holds ``needle`` (the shell writes it a moment later)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        text = path.read_text() if path.exists() else ""
        if needle in text:
            return text
        time.sleep(0.05)
    raise AssertionError(f"{path} never got {needle!r}: {text!r}")


def leave(child: pexpect.spawn) -> int:
    child.sendline("q")
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus
