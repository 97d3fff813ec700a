"""Start-up files: ``~/.xcrashrc`` then ``./.xcrashrc``, as crash reads ``.crashrc``.

Each line is a command (typically ``alias`` and ``set``).  A file that is not
owned by the user, or that others may write, is skipped with a warning: it
could make the session run commands nobody chose.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path
from collections.abc import Callable

NAME = ".xcrashrc"


def candidates(home: Path | None = None, cwd: Path | None = None) -> list[Path]:
    home = home if home is not None else Path.home()
    cwd = cwd if cwd is not None else Path.cwd()
    paths = [home / NAME]
    if cwd.resolve() != home.resolve():
        paths.append(cwd / NAME)
    return paths


def trusted(path: Path) -> str | None:
    """None when the file may be read, else why not."""
    try:
        st = path.stat()
    except OSError as exc:
        return exc.strerror
    if st.st_uid != os.getuid():
        return "not owned by you"
    if st.st_mode & (stat.S_IWOTH | stat.S_IWGRP):
        return "writable by others"
    return None


def run_rcfiles(source: Callable[[str], bool], warn: Callable[[str], None],
                paths: list[Path] | None = None) -> None:
    """Run each start-up file that exists and is trusted."""
    for path in paths if paths is not None else candidates():
        if not path.is_file():
            continue
        why = trusted(path)
        if why is not None:
            warn(f"{path}: ignored ({why})")
            continue
        source(str(path))
