"""xcrash --tutorial, end to end with scripted answers, on the sample dumps
(the manifest's, else the shared development dumps).  Expected answers come
from the dump through the tutorial's own exercises, never from copies here."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from xcrash import tutorial
from xcrash.tutorial import Answers, DumpSet, Exercise, find_dumps

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def dumps() -> DumpSet:
    found = find_dumps()
    if not found.linux:
        pytest.skip("no sample dump and no shared dumps here")
    return found


@pytest.fixture(scope="module")
def exercises(dumps: DumpSet) -> list[Exercise]:
    return list(tutorial.exercises_for(dumps))


def test_expected_answers_come_from_the_dump(dumps: DumpSet, exercises: list[Exercise]) -> None:
    import xcrash
    session = xcrash.open(*dumps.linux)
    sys_text = session.run("sys")
    bt_text = session.run("bt")
    task, reason, function = exercises[:3]
    assert f"PID: {task.example} " in bt_text.splitlines()[0]
    assert task.check(task.example) and not task.check("99999")
    assert reason.example and reason.example in sys_text and reason.check(reason.example.upper())
    assert not reason.check("kernel panic")
    assert f"] {function.example} at " in bt_text and function.check(f"dis {function.example}")
    assert function.example.split(".")[0] not in tutorial.PANIC_FRAMES
    for ex in exercises:
        assert ex.check(ex.example) and not ex.check("no-such-answer")
        assert 1 <= len(ex.hints) <= 2


def test_tutorial_runs_end_to_end_with_scripted_answers(tmp_path: Path,
                                                        exercises: list[Exercise]) -> None:
    # exercise 1: a wrong answer (a hint), a command, `hint`, then the right one;
    # exercise 2: three wrong answers (two hints, then the answer is shown); the rest right
    lines = ["99999", ":sys", "hint", exercises[0].example,
             "wrong", "wrong", "wrong"] + [ex.example for ex in exercises[2:]]
    answers = tmp_path / "answers.txt"
    answers.write_text("\n".join(lines) + "\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("XCRASH_TEST_SESSION", None)
    done = subprocess.run([sys.executable, "-m", "xcrash", "--tutorial", "--answers", str(answers)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    out = done.stdout
    assert done.returncode == 0, done.stderr + out
    assert out.count("Hint: ") == 4
    assert "PANIC: " in out                      # :sys ran on the dump
    assert f"The answer: {exercises[1].answer}." in out
    assert out.count("Correct: ") == len(exercises) - 1
    assert f"Score: {len(exercises) - 1}/{len(exercises)}" in out
    if not any(ex.target for ex in exercises):
        assert "exercises are skipped" in out


def test_answers_from_stdin_and_running_out(exercises: list[Exercise]) -> None:
    out = io.StringIO()
    ex = exercises[0]
    one = DumpSet(linux=["linux"], source="test")
    status = tutorial.tutorial(one, Answers(io.StringIO(ex.example + "\n"), out), out,
                               opener=lambda *paths: ex.session)
    assert status == tutorial.OUT_OF_ANSWERS
    assert "Correct: " in out.getvalue() and "No more answers" in out.getvalue()
    assert "no Xen sample dump here" in out.getvalue()


def test_no_dumps_at_all() -> None:
    out = io.StringIO()
    assert tutorial.tutorial(DumpSet(source="nowhere"), Answers(io.StringIO(""), out),
                             out) == tutorial.NO_DUMPS


def test_the_manifest_is_preferred(tmp_path: Path) -> None:
    samples = tmp_path / "sample-dumps"
    for rel in ("linux-sysrq/vmcore.kdump", "symbols/vmlinux-6.1-xcrash.xz",
                "xen-own/vmcore.kdump.xz", "symbols/xen-syms-4.17.5-xcrash.xz"):
        (samples / rel).parent.mkdir(parents=True, exist_ok=True)
        (samples / rel).write_bytes(b"")
    (samples / "MANIFEST.json").write_text(json.dumps({
        "symbols": {"vmlinux-6.1-xcrash.xz": {}, "xen-syms-4.17.5-xcrash.xz": {}},
        "dumps": {
            "linux-sysrq": {"open_with": "xcrash sample-dumps/linux-sysrq/vmcore.kdump "
                                         "sample-dumps/symbols/vmlinux-6.1-xcrash.xz"},
            "xen-own": {"open_with": "xcrash sample-dumps/xen-own/vmcore.kdump.xz "
                                     "sample-dumps/symbols/xen-syms-4.17.5-xcrash.xz"}}}))
    found = find_dumps(samples, tmp_path / "none")
    assert found.linux == [str(samples / "linux-sysrq/vmcore.kdump"),
                           str(samples / "symbols/vmlinux-6.1-xcrash.xz")]
    assert found.xen == [str(samples / "xen-own/vmcore.kdump.xz"),
                         str(samples / "symbols/xen-syms-4.17.5-xcrash.xz"),
                         str(samples / "symbols/vmlinux-6.1-xcrash.xz")]
    assert find_dumps(tmp_path / "no-samples", tmp_path / "none").linux is None


def test_production_exercise_follows_the_crashing_cpu_into_the_guest(dumps: DumpSet) -> None:
    """Debian's binary hypervisor (xen-syms without DWARF): the crashing pCPU's vCPU is
    dom0's, and the task on it is the `xl debug-keys C` the manifest says triggered it."""
    if not dumps.production:
        pytest.skip("no symbols-only Xen sample dump here")
    [ex] = tutorial.production_exercises(__import__("xcrash").open(*dumps.production))
    manifest = json.loads((ROOT / "sample-dumps" / "MANIFEST.json").read_text())
    trigger = manifest["dumps"]["xen-debian"]["trigger"]
    assert ex.target == "dom0" and ex.answer == "xl" and "xl" in trigger
    assert ex.check("XL") and not ex.check("xenstored")
