"""Running lines: lookup, fallbacks, output to files and pipelines, errors."""
from __future__ import annotations

import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fake_session import FakeSession, make_runner
from xcrash.commands.base import ANY_TARGET, Command, Context, Result
from xcrash.commands.help import HelpCommand
from xcrash.commands.registry import Registry
from xcrash.commands.settings import default_settings
from xcrash.errors import CommandError, FileError, NoSuchSymbol
from xcrash.engine.runner import Runner, classify
from xcrash.results import Column, Records, text_lines

SEEN: list[tuple[list[str], str]] = []


@dataclass
class Proc:
    pid: int
    comm: str


def proc_lines(procs: Iterable[Proc]) -> Iterator[str]:
    yield "PID  COMM"
    for proc in procs:
        yield f"{proc.pid:3d}  {proc.comm}"


@dataclass
class Value:
    v: int


def echo(name: str, result: Result | None = None) -> type[Command]:
    class Echo(Command):
        summary = f"echo as {name}"
        targets = ("linux",)

        def run(self, ctx: Context, args: list[str]) -> Result:
            SEEN.append(([self.name, *args], ctx.line))
            return result if result is not None else text_lines(" ".join([self.name, *args]))
    Echo.name = name
    return Echo


class Fails(Command):
    name = "fails"
    targets = ANY_TARGET

    def run(self, ctx: Context, args: list[str]) -> Result:
        kind = args[0]
        if kind == "command":
            raise CommandError("fails: bad option")
        if kind == "symbol":
            raise NoSuchSymbol("nope")
        if kind == "file":
            raise FileError("/x/y", "no such file")
        if kind == "os":
            open("/nonexistent/dir/file")
        if kind == "interrupt":
            ctx.check()
            raise KeyboardInterrupt
        raise ValueError("boom")


def runner_with(*commands: type[Command], session: FakeSession | None = None):
    registry = Registry(builtin=False, plugins=False)
    classes: list[type[Command]] = [HelpCommand, *commands]
    for cmd in classes:
        registry.add(cmd)
    out, err = io.StringIO(), io.StringIO()
    runner = Runner(session or FakeSession("vmcore"), registry, default_settings({}),
                    out=out, err=err)
    return runner, out, err


@pytest.fixture(autouse=True)
def _clear() -> None:
    SEEN.clear()


def test_words_and_raw_arguments_reach_the_command() -> None:
    runner, out, _ = runner_with(echo("p"))
    assert runner.execute("p 'a'  init_task.comm")
    assert SEEN == [(["p", "a", "init_task.comm"], "'a'  init_task.comm")]
    assert out.getvalue() == "p a init_task.comm\n"


def test_unknown_word_is_one_line_on_stderr() -> None:
    runner, out, err = runner_with()
    assert not runner.execute("frobnicate now")
    assert err.getvalue() == "xcrash: frobnicate: command not found\n" and out.getvalue() == ""


def test_symbol_and_type_names_fall_back_to_p_struct_union_whatis() -> None:
    runner, _, _ = runner_with(echo("p"), echo("struct"), echo("union"), echo("whatis"))
    for line in ("jiffies", "task_struct -o", "sigval", "pid_t"):
        assert runner.execute(line)
    assert [s[0] for s in SEEN] == [["p", "jiffies"], ["struct", "task_struct", "-o"],
                                    ["union", "sigval"], ["whatis", "pid_t"]]


def test_fallback_without_the_command_says_so() -> None:
    runner, _, err = runner_with()
    assert not runner.execute("jiffies")
    assert err.getvalue() == "xcrash: jiffies: a symbol name, but there is no p command to show it\n"


def test_classify_answers_none_for_what_the_symbol_layer_refuses() -> None:
    from xcrash.targets.base import Target
    target = FakeSession("v").current
    assert classify(target, "jiffies") == "symbol"
    assert classify(target, "list_head") == "struct"
    assert classify(target, "nothing") is None
    no_symbols = Target("machine", None, None)      # type: ignore[arg-type]
    assert classify(no_symbols, "jiffies") is None
    assert classify(target, "a/b") is None


def test_classify_treats_none_as_not_found() -> None:
    class Lenient:      # a type source answering None rather than raising
        def symbol(self, name: str) -> None:
            return None

        def type(self, name: str) -> None:
            return None
    assert classify(Lenient(), "task_struct") is None


def test_aliases_expand_textually_and_chain_without_looping() -> None:
    runner, _, err = runner_with(echo("p"))
    runner.registry.define_alias("j", "px jiffies")
    runner.registry.define_alias("loop", "loop again")
    assert runner.execute("j 4")
    assert SEEN == [(["p", "-x", "jiffies", "4"], "-x jiffies 4")]
    assert not runner.execute("loop")
    assert "loop: command not found" in err.getvalue()


