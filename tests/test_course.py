"""xcrash --tutorial: the course over the sample dumps and the exercises on any dump.

Every expected answer comes from the dump through the course's own questions, and is
checked here against what `sys`, `bt` and `ps` print (parsed from their text), and
against the command each question says shows it.  The course runs end to end with
scripted answers, stops when they run out, and resumes where it stopped."""
from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SAMPLES, open_sample, sample_manifest

from xcrash import course
from xcrash.course import lessons as L
from xcrash.course.play import showing_lines
from xcrash.course.questions import Question
from xcrash.targets.linux import incident as I
from xcrash.targets.xen.incident import console_reason

ROOT = Path(__file__).resolve().parents[1]


def _env(state: Path) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), XDG_STATE_HOME=str(state))
    env.pop("XCRASH_TEST_SESSION", None)
    return env


def _session(lesson: L.Lesson):
    return open_sample(lesson.dump)


@pytest.fixture(scope="module")
def lessons() -> list[L.Lesson]:
    found = L.catalog(sample_manifest(), SAMPLES)
    if not found:
        pytest.skip("no sample dump here")
    return found


@pytest.fixture(scope="module")
def asked(lessons) -> list[tuple[L.Lesson, list[Question]]]:
    out = []
    for lesson in lessons:
        session = _session(lesson)
        first = session.current.name
        try:
            out.append((lesson, L.questions_of(lesson, session)))
        finally:
            session.select(first)
    return out


def _run(session, command: str, target: str | None) -> str:
    first = session.current.name
    try:
        if target is not None:
            session.select(target)
        return session.run(command)
    finally:
        session.select(first)


# -- the lessons -----------------------------------------------------------------------
def test_the_course_goes_from_the_first_look_to_the_hypervisor(lessons) -> None:
    keys = [lesson.key for lesson in lessons]
    assert keys[0] == "linux-sysrq:first-look"
    ranks = [lesson.kind.rank for lesson in lessons]
    assert ranks == sorted(ranks)
    names = set(sample_manifest()["dumps"])
    # one lesson (at least) per sample dump that is here
    assert {lesson.dump for lesson in lessons} == {n for n in names if L._paths(
        sample_manifest()["dumps"][n], SAMPLES)}
    if "xen-own" in names:
        assert {"xen-own:xen-hypervisor", "xen-own:xen-dom0", "xen-own:xen-domu"} <= set(keys)


def test_every_lesson_asks_questions_its_dump_answers(asked) -> None:
    for lesson, questions in asked:
        assert len(questions) >= 3, lesson.key
        assert len({q.key for q in questions}) == len(questions)
        for q in questions:
            assert q.check(q.example), (lesson.key, q.key, q.example)
            assert not q.check("no-such-answer") and not q.check("")
            assert len(q.hints) == 2 and all("`" in h for h in q.hints[:1]), q.key


def test_each_answer_is_what_its_command_shows(asked) -> None:
    """The command a question names (on its target) prints the answer."""
    for lesson, questions in asked:
        session = _session(lesson)
        for q in questions:
            text = _run(session, q.command, q.target)
            assert showing_lines(q, text), (lesson.key, q.key, q.command, q.answer)


def _sys(session, target: str | None = None) -> dict[str, str]:
    text = _run(session, "sys", target)
    return {k.strip(): v.strip() for k, v in re.findall(r"^\s*([A-Z ]+): (.*)$", text, re.M)}


def _bt_header(text: str) -> tuple[int, int, str]:
    m = re.match(r'PID: (\d+)\s+TASK: [0-9a-f]+\s+CPU: (\d+)\s+COMMAND: "(.*)"', text)
    assert m, text[:200]
    return int(m.group(1)), int(m.group(2)), m.group(3)


