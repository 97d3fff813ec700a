"""crash's task layouts shared by several commands: the task header above a task's block (bt,
task, ps -p/-c/-g/-t/-a, ...) and the context block (set, kmem ADDRESS)."""
from __future__ import annotations

from typing import Protocol
from collections.abc import Iterator


class NamedTask(Protocol):
    pid: int
    task: int
    cpu: int
    comm: str


def task_header(t: NamedTask) -> str:
    """``PID: 68       TASK: ffff...  CPU: 1    COMMAND: "lab_crasher"``"""
    return f"PID: {t.pid:<7}  TASK: {t.task:x}  CPU: {t.cpu:<3}  COMMAND: \"{t.comm}\""


class ContextTask(NamedTask, Protocol):
    thread_info: int
    state: str
    panic: bool
    active: bool
    same_pid: int


def context_lines(t: ContextTask) -> Iterator[str]:
    """crash's context block (``set``, ``kmem ADDRESS`` of a task's stack)."""
    # crash writes "(1 of N)" for every task of a shared PID (each CPU's idle task)
    nth = f"  (1 of {t.same_pid})" if t.same_pid > 1 else ""
    yield f"    PID: {t.pid}"
    yield f"COMMAND: \"{t.comm}\""
    yield f"   TASK: {t.task:x}{nth}  [THREAD_INFO: {t.thread_info:x}]"
    yield f"    CPU: {t.cpu}"
    # crash's "%s " then the marks
    yield f"  STATE: {t.state} " + ("(PANIC)" if t.panic else "(ACTIVE)" if t.active else "")
