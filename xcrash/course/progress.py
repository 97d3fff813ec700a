"""A trainee's progress through the course, kept between runs (a JSON file).

``$XDG_STATE_HOME/xcrash/course.json`` (``~/.local/state/xcrash/course.json``), or the
file ``--progress`` names: for each lesson, each question answered and how (right,
after how many hints, or shown).  ``--tutorial`` resumes at the first question not yet
answered; ``--tutorial --list`` shows each lesson's score.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def default_path() -> Path:
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local",
                                                            "state")
    return Path(state) / "xcrash" / "course.json"


class Progress:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_path()
        self.data: dict[str, Any] = {"lessons": {}}
        try:
            loaded = json.loads(self.path.read_text())
        except (OSError, ValueError):
            loaded = None           # none yet, or unreadable: start afresh
        if isinstance(loaded, dict) and isinstance(loaded.get("lessons"), dict):
            self.data = loaded

    def lesson(self, key: str) -> dict[str, Any]:
        return self.data["lessons"].setdefault(key, {"answers": {}, "questions": 0})

    def answered(self, key: str, question: str) -> bool:
        return question in self.data["lessons"].get(key, {}).get("answers", {})

    def record(self, key: str, question: str, right: bool, hints: int) -> None:
        self.lesson(key)["answers"][question] = {"right": right, "hints": hints}
        self.save()

    def started(self, key: str, questions: int) -> None:
        self.lesson(key)["questions"] = questions
        self.save()

    def score(self, key: str) -> tuple[int, int, int]:
        """(right, answered, questions) of a lesson."""
        entry = self.data["lessons"].get(key, {})
        answers = entry.get("answers", {})
        return (sum(1 for a in answers.values() if a.get("right")), len(answers),
                int(entry.get("questions", 0)))

    def done(self, key: str) -> bool:
        right, answered, total = self.score(key)
        return total > 0 and answered >= total

    def reset(self) -> None:
        self.data = {"lessons": {}}
        self.save()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=1) + "\n")
        tmp.replace(self.path)
