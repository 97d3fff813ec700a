"""What any target's memory holds, as the memory commands show it: units and
strings (`rd`), where the direct map starts, how a virtual address translates
(`vtop`); `search` is ``targets/search.py``.

Memory is read a page at a time, so that a page missing from the dump ends a
display exactly there, with a caveat saying so.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..arch import PAGE_SIZE
from ..caveats import Unreadable, caveat
from ..errors import MemoryError_
from ..memory.linux import LinuxKernelSpace
from ..memory.space import AddressSpace
from ..memory.x86_64 import PageTableSpace

if TYPE_CHECKING:
    from .base import Target

#: characters per line of a string display (crash's rd -a)
CHARS_PER_LINE = 60
#: characters shown from a string match on, as crash shows them
CHARS_CONTEXT = 56


def printable(raw: bytes | bytearray) -> str:
    """Bytes as crash shows them beside memory: printable ASCII, else a dot."""
    return "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in raw)


# -- rd ---------------------------------------------------------------------------------
@dataclass
class Word:
    """One unit of memory: its address and value (unsigned, in the byte order shown)."""
    address: int
    value: int
    #: bytes in the unit (1, 2, 4, 8)
    size: int = field(default=8, metadata={"json": False})
    #: what the value points at (rd -s/-S: symbol+offset, [slab cache]), if anything
    name: str | None = field(default=None, metadata={"json": False})

    @property
    def raw(self) -> bytes:
        return self.value.to_bytes(self.size, "little")


@dataclass
class Chars:
    """A line of a string display: the characters read from ``address`` on."""
    address: int
    value: str


def _read_error(space: AddressSpace, pos: int, err: MemoryError_) -> str:
    return f"read error: {space.name} address {pos:x}: {err}"


def _pages(space: AddressSpace, addr: int, size: int) -> Iterator[bytes]:
    """The bytes of [addr, addr + size), a page at most at a time.  The first page
    that cannot be read raises when nothing was read before it; after data it ends
    the data with a caveat (what was read is shown, the rest is not)."""
    pos, end = addr, addr + size
    while pos < end:
        n = min(end - pos, PAGE_SIZE - (pos & (PAGE_SIZE - 1)))
        try:
            data = space.read(pos, n)
        except MemoryError_ as err:
            if pos == addr:
                raise MemoryError_(_read_error(space, pos, err), pos) from None
            caveat(f"{_read_error(space, pos, err)}: the display stops there")
            return
        yield data
        pos += n


def words(space: AddressSpace, addr: int, count: int, size: int, *, swap: bool = False,
          namer: Callable[[int], str | None] | None = None) -> Iterator[Word]:
    """``count`` units of ``size`` bytes from ``addr``, produced as they are read;
    ``swap``: each unit's bytes reversed (network byte order); ``namer`` names a
    value (-s, -S) or returns None."""
    pending = b""
    start = addr
    for data in _pages(space, addr, count * size):
        data = pending + data
        whole = len(data) - len(data) % size
        for off in range(0, whole, size):
            raw = data[off:off + size]
            value = int.from_bytes(raw[::-1] if swap else raw, "little")
            yield Word(start + off, value, size, namer(value) if namer is not None else None)
        start += whole
        pending = data[whole:]


def string(space: AddressSpace, addr: int, count: int | None) -> Iterator[Chars]:
    """The printable characters from ``addr``, as crash's ``rd -a`` shows them: runs
    of printable bytes in lines of :data:`CHARS_PER_LINE`, each line at the address
    of its first character.  Without ``count`` the string ends at its first
    unprintable byte (its NUL, or a newline); with ``count`` bytes are read and an
    unprintable one ends the line (the next printable byte starts a new one)."""
    line_at, line = addr, ""
    run = 0
    pos = addr
    for chunk in _pages(space, addr, count if count is not None else (1 << 64) - addr):
        for byte in chunk:
            if 0x20 <= byte < 0x7F:
                if run % CHARS_PER_LINE == 0:
                    if line:
                        yield Chars(line_at, line)
                    line_at, line = pos, ""
                line += chr(byte)
                run += 1
            elif count is None:
                if line:
                    yield Chars(line_at, line)
                return
            else:
                run = 0
            pos += 1
    if line:
        yield Chars(line_at, line)


# -- search ---------------------------------------------------------------------------
def direct_map_base(target: Target) -> int | None:
    """Where the kernel's direct map starts (None: the target has no direct map)."""
    return target.space.page_offset if isinstance(target.space, LinuxKernelSpace) else None


# -- vtop --------------------------------------------------------------------------------
@dataclass
class TableEntry:
    """A page-table entry read on the walk: its level, where it is, what it holds."""
    level: str
    entry_address: int
    entry: int


@dataclass
class AddressTranslation:
    """How a virtual address translates: the arithmetic used (direct map, kernel
    image) or the page tables, and the walk of the tables in every case."""
    virtual: int
    #: the physical address (a Xen PV guest: pseudo-physical, Unreadable when Xen's
    #: m2p does not give it back); None: not mapped
    physical: int | None | Unreadable
    #: a Xen PV guest: the machine address (what its page tables hold)
    machine: int | None
    method: str
    steps: list[TableEntry]
    error: str | None
    #: the arithmetic of a translation without tables ("0x... - 0x... + phys_base ...")
    notes: list[str] = field(default_factory=list, metadata={"json": False})
    #: the root of the page tables walked (crash's PAGE DIRECTORY)
    root: int | None = field(default=None, metadata={"json": False})
    #: the page the walk ends at
    page: int | None = field(default=None, metadata={"json": False})


def translation(target: Target, vaddr: int,
                space: AddressSpace | None = None) -> AddressTranslation:
    """The translation of ``vaddr`` in the target's (kernel or hypervisor) space, or in
    ``space`` (a task's user memory)."""
    from .xen.guests import PvLinuxTarget
    space = space if space is not None else target.space
    tr = space.explain(vaddr)
    physical: int | None | Unreadable = tr.paddr
    machine = None
    if tr.paddr is not None and isinstance(target, PvLinuxTarget):
        # a Xen PV guest: the walk gives machine addresses; PHYSICAL is the guest's
        # pseudo-physical one (Xen's m2p), MACHINE the frame in the dump
        machine = tr.paddr
        pseudo = target.pseudo_physical(tr.paddr)
        if pseudo is None:
            caveat(f"machine address {tr.paddr:x} has no pseudo-physical address in "
                   f"{target.name} (Xen's m2p): PHYSICAL shown as ?")
            physical = Unreadable("not in Xen's m2p")
        else:
            physical = pseudo
    notes = [s.note for s in tr.steps] if tr.method not in ("page table", "identity") else []
    walk = space.walk(vaddr) if isinstance(space, PageTableSpace) else tr
    return AddressTranslation(
        vaddr, physical, machine, tr.method,
        [TableEntry(s.what, s.address, s.value) for s in walk.steps
         if s.address is not None and s.value is not None],
        walk.error, notes, space.root if isinstance(space, PageTableSpace) else None,
        walk.paddr & ~(PAGE_SIZE - 1) if walk.paddr is not None else None)
