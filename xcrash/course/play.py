"""Asking the questions: the prompt, the hints, the commands a trainee runs, the record.

At ``answer>``: an answer, ``hint``, ``skip``, ``quit`` (progress is kept), or
``:COMMAND`` to run an xcrash command on the question's dump and target.  A wrong
answer brings the next hint (the first teaches the command, the second where to look);
after them the answer is shown with the lines of the command's output that show it.
"""
from __future__ import annotations

import json
import textwrap
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

from .questions import Question, norm

RIGHT, SHOWN, OUT, QUIT = "right", "shown", "out", "quit"


class Answers:
    """Lines from a file, a pipe or the terminal (None at the end)."""

    def __init__(self, source: TextIO | None, out: TextIO) -> None:
        self.source = source
        self.out = out

    def read(self, prompt: str) -> str | None:
        if self.source is None:
            try:
                return input(prompt)
            except EOFError:
                return None     # the end of the trainee's input: no more answers
        line = self.source.readline()
        if not line:
            return None
        self.out.write(f"{prompt}{line.rstrip()}\n")
        return line.rstrip("\n")


class Recorder:
    """``--record FILE``: one JSON object per line, for instructors: what the trainee
    typed, the commands run, each answer's outcome and the scores."""

    def __init__(self, stream: TextIO | None) -> None:
        self.stream = stream
        self.start = time.monotonic()

    def event(self, kind: str, **fields: Any) -> None:
        if self.stream is None:
            return
        line = {"event": kind, "t": round(time.monotonic() - self.start, 3), **fields}
        self.stream.write(json.dumps(line) + "\n")
        self.stream.flush()


@dataclass
class Trainee:
    answers: Answers
    out: TextIO
    recorder: Recorder
    #: every step taken: each line typed (answers, hints, commands)
    steps: int = 0
    commands: list[str] = field(default_factory=list)


def run_command(session: Any, target: str | None, command: str) -> str:
    """An xcrash command's text on the question's target, or its one-line error."""
    from ..errors import XcrashError
    try:
        if target is not None:
            session.select(target)
        return str(session.run(command))
    except XcrashError as exc:
        return f"xcrash: {exc}\n"
    except Exception as exc:        # the last-resort handler of this face
        return f"xcrash: {command}: internal error: {type(exc).__name__}: {exc}\n"


def showing_lines(question: Question, text: str) -> list[str]:
    """The lines of the command's output that show the answer (at most three)."""
    forms = [norm(a) for a in (question.evidence or question.accepted) if norm(a)]
    found = []
    for line in text.splitlines():
        low = line.lower()
        if any(f and _mentions(low, f) for f in forms):
            found.append(line)
        if len(found) == 3:
            break
    return found


def _mentions(line: str, form: str) -> bool:
    if form.isdigit():
        return f" {form} " in f" {line.replace(':', ' ').replace(',', ' ')} "
    return form in line


def ask(question: Question, number: int, session: Any, trainee: Trainee,
        lesson: str = "") -> tuple[str, int]:
    """(RIGHT, SHOWN, OUT or QUIT, hints given)."""
    out, rec = trainee.out, trainee.recorder
    where = f"  [on target {question.target}]" if question.target else ""
    prompt = "\n".join(textwrap.wrap(question.prompt, 96))
    out.write(f"\n-- Question {number}{where}\n{prompt}\n")
    rec.event("question", lesson=lesson, question=question.key, prompt=question.prompt)
    hints = 0
    while True:
        text = trainee.answers.read("answer> ")
        if text is None:
            return OUT, hints
        text = text.strip()
        if not text:
            continue
        trainee.steps += 1
        rec.event("typed", lesson=lesson, question=question.key, text=text)
        if text.startswith(":"):
            command = text[1:].strip()
            if command:
                trainee.commands.append(command)
                rec.event("command", lesson=lesson, question=question.key, command=command,
                          target=question.target)
                out.write(run_command(session, question.target, command))
            continue
        if text.lower() in ("quit", "exit"):
            return QUIT, hints
        if text.lower() == "skip":
            break
        if text.lower() != "hint" and question.check(text):
            out.write(f"Right: {question.answer}.  `{question.command}`{_on(question)} "
                      "shows it.\n")
            rec.event("answer", lesson=lesson, question=question.key, right=True, hints=hints)
            return RIGHT, hints
        if text.lower() != "hint":
            out.write("Not quite.\n")
        if hints < len(question.hints):
            out.write("\n".join(textwrap.wrap(f"Hint: {question.hints[hints]}", 96)) + "\n")
            hints += 1
            continue
        break
    out.write(f"The answer: {question.answer}.  `{question.command}`{_on(question)} shows it:\n")
    for line in showing_lines(question, run_command(session, question.target, question.command)):
        out.write(f"    {line}\n")
    rec.event("answer", lesson=lesson, question=question.key, right=False, hints=hints)
    return SHOWN, hints


def _on(question: Question) -> str:
    return f" on target {question.target}" if question.target else ""
