"""The progress bar appears only for work that takes more than its delay."""
from __future__ import annotations

import io
import lzma

from xcrash import cache, progress


def test_bar_only_after_the_delay_and_ends_its_line() -> None:
    out = io.StringIO()
    bar = progress.TerminalBar(out, delay=0.0, width=10)
    bar("unpacking x.xz", 0.5)
    bar("unpacking x.xz", 1.0)
    assert out.getvalue() == ("\rxcrash: unpacking x.xz [#####.....]  50%"
                              "\rxcrash: unpacking x.xz [##########] 100%\n")
    quiet = io.StringIO()
    slow_to_show = progress.TerminalBar(quiet, delay=60.0)
    slow_to_show("task", 0.5)
    slow_to_show("task", 1.0)
    assert quiet.getvalue() == ""


def test_unxz_reports_progress(tmp_path) -> None:
    src = tmp_path / "data.xz"
    src.write_bytes(lzma.compress(bytes(range(256)) * 20000, format=lzma.FORMAT_XZ) * 2)
    seen: list[tuple[str, float]] = []
    previous = progress.set_reporter(lambda task, f: seen.append((task, f)))
    try:
        with open(tmp_path / "out", "wb") as out:
            cache.unxz(str(src), out)
    finally:
        progress.set_reporter(previous)
    assert (tmp_path / "out").read_bytes() == bytes(range(256)) * 40000   # both streams
    assert seen[-1] == ("unpacking data.xz", 1.0)