def _check_with_sys_bt_ps(session, q: Question, target: str | None) -> None:
    """A question of the first look, checked against sys, bt and ps's own text."""
    if q.key == "reason":
        assert q.check(_sys(session, target)["PANIC"].strip('"'))
    elif q.key == "release":
        assert q.check(_sys(session, target)["RELEASE"])
    elif q.key == "tasks":
        assert q.check(_sys(session, target)["TASKS"])
    elif q.key in ("panic-task", "panic-cpu"):
        pid, cpu, comm = _bt_header(_run(session, "bt", target))
        if q.key == "panic-task":
            assert q.check(str(pid)) and q.check(comm)
            active = [line for line in _run(session, "ps", target).splitlines()
                      if line.startswith(">") and int(line.split()[1]) == pid]
            assert len(active) == 1 and active[0].split()[3] == str(cpu)
        else:
            assert q.check(str(cpu))
    elif q.key == "caller":
        frames = re.findall(r"^ ?#\d+ \[[0-9a-f]+\] (\S+) at", _run(session, "bt", target), re.M)
        assert q.check(frames[frames.index("panic") + 1])
    elif q.key == "other-cpu":
        traces = _run(session, "bt -a", target).split("\n\n")
        headers = [_bt_header(t) for t in traces]
        assert any(q.check(comm) for _pid, _cpu, comm in headers[1:])
    elif q.key in ("entry", "entry-mode", "fault-function"):
        # the first register block of bt, and the frame above it
        bt = _run(session, "bt", target)
        m = re.search(r"^ ?#\d+ \[[0-9a-f]+\] (\S+) at \S+.*\n((?:    .*\n)+)", bt, re.M)
        assert m, bt
        block = m.group(2)
        if q.key == "entry":
            assert q.check(m.group(1))
        elif q.key == "entry-mode":
            assert q.check("user" if "CS: 0033" in block else "kernel")
        else:
            rip = re.search(r"\[exception RIP: (\S+)\]", block)
            assert rip and q.check(rip.group(1))


def test_first_look_answers_agree_with_sys_bt_and_ps(asked) -> None:
    checked = set()
    for lesson, questions in asked:
        session = _session(lesson)
        for q in questions:
            _check_with_sys_bt_ps(session, q, q.target)
            checked.add(q.key)
    assert {"reason", "panic-task", "panic-cpu", "caller"} <= checked


def test_xen_answers_agree_with_vcpus_and_the_guests_ps(asked) -> None:
    xen = [(lesson, qs) for lesson, qs in asked if lesson.kind.scope == "xen"]
    if not xen:
        pytest.skip("no Xen sample dump here")
    for lesson, questions in xen:
        session = _session(lesson)
        by_key = {q.key: q for q in questions}
        marked = [line.split() for line in _run(session, "vcpus", "xen").splitlines()
                  if line.startswith(">*")]
        assert len(marked) == 1
        vcid, domid = marked[0][1], marked[0][6]
        if "xen-domain" in by_key:
            assert by_key["xen-domain"].check(domid)
        if "guest-task" in by_key:
            rows = [line.split() for line in _run(session, "ps -A", f"dom{domid}").splitlines()
                    if line.startswith(">") and line.split()[3] == vcid]
            assert len(rows) == 1 and by_key["guest-task"].check(rows[0][-1])


# -- exercises from any dump ----------------------------------------------------------
@pytest.mark.parametrize("name", ["linux-nmi", "linux-sysrq"])
def test_exercises_from_any_dump_ask_five_questions_sys_bt_ps_agree_with(name: str) -> None:
    entry = sample_manifest()["dumps"].get(name)
    if entry is None or not (SAMPLES / entry["files"][0]["path"]).exists():
        pytest.skip(f"no {name} here")
    session = open_sample(name)
    questions = L.any_dump_questions(session)
    keys = [q.key for q in questions]
    assert len(questions) >= 5, keys
    assert {"reason", "panic-task", "panic-cpu", "caller", "release", "tasks"} <= set(keys)
    for q in questions:
        _check_with_sys_bt_ps(session, q, None)
        assert showing_lines(q, _run(session, q.command, q.target)), q.key


def test_exercises_on_a_xen_host_ask_about_the_hypervisor_and_each_guest() -> None:
    if "xen-own" not in sample_manifest()["dumps"]:
        pytest.skip("no Xen sample")
    questions = L.any_dump_questions(open_sample("xen-own"))
    keys = {q.key for q in questions}
    assert {"xen-reason", "xen-cpu", "xen-domain", "guest-task"} <= keys
    assert {"dom1-programs", "dom2-programs"} <= keys
    assert len(questions) >= 5


def test_the_command_line_runs_exercises_on_a_dump(tmp_path: Path) -> None:
    entry = sample_manifest()["dumps"]["linux-nmi"]
    vmcore = SAMPLES / entry["files"][0]["path"]
    questions = L.any_dump_questions(open_sample("linux-nmi"))
    answers = tmp_path / "answers"
    answers.write_text("\n".join(["hint"] + [q.example for q in questions]) + "\n")
    record = tmp_path / "record.jsonl"
    done = subprocess.run([sys.executable, "-m", "xcrash", "--tutorial", str(vmcore),
                           str(SAMPLES / entry["kernel"]["vmlinux"]), "--answers", str(answers),
                           "--record", str(record)], capture_output=True, text=True,
                          env=_env(tmp_path), timeout=600)
    assert done.returncode == 0, done.stderr + done.stdout
    assert f"Score: {len(questions)}/{len(questions)}" in done.stdout
    events = [json.loads(line) for line in record.read_text().splitlines()]
    assert events[0]["event"] == "exercises" and events[-1]["event"] == "end"
    assert events[-1]["right"] == len(questions)


