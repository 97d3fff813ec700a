"""Where a command's text goes: the terminal (through a pager when long), a
shell pipeline, or a file."""
from __future__ import annotations

import io
import os
import shutil
import subprocess
from typing import TextIO

from ..errors import FileError
from .interrupt import ignored


def to_pipeline(text: str, pipeline: str, out: TextIO) -> None:
    """Run ``pipeline`` with the system shell, fed ``text``.  Its output goes
    straight to ``out``'s file descriptor when there is one (so ``| less``
    owns the terminal), else is copied into ``out``."""
    out.flush()
    try:
        fd: int | None = out.fileno()
    except (AttributeError, io.UnsupportedOperation, ValueError):
        fd = None           # no file descriptor (a StringIO): the output is copied
    if fd is not None:
        subprocess.run(pipeline, shell=True, input=text, text=True, stdout=fd)
    else:
        done = subprocess.run(pipeline, shell=True, input=text, text=True, capture_output=True)
        out.write(done.stdout)
        if done.stderr:
            out.write(done.stderr)


def to_file(text: str, path: str, append: bool) -> None:
    """Write (or append) ``text`` to ``path``; FileError when it cannot."""
    path = os.path.expanduser(path)
    try:
        with open(path, "a" if append else "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as exc:
        raise FileError(path, exc.strerror or str(exc)) from None


def to_terminal(text: str, out: TextIO, page: bool) -> None:
    """Write ``text``; when ``page`` and it is taller than the screen, show
    it through ``less -FRX`` (quit at the end, keep colours and the screen)."""
    less = shutil.which("less") if page else None
    if less is None or text.count("\n") < shutil.get_terminal_size().lines - 1:
        out.write(text)
        out.flush()
        return
    out.flush()
    env = dict(os.environ)
    env.setdefault("LESSCHARSET", "utf-8")
    with ignored():
        subprocess.run([less, "-FRX"], input=text, text=True, env=env)


def run_shell(command: str, out: TextIO) -> None:
    """crash's ``!cmd`` (``!`` alone: an interactive shell)."""
    out.flush()
    with ignored():
        subprocess.run(command or os.environ.get("SHELL", "/bin/sh"), shell=True)
