"""``xcrash --tutorial``: a course over every way to die the samples show, and exercises on
any dump.

    xcrash --tutorial                      the course, from where you stopped
    xcrash --tutorial --list               its lessons, with your scores
    xcrash --tutorial --lesson KEY         start (again) at a lesson
    xcrash --tutorial VMCORE [SYMBOLS...]  exercises built from that dump's own facts
    --answers FILE   answers from a file (scripted runs; a pipe works too)
    --record FILE    what the trainee typed, the commands run, the scores (JSON lines)
    --progress FILE  where progress is kept (default $XDG_STATE_HOME/xcrash/course.json)
    --reset          forget the progress

The lessons (``lessons.py``) go from the first look (sys, log, bt) to the hard cases,
one per way to die a sample dump of ``sample-dumps/MANIFEST.json`` shows; each says
what to look at and why, then asks questions whose answers are read from the dump
(``questions.py``).  Exit status: 0 at the end, 1 when the answers ran out (or the
trainee quit: progress is kept), 2 when no dump could be opened.
"""
from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from ..errors import XcrashError
from .lessons import SAMPLES, Lesson, any_dump_questions, catalog, questions_of, still_packed
from .play import OUT, QUIT, RIGHT, Answers, Recorder, Trainee, ask
from .progress import Progress
from .questions import Question

OK, OUT_OF_ANSWERS, NO_DUMPS = 0, 1, 2

INTRO = ("xcrash tutorial.  At answer>: your answer, `hint`, `skip`, `quit` (your progress\n"
         "is kept), or `:COMMAND` to run an xcrash command on the dump (`:sys`, `:bt`).\n")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="xcrash --tutorial",
                                description="A course on the sample dumps, or exercises on "
                                            "any dump.")
    p.add_argument("--tutorial", action="store_true")
    p.add_argument("--answers", metavar="FILE", help="read the answers from FILE ('-': stdin)")
    p.add_argument("--record", metavar="FILE", help="write what happened as JSON lines")
    p.add_argument("--progress", metavar="FILE", help="keep the progress in FILE")
    p.add_argument("--list", action="store_true", help="the lessons and your scores")
    p.add_argument("--lesson", metavar="KEY", help="start at this lesson (`--list` names them)")
    p.add_argument("--reset", action="store_true", help="forget the progress")
    p.add_argument("dump", nargs="*", metavar="VMCORE [SYMBOL-FILE ...]",
                   help="exercises on this dump instead of the course")
    return p


class Course:
    """The lessons of a manifest, their sessions (each dump opened once) and progress."""

    def __init__(self, lessons: list[Lesson], progress: Progress,
                 opener: Callable[..., Any]) -> None:
        self.lessons = lessons
        self.progress = progress
        self.opener = opener
        self.sessions: dict[str, Any] = {}

    def session(self, lesson: Lesson) -> Any:
        if lesson.dump not in self.sessions:
            self.sessions[lesson.dump] = self.opener(*lesson.paths)
        return self.sessions[lesson.dump]

    def questions(self, lesson: Lesson) -> list[Question]:
        return questions_of(lesson, self.session(lesson))


def list_lessons(lessons: list[Lesson], progress: Progress, out: TextIO) -> None:
    out.write(f"{'':2}{'LESSON':34} {'SCORE':>7}  TITLE\n")
    for lesson in lessons:
        right, answered, total = progress.score(lesson.key)
        mark = "*" if progress.done(lesson.key) else ">" if answered else " "
        score = f"{right}/{total}" if total else "-"
        out.write(f"{mark} {lesson.key:34} {score:>7}  {lesson.title}\n")
    out.write("(* done, > started; `xcrash --tutorial --lesson KEY` starts at one)\n")


def run_lesson(course: Course, lesson: Lesson, number: int, trainee: Trainee,
               redo: bool = False) -> str:
    """OK, OUT or QUIT."""
    out, progress = trainee.out, course.progress
    out.write(f"\n=== Lesson {number}/{len(course.lessons)}: {lesson.title}  "
              f"[{lesson.key}] ===\n")
    try:
        questions = course.questions(lesson)
    except (XcrashError, OSError) as exc:
        out.write(f"note: {lesson.dump} cannot be used ({exc}): lesson skipped\n")
        return "ok"
    if not questions:
        out.write("note: this dump answers none of the lesson's questions: skipped\n")
        return "ok"
    for label, text in (("What to look at", lesson.kind.look), ("Why", lesson.kind.why)):
        out.write("\n".join(textwrap.wrap(f"{label}: {text}", 96)) + "\n")
    progress.started(lesson.key, len(questions))
    trainee.recorder.event("lesson", lesson=lesson.key, title=lesson.title,
                           dump=lesson.dump, questions=len(questions))
    for n, question in enumerate(questions, 1):
        if not redo and progress.answered(lesson.key, question.key):
            continue
        result, hints = ask(question, n, course.session(lesson), trainee, lesson.key)
        if result in (OUT, QUIT):
            return result
        progress.record(lesson.key, question.key, result == RIGHT, hints)
    right, _answered, total = progress.score(lesson.key)
    out.write(f"Lesson score: {right}/{total}\n")
    trainee.recorder.event("score", lesson=lesson.key, right=right, questions=total)
    return "ok"


