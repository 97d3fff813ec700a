"""The command line: batch runs, exit status, one-line errors."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import fake_session
import xcrash
from xcrash import cli

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


@pytest.fixture
def vmcore(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(xcrash, "open", fake_session.open_session)
    path = tmp_path / "vmcore"
    path.write_bytes(b"")
    return str(path)


def run(*argv: str) -> int:
    return cli.main(list(argv), fast_exit=False)


def test_all_commands_succeed(vmcore: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("-s", "-c", "set radix 16", "-c", "set radix", vmcore) == 0
    out, err = capsys.readouterr()
    assert out == "output radix: 16 (hex)\noutput radix: 16 (hex)\n"
    assert err == f"xcrash: {vmcore}: a fake session for tests\n"


def test_a_failed_command_gives_1_and_the_others_still_run(
        vmcore: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("-s", "-c", "help nosuch", "-c", "hex", vmcore) == 1
    out, err = capsys.readouterr()
    assert out == "output radix: 16 (hex)\n"
    assert err.splitlines()[-1] == "xcrash: help: nosuch: no such command"
    assert "Traceback" not in err


def test_input_file_with_comments_runs_in_order_with_c(
        vmcore: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "script"
    script.write_text("# set the radix\nhex\n\nset scroll off\n")
    assert run("-s", "-c", "dec", "-i", str(script), "-c", "set color off", vmcore) == 0
    assert capsys.readouterr().out == ("output radix: 10 (decimal)\noutput radix: 16 (hex)\n"
                                       "scroll: off\ncolor: off\n")


def test_q_ends_the_batch(vmcore: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("-s", "-c", "hex", "-c", "q", "-c", "help nosuch", vmcore) == 0
    assert capsys.readouterr().out == "output radix: 16 (hex)\n"


@pytest.mark.parametrize("argv, message", [
    (["MISSING"], "MISSING: no such file"),
    (["-i", "/no/such/script", "VMCORE"], "/no/such/script: no such file"),
    (["VMCORE", "/no/vmlinux"], "/no/vmlinux: no such file"),
])
def test_files_that_cannot_be_opened_give_2(vmcore: str, capsys: pytest.CaptureFixture[str],
                                            argv: list[str], message: str) -> None:
    argv = [vmcore if a == "VMCORE" else a for a in argv]
    assert run("-s", "-c", "help", *argv) == 2
    out, err = capsys.readouterr()
    assert err == f"xcrash: {message}\n" and out == ""


def test_os_errors_and_internal_errors_while_opening(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def denied(path: str, *files: str, **kw: object) -> None:
        raise PermissionError(13, "Permission denied", path)
    monkeypatch.setattr(xcrash, "open", denied)
    assert run("-c", "help", "core") == 2
    assert capsys.readouterr().err == "xcrash: core: Permission denied\n"

    def broken(path: str, *files: str, **kw: object) -> None:
        raise KeyError("x")
    monkeypatch.setattr(xcrash, "open", broken)
    assert run("-c", "help", "core") == 2
    assert capsys.readouterr().err == ("xcrash: core: internal error: KeyError: 'x' "
                                       "(run with XCRASH_DEBUG=1 for the traceback)\n")


def test_bad_arguments_give_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("-c") == 2
    assert run() == 2
    assert run("--frobnicate", "x") == 2
    assert "usage: xcrash" in capsys.readouterr().err


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("--version") == 0
    assert capsys.readouterr().out == f"xcrash {xcrash.__version__}\n"
    assert run("-h") == 0
    assert "-c CMD" in capsys.readouterr().out


def test_json_option(vmcore: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("-s", "--json", "-c", "alias", vmcore) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["command"] == "alias" and doc["warnings"] == []
    records = doc["records"]
    assert {"origin": "builtin", "alias": "hex", "command": "set radix 16"} in records


def test_target_option_is_passed_on(monkeypatch: pytest.MonkeyPatch, vmcore: str) -> None:
    seen = {}

    def opener(path: str, *files: str, target: str | None = None) -> object:
        seen["target"] = target
        return fake_session.open_session(path, *files)
    monkeypatch.setattr(xcrash, "open", opener)
    assert run("-s", "--target", "dom0", "-c", "hex", vmcore) == 0
    assert seen == {"target": "dom0"}


def test_commands_from_standard_input(vmcore: str, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("hex\nhelp nosuch\n"))
    assert run("-s", vmcore) == 1
    assert capsys.readouterr().out == "output radix: 16 (hex)\n"


def test_banner_unless_silent(vmcore: str, capsys: pytest.CaptureFixture[str]) -> None:
    run("-c", "hex", vmcore)
    assert capsys.readouterr().out.startswith(f"xcrash {xcrash.__version__}\n")


def _xcrash(*argv: str, code: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{TESTS}",
               XCRASH_TEST_SESSION="fake_session:open_session")
    args = ["-c", code] if code else ["-m", "xcrash", *argv]
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env,
                          stdin=subprocess.DEVNULL, timeout=60)


def test_console_entry_exits_with_the_status(tmp_path: Path) -> None:
    (tmp_path / "vmcore").write_bytes(b"")
    done = _xcrash("-s", "-c", "hex", "-c", "help nosuch", str(tmp_path / "vmcore"))
    assert (done.returncode, done.stdout) == (1, "output radix: 16 (hex)\n")
    assert done.stderr.splitlines()[-1] == "xcrash: help: nosuch: no such command"
    assert _xcrash("-s", "-c", "help", str(tmp_path / "missing")).returncode == 2


def test_a_batch_run_does_not_import_prompt_toolkit(tmp_path: Path) -> None:
    (tmp_path / "vmcore").write_bytes(b"")
    code = ("import sys; from xcrash.cli import main; "
            f"status = main(['-c', 'help', '-c', 'alias', {str(tmp_path / 'vmcore')!r}], "
            "fast_exit=False); "
            "print(status, sorted({m.split('.')[0] for m in sys.modules} & "
            "{'prompt_toolkit', 'rich', 'capstone', 'pygments'}), file=sys.stderr)")
    done = _xcrash(code=code)
    assert done.stderr.splitlines()[-1] == "0 []"


def test_reader_closing_the_pipe_early_is_quiet(tmp_path: Path) -> None:
    (tmp_path / "vmcore").write_bytes(b"")
    script = tmp_path / "many"
    script.write_text("help\n" * 2000)
    env = dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{TESTS}",
               XCRASH_TEST_SESSION="fake_session:open_session")
    done = subprocess.run(f"{sys.executable} -m xcrash -s -i {script} {tmp_path}/vmcore | head -1",
                          shell=True, capture_output=True, text=True, env=env, timeout=60)
    assert done.stdout.count("\n") == 1
    assert "Traceback" not in done.stderr and "Broken pipe" not in done.stderr


def test_crash_argument_order_vmlinux_first(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    from xcrash.errors import BadDump
    opened = []

    def opener(path: str, *files: str, target: str | None = None) -> object:
        if not path.endswith("vmcore"):
            raise BadDump(path, "not a dump")
        opened.append((path, files))
        return fake_session.FakeSession(path)
    monkeypatch.setattr(xcrash, "open", opener)
    assert run("-s", "-c", "hex", "vmlinux", "vmcore") == 0
    assert opened == [("vmcore", ("vmlinux",))]
    assert run("-s", "-c", "hex", "vmlinux", "System.map") == 2
    assert capsys.readouterr().err == "xcrash: vmlinux: not a dump\n"
