"""--explain's programs: on every sample dump of the manifest and every command family, the
program printed after ``-- as a program --`` runs in the environment's Python and prints
what the command printed (its WARNING lines aside: outside a command a caveat is a
Python warning, on stderr).

Each dump's programs run in one subprocess that opens each dump once (``xcrash.open``
memoized: the programs' text is run as printed); one program per dump also runs alone
with ``python -c``, nothing memoized."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SAMPLES, open_sample, sample_manifest

from xcrash.engine.explain import PROGRAM_LINE

ROOT = Path(__file__).resolve().parents[1]

#: the command families --explain teaches, per target kind ("vtop jiffies": a kernel
#: virtual address, through the guest's page tables in machine frames on a Xen guest)
FAMILIES = {
    "linux": ["ps", "ps -k", "bt", "bt -a", "bt 1", "log", "log -m", "kmem -i", "files",
              "vm", "vm 1", "mount", "net", "runq", "vtop jiffies"],
    "xen": ["doms", "vcpus", "bt", "bt -a", "log", "target"],
}

#: runs the programs of a JSON list, each in fresh globals, xcrash.open memoized
HARNESS = """
import contextlib, io, json, sys, traceback
import xcrash
opened, real_open = {}, xcrash.open
def memo(*args, **kwargs):
    key = (args, tuple(sorted(kwargs.items())))
    if key not in opened:
        opened[key] = real_open(*args, **kwargs)
    return opened[key]
xcrash.open = memo
out = []
for program in json.load(sys.stdin):
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf):
            exec(compile(program, "<program>", "exec"), {"__name__": "__main__"})
    except Exception:
        buf.write("RAISED " + traceback.format_exc())
    out.append(buf.getvalue())
json.dump(out, sys.stdout)
"""


def _dumps() -> list[str]:
    try:
        return sorted(sample_manifest()["dumps"])
    except pytest.skip.Exception:
        return []


def explained(session, line: str) -> tuple[str, str | None]:
    """(the command's output without its WARNING lines, the program or None)."""
    import io

    from xcrash.engine.runner import Runner
    out, err = io.StringIO(), io.StringIO()
    assert Runner(session, out=out, err=err).execute(line + " --explain"), err.getvalue()
    text = out.getvalue()
    answer = text.split("-- how xcrash found this --\n")[0]
    answer = "".join(x for x in answer.splitlines(True) if not x.startswith("WARNING: "))
    program = text.split(PROGRAM_LINE + "\n", 1)[1] if PROGRAM_LINE in text else None
    return answer, program


def _env() -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("XCRASH_TEST_SESSION", None)
    return env


@pytest.mark.parametrize("name", _dumps())
def test_every_program_prints_what_its_command_printed(name: str) -> None:
    entry = sample_manifest()["dumps"][name]
    if not (SAMPLES / entry["files"][0]["path"]).exists():
        pytest.skip(f"{entry['files'][0]['path']} is not here")
    session = open_sample(name)
    first = session.current.name
    cases = []
    try:
        for tname, target in session.targets.items():
            for line in FAMILIES.get(target.kind, ()):
                session.select(tname)
                answer, program = explained(session, line)
                assert program is not None, f"{name}/{tname}: {line}: no program"
                assert program.startswith("import xcrash\n")
                assert f"session.select({tname!r})" in program
                cases.append((f"{tname}: {line}", answer, program))
    finally:
        session.select(first)
    assert {c[0].split(": ")[1] for c in cases} >= set(FAMILIES["linux"])
    done = subprocess.run([sys.executable, "-c", HARNESS], input=json.dumps([c[2] for c in cases]),
                          capture_output=True, text=True, env=_env(), timeout=900)
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    wrong = [f"{case}:\n{got[:2000]}" for (case, answer, _p), got in zip(cases, printed)
             if got != answer]
    assert not wrong, "\n\n".join(wrong)


def test_a_program_runs_as_printed(tmp_path: Path) -> None:
    """No memo, no harness: `python -c PROGRAM` as a reader would run it."""
    session = open_sample("linux-sysrq")
    answer, program = explained(session, "bt")
    assert program is not None and "kernel.backtrace(" in program
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          env=_env(), cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout == answer and answer.startswith("PID: ")


def test_forms_without_a_program_say_which_has_one() -> None:
    session = open_sample("linux-sysrq")
    for line in ("ps -t", "bt -f", "log -T"):
        text = __import__("conftest").run(session, line + " --explain")
        assert "-- what the kernel keeps --" in text and PROGRAM_LINE not in text
        assert "none yet" in text


def test_the_explanation_names_this_kernels_structures() -> None:
    session = open_sample("linux-sysrq")
    text = __import__("conftest").run(session, "ps --explain")
    keeps = text.split("-- what the kernel keeps --\n")[1].split(PROGRAM_LINE)[0]
    # 6.1: threads on signal->thread_head, __state, SPLIT_RSS_COUNTING's per-thread deltas
    assert "signal->thread_head" in keeps and "__state" in keeps
    assert "SPLIT_RSS_COUNTING" in keeps and "init_task.tasks" in keeps
    bt = __import__("conftest").run(session, "bt --explain")
    assert "NT_PRSTATUS" in bt and "machine_kexec" in bt
    assert "ORC: CFA = " in bt and "no ORC entry" in bt     # __crash_kexec has none (6.1)
