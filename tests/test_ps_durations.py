"""ps -m's durations as crash prints them (translate_nanoseconds).

ps -l and -m need sched_info.last_arrival, which the project's sample kernels
(tinyconfig) lack; both were compared with crash 8.0.6 on the Debian distro dump
(bench/make-distro-dump.sh): all 281 lines of each identical.
"""
from __future__ import annotations

import pytest

from xcrash.layouts.times import duration as _duration


@pytest.mark.parametrize("ns,text", [
    (0, "0 00:00:00.000"),
    (71_999_999, "0 00:00:00.071"),
    (9_978_311_170, "0 00:00:09.978"),
    ((((2 * 24 + 3) * 60 + 4) * 60 + 5) * 10**9 + 6_000_000, "2 03:04:05.006"),
])
def test_duration(ns: int, text: str) -> None:
    assert _duration(ns) == text
