"""crash-style option parsing in Command.parse."""
from __future__ import annotations

import pytest

from xcrash.commands.base import Command, Option
from xcrash.errors import CommandError


class Rd(Command):
    name = "rd"
    options = (
        Option("-64", "w64", "64-bit values"),
        Option("-x", "hex", "hex"),
        Option("-d", "dec", "decimal"),
        Option("-c", "cpu", "cpu", takes_value=True),
        Option("-e", "end", "end address", takes_value=True, repeat=True),
    )


def parse(*args: str) -> tuple[dict, list[str]]:
    return Rd().parse(list(args))


def test_defaults() -> None:
    assert parse() == ({"w64": False, "hex": False, "dec": False, "cpu": None, "end": []}, [])


def test_multi_character_flag_and_options_after_arguments() -> None:
    opts, rest = parse("jiffies", "-64", "4")
    assert opts["w64"] and rest == ["jiffies", "4"]


def test_values_attached_or_separate_and_repeated() -> None:
    assert parse("-c1")[0]["cpu"] == "1"
    assert parse("-c", "1")[0]["cpu"] == "1"
    assert parse("-e", "a", "-eb")[0]["end"] == ["a", "b"]


def test_bundled_single_letter_flags() -> None:
    opts, _ = parse("-xd")
    assert opts["hex"] and opts["dec"]


def test_negative_numbers_and_lone_dash_are_arguments() -> None:
    assert parse("-1", "-0x10", "-")[1] == ["-1", "-0x10", "-"]


def test_double_dash_ends_options() -> None:
    opts, rest = parse("--", "-x", "-64")
    assert not opts["hex"] and rest == ["-x", "-64"]


@pytest.mark.parametrize("args, message", [
    (["-q"], "invalid option"),
    (["-xq"], "invalid option"),
    (["-c"], "needs a value"),
])
def test_errors_name_the_command(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=f"rd: .*{message}"):
        Rd().parse(args)
