"""Facts found in a dump by a long look, kept on disk for its next opening.

A dump never changes, but some of what is read from it takes a scan to find: where a
Xen guest keeps its VMCOREINFO page (every frame of the guest looked at).  Such a fact
is stored under ``$XDG_CACHE_HOME/xcrash/dumps/<key>.<part>.marshal``, the key naming
one version of the dump file (real path, size, mtime: ``cache.source_key``), and is
checked where it is used (the page must still begin as the scan required).  The cache
is an optimisation only: every failure to read or write it is silent.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..cache import cache_dir, read_stamped, source_key, write_stamped

FORMAT = 1          # bump when the layout of any part changes


def _path(dump_path: str, part: str) -> Path | None:
    try:
        return cache_dir("dumps") / f"{source_key(dump_path)}.{part}.marshal"
    except OSError:
        return None         # no such file (a dump made in memory) or no cache directory


def load(dump_path: str, part: str) -> Any | None:
    """The fact stored for this dump, or None."""
    path = _path(dump_path, part)
    return read_stamped(path, FORMAT) if path is not None else None


def store(dump_path: str, part: str, value: Any) -> None:
    path = _path(dump_path, part)
    if path is not None:
        write_stamped(path, FORMAT, value)