def test_command_not_for_this_target_kind() -> None:
    session = FakeSession("vmcore")
    session.current.kind = "xen"
    runner, _, err = runner_with(echo("p"), session=session)
    assert not runner.execute("p jiffies")
    assert err.getvalue() == "xcrash: p: not available on the xen target 'kernel'\n"


@pytest.mark.parametrize("kind, message", [
    ("command", "xcrash: fails: bad option"),
    ("symbol", "xcrash: fails: no symbol 'nope'"),
    ("file", "xcrash: /x/y: no such file"),
    ("os", "xcrash: fails: /nonexistent/dir/file: No such file or directory"),
    ("interrupt", "xcrash: fails: interrupted"),
    ("other", "xcrash: fails: internal error: ValueError: boom "
              "(run with XCRASH_DEBUG=1 for the traceback)"),
])
def test_errors_are_one_line(kind: str, message: str) -> None:
    runner, _, err = runner_with(Fails)
    assert not runner.execute(f"fails {kind}")
    assert err.getvalue() == message + "\n"


def test_debug_shows_the_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XCRASH_DEBUG", "1")
    runner, _, err = runner_with(Fails)
    runner.execute("fails other")
    assert "Traceback" in err.getvalue() and "ValueError: boom" in err.getvalue()


def test_redirection_writes_and_appends_plain_text(tmp_path: Path) -> None:
    table = Records([Proc(1, "init")], proc_lines,
                    columns=[Column("PID", "pid", "right"), Column("COMM", "comm")])
    runner, out, _ = runner_with(echo("ps", table), echo("p"))
    target = tmp_path / "out.txt"
    assert runner.execute(f"ps > {target}")
    assert runner.execute(f"p x >> '{target}'")
    assert target.read_text() == "PID  COMM\n  1  init\np x\n"
    assert out.getvalue() == ""


def test_redirection_to_an_unwritable_file_fails(tmp_path: Path) -> None:
    runner, _, err = runner_with(echo("p"))
    assert not runner.execute(f"p x > {tmp_path}/no/such/dir/f")
    assert err.getvalue() == f"xcrash: {tmp_path}/no/such/dir/f: No such file or directory\n"


def test_pipeline_gets_the_plain_text() -> None:
    runner, out, _ = runner_with(echo("p"))
    assert runner.execute("p one two | tr a-z A-Z | sed 's/ /-/g'")
    assert out.getvalue() == "P-ONE-TWO\n"


def test_json_output_follows_the_setting_even_into_a_pipe() -> None:
    runner, out, _ = runner_with(echo("p", Records([Value(1)], lambda values: ["x"])))
    runner.settings["output"] = "json"
    assert runner.execute("p | cat")
    assert json.loads(out.getvalue()) == {"command": "p | cat", "target": "kernel",
                                          "records": [{"v": 1}], "warnings": []}


def test_source_file_and_bad_lines(tmp_path: Path) -> None:
    script = tmp_path / "cmds"
    script.write_text("# comment\n\np a\np b\n")
    runner, out, err = runner_with(echo("p"))
    assert runner.execute(f"< {script}")
    assert out.getvalue() == "p a\np b\n"
    assert not runner.execute(f"< {tmp_path}/missing")
    assert not runner.execute("p 'open")
    assert err.getvalue() == (f"xcrash: {tmp_path}/missing: No such file or directory\n"
                              "xcrash: unterminated ' quote\n")


def test_shell_escape(capfd: pytest.CaptureFixture[str]) -> None:
    runner, _, _ = runner_with()
    assert runner.execute("!echo from-the-shell")
    assert "from-the-shell" in capfd.readouterr().out


def test_make_runner_loads_the_builtin_commands() -> None:
    runner, out, _ = make_runner()
    assert runner.execute("help | grep -c alias")
    assert int(out.getvalue()) >= 1


class Polls(Command):
    """Sends itself Ctrl-C once, sees the flag, then a second time."""
    name = "polls"
    targets = ANY_TARGET

    def run(self, ctx: Context, args: list[str]) -> Result:
        import os
        import signal
        os.kill(os.getpid(), signal.SIGINT)
        assert ctx.interrupted()
        if args:
            ctx.check()
        os.kill(os.getpid(), signal.SIGINT)
        return text_lines("not reached")


@pytest.mark.parametrize("args", ["", "check"])
def test_ctrl_c_sets_the_flag_then_interrupts(args: str) -> None:
    runner, out, err = runner_with(Polls)
    assert not runner.execute(f"polls {args}")
    assert err.getvalue() == "xcrash: polls: interrupted\n" and out.getvalue() == ""
    assert not runner.interrupt.is_set()