# -- the whole course, scripted -------------------------------------------------------
def test_the_course_runs_end_to_end_stops_and_resumes(tmp_path: Path, asked) -> None:
    """Run 1: a wrong answer, a command, `hint`, the answer; three wrong answers (the
    answer shown); then the right answers until the script stops in lesson 2.
    Run 2 resumes there and finishes; --list shows every lesson done."""
    questions = [q for _lesson, qs in asked for q in qs]
    first, second = asked[0][1][0], asked[0][1][1]
    lines = ["no-such-answer", f":{first.command}", "hint", first.example,
             "wrong", "wrong", "wrong"]
    lines += [q.example for q in questions[2:6]]
    (tmp_path / "run1").write_text("\n".join(lines) + "\n")
    record = tmp_path / "record.jsonl"
    run = [sys.executable, "-m", "xcrash", "--tutorial", "--progress",
           str(tmp_path / "progress.json")]
    done = subprocess.run(run + ["--answers", str(tmp_path / "run1"), "--record", str(record)],
                          capture_output=True, text=True, env=_env(tmp_path), timeout=600)
    out = done.stdout
    assert done.returncode == course.OUT_OF_ANSWERS, done.stderr + out
    assert out.count("Hint: ") == 4 and out.count("Right: ") == 5
    assert f"The answer: {second.answer}." in out
    assert "your progress is kept" in out
    events = [json.loads(line) for line in record.read_text().splitlines()]
    kinds = [e["event"] for e in events]
    assert {"lesson", "question", "typed", "command", "answer"} <= set(kinds)
    assert [e["text"] for e in events if e["event"] == "typed"][:3] == lines[:3]
    assert [e["command"] for e in events if e["event"] == "command"] == [first.command]
    assert [e["right"] for e in events if e["event"] == "answer"][:2] == [True, False]

    (tmp_path / "run2").write_text("\n".join(q.example for q in questions[6:]) + "\n")
    done = subprocess.run(run + ["--answers", str(tmp_path / "run2")], capture_output=True,
                          text=True, env=_env(tmp_path), timeout=900)
    out = done.stdout
    assert done.returncode == 0, done.stderr + out
    assert "Resuming at lesson" in out and "Course done." in out
    assert f"Score: {len(questions) - 1}/{len(questions)} over {len(asked)} lessons" in out
    listing = subprocess.run(run + ["--list"], capture_output=True, text=True,
                             env=_env(tmp_path), timeout=300).stdout
    assert listing.count("\n* ") + listing.startswith("* ") == len(asked)
    assert f"{len(asked[0][1]) - 1}/{len(asked[0][1])}" in listing


def test_no_dumps_and_no_answers(tmp_path: Path) -> None:
    out = io.StringIO()
    assert course.main(["--tutorial", "--progress", str(tmp_path / "p.json")], out=out,
                       samples=tmp_path / "nowhere") == course.NO_DUMPS
    assert "nothing to practise on" in out.getvalue()


def test_dumps_still_packed_are_pointed_at(tmp_path: Path) -> None:
    samples = tmp_path / "sample-dumps"
    samples.mkdir()
    (samples / "MANIFEST.json").write_text(json.dumps({"symbols": {}, "dumps": {
        "debian-6.12-bug": {"death": "bug", "open_with": "xcrash sample-dumps/d/vmcore x",
                            "files": [{"path": "d/vmcore", "bundle": "debian-6.12.tar.xz"}]}}}))
    assert L.still_packed(json.loads((samples / "MANIFEST.json").read_text()), samples) == [
        "debian-6.12-bug"]
    out = io.StringIO()
    course.main(["--tutorial", "--list", "--progress", str(tmp_path / "p.json")], out=out,
                samples=samples)
    assert "1 more sample dumps" in out.getvalue() and "sample-dumps/unpack.py" in out.getvalue()


