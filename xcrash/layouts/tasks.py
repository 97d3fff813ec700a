"""The task header crash prints above a task's block (bt, task, ps -p/-c/-g/-t/-a, ...)."""
from __future__ import annotations

from typing import Protocol


class NamedTask(Protocol):
    pid: int
    task: int
    cpu: int
    comm: str


def task_header(t: NamedTask) -> str:
    """``PID: 68       TASK: ffff...  CPU: 1    COMMAND: "lab_crasher"``"""
    return f"PID: {t.pid:<7}  TASK: {t.task:x}  CPU: {t.cpu:<3}  COMMAND: \"{t.comm}\""
