"""Typed errors of every layer.

Each layer raises one of these; only the shell and batch front ends turn them
into one-line messages.  ``str(err)`` is always that one line.
"""
from __future__ import annotations


class XcrashError(Exception):
    """Base of every error xcrash raises on purpose."""


class FileError(XcrashError):
    """A file could not be used: missing, unreadable, truncated, wrong kind."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


class BadDump(FileError):
    """The dump file is not a dump xcrash can read, or its headers are damaged."""


class BadSymbolFile(FileError):
    """The symbol file is not usable (not ELF, wrong architecture, damaged)."""


class SymbolFileMismatch(XcrashError):
    """A symbol file does not belong to the dump (build-id, release, banner)."""

    def __init__(self, path: str, what: str, dump_value: str, file_value: str) -> None:
        super().__init__(
            f"{path}: {what} mismatch: the dump says {dump_value!r}, the file says {file_value!r}"
        )
        self.path = path
        self.what = what
        self.dump_value = dump_value
        self.file_value = file_value


class MemoryError_(XcrashError):
    """Base of failed reads of dump memory (named so as not to shadow builtins)."""

    def __init__(self, message: str, address: int) -> None:
        super().__init__(message)
        self.address = address


class PageNotInDump(MemoryError_):
    """The physical page is not in the dump at all (outside RAM, or data lost)."""

    def __init__(self, paddr: int, why: str = "not in dump") -> None:
        super().__init__(f"physical address {paddr:#x}: {why}", paddr)


class PageExcluded(PageNotInDump):
    """The page existed but makedumpfile excluded it (dump level filter)."""

    def __init__(self, paddr: int) -> None:
        super().__init__(paddr, "page excluded from the dump (makedumpfile dump level)")


class TranslationError(MemoryError_):
    """A virtual address could not be translated (non-present entry, bad root)."""

    def __init__(self, vaddr: int, why: str) -> None:
        super().__init__(f"virtual address {vaddr:#x}: {why}", vaddr)
        self.why = why


class NoSuchSymbol(XcrashError):
    def __init__(self, name: str) -> None:
        super().__init__(f"no symbol {name!r}")
        self.name = name


class NoSuchType(XcrashError):
    def __init__(self, name: str) -> None:
        super().__init__(f"no type {name!r}")
        self.name = name


class NoSuchMember(XcrashError):
    def __init__(self, type_name: str, member: str) -> None:
        super().__init__(f"{type_name} has no member {member!r}")
        self.type_name = type_name
        self.member = member


class CommandError(XcrashError):
    """A command was used wrongly or cannot answer; the message says why."""
