"""Running recorded crash sessions again in xcrash: a reference file holds crash's
output of each command (``crash> CMD`` then its lines), recorded in one session in
that order; xcrash runs the same commands in one runner, in the same order (the value
history and the context carry over as in crash), and each command's output is
compared with crash's.

crash prints its errors among the output (``struct: invalid ...``); xcrash's go to
stderr as ``xcrash: struct: invalid ...``: an error is compared as crash prints it.
"""
from __future__ import annotations

import io
from collections.abc import Collection
from pathlib import Path

from conftest import recorded_blocks

REFS = Path(__file__).resolve().parent / "crash-ref"


def replay(session, ref: Path) -> list[tuple[str, str, str]]:
    """(command, crash's output, xcrash's output) of every block of ``ref``, run in
    order through one runner on ``session``."""
    from xcrash.engine.runner import Runner
    out, err = io.StringIO(), io.StringIO()
    runner = Runner(session, out=out, err=err)
    results = []
    for command, want in recorded_blocks(ref):
        o, e = out.tell(), err.tell()
        runner.execute(command)
        got = out.getvalue()[o:]
        errors = err.getvalue()[e:]
        got += "".join(line.removeprefix("xcrash: ") + "\n" for line in errors.splitlines())
        results.append((command, want, got.strip("\n")))
    return results


def assert_equal_but_known(results: list[tuple[str, str, str]], known: Collection[str]) -> None:
    """Every replayed command printed what crash printed, but those ``known`` to differ."""
    differ = [(c, w, g) for c, w, g in results if w != g and c not in known]
    assert not differ, "\n\n".join(f"crash> {c}\n--- crash\n{w[:800]}\n--- xcrash\n{g[:800]}"
                                   for c, w, g in differ[:3])


def assert_known_still_differ(results: list[tuple[str, str, str]], known: Collection[str]) -> None:
    """A command listed as differing was replayed and still differs (else it is identical
    now, and the list must lose it)."""
    commands = {c for c, _w, _g in results}
    assert set(known) <= commands
    assert not [c for c, w, g in results if c in known and w == g]
