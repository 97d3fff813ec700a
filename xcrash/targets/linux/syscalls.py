"""The system call table (``sys -c``): each entry's number, the function it calls and,
where crash can say it, the source file that defines it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...errors import CommandError, MemoryError_, NoSuchSymbol, NoSuchType

if TYPE_CHECKING:
    from .kernel import LinuxTarget


@dataclass
class SyscallEntry:
    """One sys_call_table entry: its number, the function's name (None: the entry
    points at no symbol) and its address; ``source`` is crash's ``..path: line``
    relative to the build directory ("" where crash finds none)."""
    number: int
    name: str | None
    address: int
    source: str = ""


def _table_length(target: LinuxTarget) -> int:
    """How many entries: the array's length in the debug info, else up to the next
    symbol (crash's get_NR_syscalls)."""
    sym = target.symbols.lookup("sys_call_table")
    try:
        t = target.variable_type("sys_call_table").strip_typedefs()
        if t.kind.name == "ARRAY" and t.length:
            return int(t.length)
    except (NoSuchSymbol, NoSuchType):
        pass                    # no debug info for the table: counted from the symbols
    following = target.symbols.next_address(sym.address)
    return (following - sym.address) // 8 if following else 256


def _build_directory(target: LinuxTarget) -> str | None:
    """crash's build directory: the path of schedule()'s first line up to its
    ``/kernel/`` (or ``/./arch/``); None when that path has neither."""
    from ..symbolinfo import full_source_line
    sym = target.symbols.get("schedule") or target.symbols.get("do_schedule")
    line = full_source_line(target, sym.address) if sym is not None else None
    if line is None:
        return None
    for marker in ("/kernel/", "/./arch/"):
        if marker in line[0]:
            return line[0][:line[0].index(marker)]
    return None


def _source(target: LinuxTarget, address: int, build: str) -> str:
    """crash's rule: the line of the first address of the function that is under the
    build directory and not in an include/ header, as ``..rest: line``."""
    from ..symbolinfo import full_source_line
    end = target.symbols.next_address(address) or address + 1
    for addr in range(address, min(end, address + 4096)):
        found = full_source_line(target, addr)
        if found is None:
            continue
        text = f"{found[0]}: {found[1]}"
        if ".h: " in text and "include/" in text or build not in text:
            continue
        return ".." + text[text.index(build) + len(build):]
    return ""


def syscall_table(target: LinuxTarget) -> list[SyscallEntry]:
    """Every entry of sys_call_table.  Of the names at a function's address
    (``__do_sys_getpid``, ``__x64_sys_getpid``) crash's symbol search gives the first
    by name (its hash chains remember where the last search ended, and an entry met
    again after a search that ended beyond it may get the last name instead: on the
    linux-sysrq sample, __x64_sys_ni_syscall from entry 156 on); xcrash names the
    first."""
    sym = target.symbols.get("sys_call_table")
    if sym is None:
        raise CommandError("sys: sys_call_table does not exist in this kernel")
    count = _table_length(target)
    try:
        raw = target.space.read(sym.address, 8 * count)
    except MemoryError_ as err:
        raise CommandError(f"sys: sys_call_table: {err}") from err
    build = _build_directory(target)
    met: dict[int, list[str]] = {}
    sources: dict[int, str] = {}
    out = []
    for i in range(count):
        address = int.from_bytes(raw[8 * i:8 * i + 8], "little")
        names = met.get(address)
        if names is None:
            names = met[address] = sorted(s.name for s in target.symbols.at_address(address))
            sources[address] = _source(target, address, build) if names and build else ""
        out.append(SyscallEntry(i, names[0] if names else None, address, sources[address]))
    return out
