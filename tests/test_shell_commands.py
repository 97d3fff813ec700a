"""The session commands: help, set (hex, dec), alias, q."""
from __future__ import annotations

import io

import pytest

from fake_session import FakeSession, make_runner
from xcrash.commands.base import Quit
from xcrash.commands.help import page
from xcrash.commands.settings import default_settings


def test_help_lists_commands_by_group_with_summaries() -> None:
    runner, out, err = make_runner()
    assert runner.execute("help")
    text = out.getvalue()
    assert "session:\n" in text
    assert "  help" in text and "list the commands, or show a command's help page" in text
    assert err.getvalue() == ""


def test_help_page_has_synopsis_options_and_aliases() -> None:
    runner, out, _ = make_runner()
    assert runner.execute("help set q")
    text = out.getvalue()
    for part in ("NAME\n  set - ", "SYNOPSIS\n", "OPTIONS\n  -v      show every setting",
                 "NAME\n  q - leave xcrash", "ALIASES\n  quit, exit"):
        assert part in text
    assert runner.execute("man hex")
    assert 'hex: alias for "set radix 16"' in out.getvalue()


def test_help_page_layout_of_a_value_option() -> None:
    from xcrash.commands.base import Command, Option

    class Rd(Command):
        name, summary, synopsis = "rd", "read memory", "rd [-c cpu] address"
        options = (Option("-c", "cpu", "on this CPU", takes_value=True), Option("-64", "w", "64"))
        description = "Reads memory.\n\n  a table line\n  kept as is"
    text = page(Rd())
    assert "OPTIONS\n  -c CPU  on this CPU\n  -64     64\n" in text
    assert "DESCRIPTION\n  Reads memory.\n\n    a table line\n    kept as is\n" in text


def test_synopsis_help_and_parsing_come_from_one_declaration() -> None:
    from xcrash.commands.base import Command, Option
    from xcrash.errors import CommandError

    class Ls(Command):
        name, summary, arguments = "ls", "list", "[task] ..."
        options = (Option("-k", "kernel", "kernel threads"), Option("-u", "user", "user tasks"),
                   Option("-y", "policy", "these policies", takes_value=True, metavar="policy"),
                   Option("-H", "no_header", "no header line, and a help text long enough to "
                          "be wrapped under its option rather than run past the page"))
        exclusive = (("kernel", "user"),)
    assert Ls.usage() == "ls [-k|-u] [-y policy] [-H] [task] ..."
    text = page(Ls())
    assert "SYNOPSIS\n  ls [-k|-u] [-y policy] [-H] [task] ...\n" in text
    assert "  -y policy  these policies\n" in text
    assert "  -H         no header line, and a help text long enough to be wrapped under\n" \
           "             its option rather than run past the page\n" in text
    assert "  (one at most of: -k -u)\n" in text
    assert Ls().parse(["-k", "-y", "FIFO", "1"]) == (
        {"kernel": True, "user": False, "policy": "FIFO", "no_header": False}, ["1"])
    with pytest.raises(CommandError, match="ls: -k and -u cannot be used together"):
        Ls().parse(["-ku"])


def test_help_unknown_command_fails_in_one_line() -> None:
    runner, _, err = make_runner()
    assert not runner.execute("help nosuch")
    assert err.getvalue() == "xcrash: help: nosuch: no such command\n"


def test_set_radix_and_the_hex_dec_aliases() -> None:
    runner, out, _ = make_runner()
    assert runner.execute("hex")
    assert runner.settings["radix"] == 16 and out.getvalue() == "output radix: 16 (hex)\n"
    assert runner.execute("dec") and runner.settings["radix"] == 10
    assert runner.execute("set radix 16") and runner.settings["radix"] == 16
    assert not runner.execute("set radix 8")
    assert runner.settings["radix"] == 16


def test_set_switches_and_show() -> None:
    session = FakeSession("vmcore")
    runner, out, err = make_runner(session)
    for line in ("set color off", "set output json", "set scroll off", "set zero_excluded on"):
        assert runner.execute(line), err.getvalue()
    assert runner.settings["color"] is False and runner.settings["scroll"] is False
    assert runner.settings["output"] == "json" and session.dump.zero_excluded is True
    out.truncate(0), out.seek(0)
    runner.settings["output"] = "text"
    assert runner.execute("set")
    assert out.getvalue().splitlines() == [
        "         radix: 10 (decimal)", "         color: off", "        output: text",
        "        scroll: off", " zero_excluded: on", "       explain: off"]
    assert not runner.execute("set color maybe")
    assert not runner.execute("set color on off")


def test_set_selects_the_task_context_of_a_linux_target(sysrq) -> None:
    """Arguments that are no setting (a PID, -c CPU, -p) select the context task of a
    Linux target; `set` alone shows it, `set -v` the settings."""
    from xcrash.engine.runner import Runner
    out, err = io.StringIO(), io.StringIO()
    runner = Runner(sysrq, out=out, err=err)
    try:
        assert runner.execute("set 1") and out.getvalue().splitlines()[0] == "    PID: 1"
        assert runner.execute("set -c 1") and runner.execute("set")
        blocks = out.getvalue().split("    PID: ")
        assert blocks[2] == blocks[3] and "(ACTIVE)" in blocks[2]
        assert runner.execute("set -v") and "radix:" in out.getvalue()
        assert not runner.execute("set 99999") and "invalid task or pid value" in err.getvalue()
    finally:
        runner.execute("set -p")


def test_set_without_a_target_context_says_so() -> None:
    runner, _, err = make_runner()
    assert not runner.execute("set 68")
    assert err.getvalue().startswith("xcrash: set: 68: not a setting")


def test_alias_lists_defines_and_runs() -> None:
    runner, out, err = make_runner()
    assert runner.execute("alias")
    assert out.getvalue().startswith("ORIGIN   ALIAS    COMMAND\nbuiltin  man      help\n")
    out.truncate(0), out.seek(0)
    assert runner.execute("alias settings set -v")
    assert out.getvalue() == "ORIGIN   ALIAS     COMMAND\nruntime  settings  set -v\n"
    out.truncate(0), out.seek(0)
    assert runner.execute("settings")
    assert "zero_excluded" in out.getvalue()
    assert not runner.execute("alias set help")
    assert not runner.execute("alias nosuch")
    assert err.getvalue() == ("xcrash: alias: set: is a command name\n"
                              "xcrash: alias: nosuch: no such alias\n")


def test_quit_and_its_aliases_raise_quit() -> None:
    runner, _, _ = make_runner()
    for word in ("q", "quit", "exit"):
        with pytest.raises(Quit):
            runner.execute(word)


def test_no_color_environment_turns_colour_off() -> None:
    assert default_settings({"NO_COLOR": "1"})["color"] is False
    assert default_settings({"NO_COLOR": ""})["color"] is True
    assert default_settings({})["radix"] == 10
