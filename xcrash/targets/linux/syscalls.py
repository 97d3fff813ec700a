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
    points at no symbol) and its address."""
    number: int
    name: str | None
    address: int


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


def syscall_table(target: LinuxTarget) -> list[SyscallEntry]:
    """Every entry of sys_call_table.  Of the names at a function's address
    (``__do_sys_getpid``, ``__x64_sys_getpid``) crash's symbol search gives the first
    by name the first time it meets the address and the last afterwards (its hash
    chains remember where the last search ended): the entries are named so."""
    sym = target.symbols.get("sys_call_table")
    if sym is None:
        raise CommandError("sys: sys_call_table does not exist in this kernel")
    count = _table_length(target)
    try:
        raw = target.space.read(sym.address, 8 * count)
    except MemoryError_ as err:
        raise CommandError(f"sys: sys_call_table: {err}") from err
    met: dict[int, list[str]] = {}
    out = []
    for i in range(count):
        address = int.from_bytes(raw[8 * i:8 * i + 8], "little")
        names = met.get(address)
        if names is None:
            names = met[address] = sorted(s.name for s in target.symbols.at_address(address))
            name = names[0] if names else None
        else:
            name = names[-1] if names else None
        out.append(SyscallEntry(i, name, address))
    return out