# -- a new sample dump becomes a lesson -----------------------------------------------
def test_a_manifest_entry_with_a_death_becomes_a_lesson(tmp_path: Path) -> None:
    samples = tmp_path / "sample-dumps"
    for rel in ("debian-6.12-bug/vmcore.kdump", "debian-6.12-odd/vmcore.kdump",
                "symbols/vmlinux-6.12.stripped.xz"):
        (samples / rel).parent.mkdir(parents=True, exist_ok=True)
        (samples / rel).write_bytes(b"")
    manifest = {"symbols": {}, "dumps": {
        "debian-6.12-bug": {"death": "bug", "kernel": {"release": "6.12.117+deb13-cloud-amd64"},
                            "open_with": "xcrash sample-dumps/debian-6.12-bug/vmcore.kdump "
                                         "sample-dumps/symbols/vmlinux-6.12.stripped.xz"},
        "debian-6.12-odd": {"death": "meteorite", "kernel": {"release": "6.12"},
                            "open_with": "xcrash sample-dumps/debian-6.12-odd/vmcore.kdump "
                                         "sample-dumps/symbols/vmlinux-6.12.stripped.xz"},
        "debian-7.2-gone": {"death": "oops", "open_with": "xcrash sample-dumps/x/vmcore"}}}
    found = L.catalog(manifest, samples)
    assert [lesson.key for lesson in found] == ["debian-6.12-bug:bug", "debian-6.12-odd:general"]
    assert found[0].title == "BUG(): a check that failed (Linux 6.12.117+deb13-cloud-amd64)"
    assert found[0].paths == [str(samples / "debian-6.12-bug/vmcore.kdump"),
                              str(samples / "symbols/vmlinux-6.12.stripped.xz")]


# -- the facts the questions are built from, from the log's reports -----------------------
REPORTS = {
    "oops": ["BUG: kernel NULL pointer dereference, address: 0000000000000008",
             "#PF: supervisor write access in kernel mode",
             "Oops: 0002 [#1] PREEMPT SMP NOPTI",
             "RIP: 0010:xcrash_lab_oops+0x15/0x30 [xcrash_lab]",
             "Kernel panic - not syncing: Fatal exception"],
    "bug": ["------------[ cut here ]------------",
            "kernel BUG at /build/xcrash_lab/xcrash_lab.c:42!",
            "Oops: invalid opcode: 0000 [#1] PREEMPT SMP NOPTI",
            "Kernel panic - not syncing: Fatal exception"],
    "warn": ["------------[ cut here ]------------",
             "WARNING: CPU: 1 PID: 482 at /build/xcrash_lab/xcrash_lab.c:57 "
             "xcrash_lab_warn+0x11/0x20 [xcrash_lab]",
             "Kernel panic - not syncing: kernel: panic_on_warn set ..."],
    "softlockup": ["watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [xc-spin:482]",
                   "Kernel panic - not syncing: softlockup: hung tasks"],
    "hung": ["INFO: task xc-hung:310 blocked for more than 30 seconds.",
             "Kernel panic - not syncing: hung_task: blocked tasks"],
    "oom": ["xc-hog invoked oom-killer: gfp_mask=0x140dca(GFP_HIGHUSER_MOVABLE|__GFP_COMP|"
            "__GFP_ZERO), order=0, oom_score_adj=0",
            "Kernel panic - not syncing: Out of memory: system-wide panic_on_oom is enabled"],
    "overflow": ["BUG: TASK stack guard page was hit at ffffb7a1c0a87ff8 (stack is "
                 "ffffb7a1c0a88000..ffffb7a1c0a8c000)",
                 "Oops: stack guard page: 0000 [#1] PREEMPT SMP NOPTI",
                 "Kernel panic - not syncing: Fatal exception in interrupt"],
    "nmi": ["Uhhuh. NMI received for unknown reason 30 on CPU 1.",
            "Kernel panic - not syncing: NMI: Not continuing"],
    "sysrq": ["sysrq: Trigger a crash", "Kernel panic - not syncing: sysrq triggered crash"],
}


@pytest.mark.parametrize("kind", sorted(REPORTS))
def test_the_way_of_dying_is_read_from_the_report(kind: str) -> None:
    lines = ["Linux version 6.12.117", "random: crng init done"] + REPORTS[kind]
    message = next(line for line in lines if "Kernel panic" in line)
    assert I.death_kind(lines, message) == kind
    found = I.Incident(kind, message, None, None)
    I._from_log(found, lines)
    assert found.report is not None and found.report in lines
    if kind == "oops":
        assert found.fault_address == 8 and found.report.startswith("BUG: kernel NULL")
    if kind in ("bug", "warn"):
        assert found.source == ("/build/xcrash_lab/xcrash_lab.c", 42 if kind == "bug" else 57)
    if kind == "softlockup":
        assert found.lockup_cpu == 1 and found.lockup_task == ("xc-spin", 482)
    if kind == "hung":
        assert found.hung_task == ("xc-hung", 310)
    if kind == "overflow":
        assert found.fault_address == 0xffffb7a1c0a87ff8


def test_xens_reason_is_read_from_its_console() -> None:
    assert console_reason("(XEN) foo\n(XEN) 'C' pressed -> triggering crashdump\n(XEN) x\n") == \
        "'C' pressed -> triggering crashdump"
    assert console_reason("(XEN) ****\n(XEN) Panic on CPU 1:\n(XEN) Xen BUG at sched.c:12\n"
                          "(XEN) ****\n") == "Xen BUG at sched.c:12"
    assert console_reason("nothing here") == ""
