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
