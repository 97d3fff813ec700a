"""Open a dump: recognise its format by magic, unwrap xz and flattened files.

``.xz`` and flattened files are turned once into a plain dump in the cache
(xcrash/cache.py) and that copy is opened; the copy is reused while the
original's path, size and mtime stay the same.
"""
from __future__ import annotations

import functools
import os
from typing import BinaryIO
from collections.abc import Callable

from .. import cache
from ..errors import BadDump, FileError
from . import flattened
from .base import Dump
from .elf import ElfDump
from .kdump import LEGACY_SIGNATURE, SIGNATURE, KdumpDump
from .mapped import read_head
from .split import SplitDump

XZ_MAGIC = b"\xfd7zXZ\x00"


#: the dump file of a crash directory: kdump-tools (Debian, Ubuntu) writes
#: dump.TIMESTAMP beside dmesg.TIMESTAMP; kexec-tools (RHEL, Fedora) vmcore beside
#: vmcore-dmesg.txt; makedumpfile -F, vmcore.flat
_DUMP_NAMES = ("vmcore", "vmcore.flat", "vmcore.kdump", "vmcore.elf")


def dump_in_directory(directory: str) -> str:
    """The dump file a crash directory holds (BadDump naming the directory when it
    holds none, or several)."""
    try:
        names = sorted(os.listdir(directory))
    except OSError as e:
        raise BadDump(directory, e.strerror or str(e)) from None
    found = [n for n in names if n in _DUMP_NAMES or n.startswith("dump.")
             or n.startswith("vmcore") and n.endswith((".xz", ".kdump", ".elf"))]
    files = [n for n in found if os.path.isfile(os.path.join(directory, n))]
    if len(files) != 1:
        what = f"several dump files ({', '.join(files)})" if files else \
            "no dump file (kdump-tools' dump.TIMESTAMP, kexec-tools' vmcore)"
        raise BadDump(directory, f"a directory with {what}: name the file")
    return os.path.join(directory, files[0])


def open_dump(path: str, *more_split_parts: str) -> Dump:
    """Open a vmcore (ELF or kdump-compressed, maybe xz-compressed or flattened).

    Several paths are the files of one split dump.  Any problem with a file
    raises BadDump naming it.
    """
    if os.path.isdir(path):
        path = dump_in_directory(path)
    dumps: list[Dump] = []
    try:
        for p in (path, *more_split_parts):
            dumps.append(_open_one(p))
        if len(dumps) == 1:
            dump = dumps[0]
            if isinstance(dump, KdumpDump) and dump.is_split:
                raise BadDump(path, f"one part of a split dump (PFNs {dump.start_pfn:#x}-"
                                    f"{dump.end_pfn - 1:#x} of {dump.max_pfn:#x}); "
                                    "open it together with all its parts")
            return dump
        for d in dumps:
            if not isinstance(d, KdumpDump):
                raise BadDump(d.path, f"a {d.format_name} dump cannot be part of a split dump")
        return SplitDump(dumps)  # type: ignore[arg-type]
    except BaseException:
        for d in dumps:
            d.close()
        raise


def is_kdump_file(path: str) -> bool:
    """Whether ``path`` is a kdump-compressed file (a split part after the first
    dump file on a command line, rather than a symbol file)."""
    try:
        return read_head(path, path).startswith((SIGNATURE, LEGACY_SIGNATURE))
    except BadDump:
        return False        # the answer asked for: not a kdump file


def _open_one(path: str) -> Dump:
    current, wrappers = path, []
    while True:
        head = read_head(current, path)
        if head.startswith(XZ_MAGIC) and "xz" not in wrappers:
            src = current
            current = _derive(src, path, "unxz", functools.partial(_unxz, src, path))
            wrappers.append("xz")
        elif flattened.is_flattened(head) and "flattened" not in wrappers:
            src = current
            current = _derive(src, path, "rearranged",
                               functools.partial(_rearrange, src, path))
            wrappers.append("flattened")
        else:
            break
    if head.startswith(b"\x7fELF"):
        dump: Dump = ElfDump(current, path)
    elif head.startswith((SIGNATURE, LEGACY_SIGNATURE)):
        dump = KdumpDump(current, path)
    else:
        inside = " (inside its " + " and ".join(wrappers) + " wrapping)" if wrappers else ""
        raise BadDump(path, f"not a dump file: unknown format{inside}")
    dump.header.wrappers = tuple(wrappers)
    return dump


def _derive(src: str, shown: str, kind: str, produce: Callable[[BinaryIO], None]) -> str:
    try:
        return str(cache.derived_file(src, kind, produce))
    except OSError as e:
        raise BadDump(shown, f"cannot write the unpacked copy to the cache: {e}") from None


def _rearrange(src: str, shown: str, out: BinaryIO) -> None:
    flattened.rearrange(src, out, shown)


def _unxz(src: str, shown: str, out: BinaryIO) -> None:
    """Stream-decompress ``src`` to ``out``; a bad xz file is a BadDump."""
    try:
        cache.unxz(src, out, shown)
    except FileError as e:
        raise BadDump(shown, e.problem) from None
