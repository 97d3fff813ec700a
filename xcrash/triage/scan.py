"""Which files of the paths given are dumps.

A file named on the command line is always taken (if it is no dump, its record says
so).  In a directory (a ``/var/crash`` tree: kdump-tools' ``DATE/dump.DATE``,
kexec-tools' ``HOST-DATE/vmcore``), every file whose first bytes are a dump's (an ELF
core, ``KDUMP``, a flattened ``makedumpfile`` stream) is taken, and ``.xz`` files
whose name says dump (``vmcore*``, ``dump.*``, ``*.kdump*``), without unpacking them.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

_ELF = b"\x7fELF"
_ET_CORE = 4
_SIGNATURES = (b"KDUMP   ", b"DISKDUMP", b"makedumpfile\0\0\0\0")
_XZ = b"\xfd7zXZ\x00"


def looks_like_dump(path: str) -> bool:
    """Whether a file found in a directory is worth opening as a dump."""
    try:
        with open(path, "rb") as f:
            head = f.read(24)
    except OSError:
        return False
    if head.startswith(_ELF) and len(head) >= 18:
        return int.from_bytes(head[16:18], "little") == _ET_CORE
    if head.startswith(_SIGNATURES):
        return True
    if head.startswith(_XZ):
        name = os.path.basename(path)
        return name.startswith(("vmcore", "dump.")) or ".kdump" in name or ".vmcore" in name
    return False


def dump_files(paths: Iterable[str]) -> Iterator[str]:
    """The dump files of ``paths`` (files as given, directories walked in name order),
    each once."""
    seen: set[str] = set()
    for path in paths:
        if os.path.isdir(path):
            found: list[str] = []
            for root, dirs, files in os.walk(path):
                dirs.sort()
                found += [os.path.join(root, f) for f in sorted(files)
                          if looks_like_dump(os.path.join(root, f))]
        else:
            found = [path]
        for f in found:
            key = os.path.abspath(f)
            if key not in seen:
                seen.add(key)
                yield f