def run_course(course: Course, trainee: Trainee, start: str | None = None) -> int:
    out = trainee.out
    lessons = course.lessons
    if start is not None:
        keys = [lesson.key for lesson in lessons]
        if start not in keys:
            out.write(f"no lesson {start!r} (`xcrash --tutorial --list` names them)\n")
            return NO_DUMPS
        first = keys.index(start)
    else:
        first = next((i for i, lesson in enumerate(lessons)
                      if not course.progress.done(lesson.key)), len(lessons))
        if first == len(lessons):
            out.write("Every lesson is done (`--list` shows your scores, `--reset` starts "
                      "again, `--lesson KEY` redoes one).\n")
            return OK
        if first:
            out.write(f"Resuming at lesson {first + 1}: {lessons[first].title}\n")
    for i in range(first, len(lessons)):
        result = run_lesson(course, lessons[i], i + 1, trainee, redo=start == lessons[i].key)
        if result in (OUT, QUIT):
            out.write("\n" + ("No more answers" if result == OUT else "Stopped")
                      + ": your progress is kept; `xcrash --tutorial` resumes.\n")
            trainee.recorder.event("end", steps=trainee.steps, finished=False)
            return OUT_OF_ANSWERS
    right = sum(course.progress.score(lesson.key)[0] for lesson in lessons)
    total = sum(course.progress.score(lesson.key)[2] for lesson in lessons)
    out.write(f"\nCourse done.  Score: {right}/{total} over {len(lessons)} lessons.\n")
    trainee.recorder.event("end", steps=trainee.steps, finished=True, right=right,
                           questions=total)
    return OK


def run_exercises(session: Any, trainee: Trainee, label: str) -> int:
    """Questions from any dump's own facts."""
    out = trainee.out
    questions = any_dump_questions(session)
    out.write(f"Exercises on {label}: {len(questions)} questions from the dump's own facts.\n")
    trainee.recorder.event("exercises", dump=label, questions=len(questions))
    right = 0
    for n, question in enumerate(questions, 1):
        result, _hints = ask(question, n, session, trainee, "exercises")
        if result in (OUT, QUIT):
            out.write(f"\nStopped.  Score: {right}/{n - 1}\n")
            trainee.recorder.event("end", steps=trainee.steps, finished=False, right=right)
            return OUT_OF_ANSWERS
        right += result == RIGHT
    out.write(f"\nDone.  Score: {right}/{len(questions)}\n")
    trainee.recorder.event("end", steps=trainee.steps, finished=True, right=right,
                           questions=len(questions))
    return OK


def load_manifest(samples: Path = SAMPLES) -> dict[str, Any]:
    try:
        found: dict[str, Any] = json.loads((samples / "MANIFEST.json").read_text())
        return found
    except (OSError, ValueError):
        return {}       # no manifest here: no lessons (main says there is nothing to practise on)


def main(argv: list[str], *, out: TextIO | None = None,
         opener: Callable[..., Any] | None = None, samples: Path = SAMPLES) -> int:
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:
        return OK if exc.code in (0, None) else NO_DUMPS
    out = out or sys.stdout
    if opener is None:
        import xcrash
        opener = xcrash.open
    progress = Progress(Path(args.progress) if args.progress else None)
    if args.reset:
        progress.reset()
        out.write(f"progress forgotten ({progress.path})\n")
        if not (args.list or args.lesson or args.answers):
            return OK
    manifest = load_manifest(samples)
    lessons = catalog(manifest, samples) if not args.dump else []
    packed = still_packed(manifest, samples) if not args.dump else []
    unpack_hint = (f"({len(packed)} more sample dumps, the stock Debian kernels', ship packed: "
                   f"`python3 sample-dumps/unpack.py` unpacks them and their lessons)\n"
                   if packed else "")
    if args.list:
        list_lessons(lessons, progress, out)
        out.write(unpack_hint)
        return OK
    try:
        source = _source(args.answers)
        record = open(args.record, "w", encoding="utf-8") if args.record else None
    except OSError as exc:
        print(f"xcrash: {exc.filename}: {exc.strerror}", file=sys.stderr)
        return NO_DUMPS
    trainee = Trainee(Answers(source, out), out, Recorder(record))
    try:
        if args.dump:
            try:
                session = opener(*args.dump)
            except (XcrashError, OSError) as exc:
                said = str(exc) if args.dump[0] in str(exc) else f"{args.dump[0]}: {exc}"
                print(f"xcrash: {said}", file=sys.stderr)
                return NO_DUMPS
            out.write(INTRO)
            return run_exercises(session, trainee, " ".join(args.dump))
        out.write(INTRO)
        out.write(unpack_hint)
        if not lessons:
            out.write("No sample dump here (sample-dumps/MANIFEST.json and its files): "
                      "nothing to practise on.  `xcrash --tutorial VMCORE VMLINUX` makes "
                      "exercises from any dump.\n")
            return NO_DUMPS
        return run_course(Course(lessons, progress, opener), trainee, args.lesson)
    finally:
        if record is not None:
            record.close()


def _source(answers: str | None) -> TextIO | None:
    if answers and answers != "-":
        return open(answers, encoding="utf-8")
    if answers == "-" or not sys.stdin.isatty():
        return sys.stdin
    return None
