"""pygments colours for dis and struct/p values: on a terminal with colour
only; the text without its escapes is exactly the plain text."""
from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

from fake_session import make_runner
from xcrash import render
from xcrash.results import text_lines
from xcrash.commands.settings import default_settings
from xcrash.highlight import highlight, kind_of

ESC = re.compile(r"\x1b\[[0-9;]*m")
ROOT = Path(__file__).resolve().parents[1]

DIS = """\
sysrq.c: 155
0xffffffffae734510 <sysrq_handle_crash>:\tmov    $0xffffffffaef46a19,%rdi
0xffffffffae734517 <sysrq_handle_crash+7>:\tcall   0xffffffffae86ec01 <panic>
0xffffffffae86ec13 <panic+18>:\tmov    %rcx,0x38(%rsp)
"""
VALUE = """\
$1 = {
  load = {
    weight = 1048576,
    inv_weight = -4194304
  },
  comm = "lab_crasher\\000\\000\\000\\000",
  group_node = {
    next = 0xffffffffaf2146a8 <init_task+168>,
  },
}
struct list_head {
    struct list_head *next;
    unsigned long flags;
}
SIZE: 16"""


@pytest.mark.parametrize("text,kind", [(DIS, "asm"), (VALUE, "value")])
def test_highlighting_adds_escapes_only(text: str, kind: str) -> None:
    coloured = highlight(text, kind)
    assert coloured != text and "\x1b[" in coloured
    assert ESC.sub("", coloured) == text


def test_which_commands_are_highlighted() -> None:
    assert kind_of("dis") == "asm"
    assert kind_of("struct") == kind_of("p") == "value"
    assert kind_of("ps") is None and kind_of(None) is None


def test_render_colours_only_rich_with_colour() -> None:
    result = text_lines(DIS.rstrip("\n"))
    assert "\x1b[" in render.render(result, "rich", color=True, highlight="asm")
    assert render.render(result, "rich", color=False, highlight="asm") == DIS
    assert render.render(result, "plain", highlight="asm") == DIS
    assert render.render(result, "rich", color=True) == DIS


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _terminal_output(color: bool) -> str:
    runner, _, _ = make_runner(color=color, scroll=False)
    runner.interactive = True
    runner._out = _Tty()
    runner._emit(text_lines(VALUE), _line("p init_task"), [])
    return runner._out.getvalue()


def _line(text: str):
    from xcrash.engine.line import parse
    return parse(text)


def test_set_color_and_no_color_turn_highlighting_off() -> None:
    assert "\x1b[" in _terminal_output(color=True)
    assert _terminal_output(color=False) == VALUE + "\n"
    assert default_settings({"NO_COLOR": "1"})["color"] is False


def test_plain_output_does_not_import_pygments() -> None:
    code = ("import sys; from xcrash import render; from xcrash.results import text_lines;"
            f"render.render(text_lines({DIS!r}), 'plain', highlight='asm');"
            "render.render(text_lines('x'), 'rich', color=False, highlight='asm');"
            "print('pygments' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, check=True)
    assert done.stdout.strip() == "False"


@pytest.mark.slow
def test_dis_is_coloured_on_a_terminal_and_plain_in_a_pipe(tmp_path: Path) -> None:
    from conftest import LINUX_DIR, need
    from pty_shell import PROMPT, leave, spawn
    dump = (str(need(LINUX_DIR / "vmcore-d31.kdump")), str(need(LINUX_DIR / "vmlinux.xz")))
    child = spawn(tmp_path, *dump, rows=60, fake=False)
    child.expect_exact(PROMPT, timeout=120)
    child.sendline("dis sysrq_handle_crash")
    child.expect(r"\x1b\[[0-9;]*m0x[0-9a-f]{16}\x1b\[[0-9;]*m <sysrq_handle_crash>:")
    child.expect_exact(PROMPT)
    child.sendline("dis sysrq_handle_crash > dis.txt")
    child.expect_exact(PROMPT)
    child.sendline("set color off")
    child.expect_exact(PROMPT)
    child.sendline("dis sysrq_handle_crash")
    child.expect(r"0x[0-9a-f]{16} <sysrq_handle_crash>:\s+mov ")
    child.expect_exact(PROMPT)
    assert leave(child) == 0
    text = (tmp_path / "dis.txt").read_text()
    assert "\x1b" not in text and "<sysrq_handle_crash+7>:\tcall" in text
