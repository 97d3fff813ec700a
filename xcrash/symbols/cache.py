"""On-disk cache of what is derived from a symbol file (symtab, BTF, DWARF index).

One file per part, ``$XDG_CACHE_HOME/xcrash/symbols/<key>.<part>.marshal``,
where the key is the build-id (else a digest of path, size and mtime).  What is
derived from a kernel's own memory (no file: ``memfile.py``) has parts of its own
names, stamped by the build-id alone.  Each
file records the build-id, size and mtime of the ELF file it was made from and
is ignored unless all three match, so a rebuilt kernel with a reused name (or
a different copy of the same build) is reparsed transparently.  Files are
written under a temporary name and renamed into place.  The cache is an
optimisation only: every failure to read or write it is silent.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar
from collections.abc import Callable

from ..cache import cache_dir, read_stamped, source_key, write_stamped
from .elffile import ElfImage

FORMAT = 4          # bump when the layout of any part changes
MEMORY_FORMAT = 2   # bump when what is made from a kernel's memory changes (memfile.py)
#: how many parts made from kernels' memory one process keeps in hand
SHARED_PARTS = 8
T = TypeVar("T")


class SymbolCache:
    """The parts derived from one ELF file; with ``elf`` None, from a kernel's own memory
    (kallsyms, BTF read from a dump), keyed and stamped by its build-id alone.

    The parts of a kernel's memory are also kept in hand, one copy per process: the PV
    guests of a Xen host mostly run one build, and each would otherwise hold its own
    copy of the same symbol table and BTF (tens of MiB a guest).  What is kept is read,
    never changed, by the symbol tables and types made from it."""

    _shared: dict[tuple[str, str], Any] = {}

    def __init__(self, elf: ElfImage | None, build_id: str | None) -> None:
        if elf is None:
            if not build_id:
                raise ValueError("a cache of a kernel's memory needs its build-id")
            self._stamp: tuple[int, str | None, int | str, int] = (FORMAT, build_id, "memory",
                                                                   MEMORY_FORMAT)
            self._key = build_id
        else:
            self._stamp = (FORMAT, build_id, elf.size, elf.mtime_ns)
            self._key = build_id or source_key(elf.path)
        self._dir: Path | None = None

    def _path(self, part: str) -> Path | None:
        if self._dir is None:
            try:
                self._dir = cache_dir("symbols")
            except OSError:
                return None         # no writable cache directory: every part is built anew
        return self._dir / f"{self._key}.{part}.marshal"

    def load(self, part: str) -> Any | None:
        if self._stamp[2] == "memory":
            shared = SymbolCache._shared.get(self._shared_key(part))
            if shared is not None:
                return shared
        value = self._load(part)
        if value is not None:
            self._share(part, value)
        return value

    def _share(self, part: str, value: Any) -> None:
        if self._stamp[2] != "memory":
            return
        shared = SymbolCache._shared
        while len(shared) >= SHARED_PARTS:
            del shared[next(iter(shared))]      # the oldest
        shared[self._shared_key(part)] = value

    def _shared_key(self, part: str) -> tuple[str, str]:
        """The part's file (another cache directory: another copy), or its name."""
        return (str(self._path(part) or self._key), part)

    def _load(self, part: str) -> Any | None:
        path = self._path(part)
        return read_stamped(path, self._stamp) if path is not None else None

    def store(self, part: str, value: Any) -> None:
        self._share(part, value)
        path = self._path(part)
        if path is not None:
            write_stamped(path, self._stamp, value)

    def get(self, part: str, build: Callable[[], T]) -> T:
        """The cached part, or ``build()`` stored for next time."""
        value = self.load(part)
        if value is None:
            value = build()
            self.store(part, value)
        return value
