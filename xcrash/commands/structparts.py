"""What ``struct``, ``union`` and ``*`` show, apart from the command itself: the
records and layouts of a declaration, a CPU's copy, a symbol not found, the raw words
(-r), the pointers followed (-p), and the reading of their offset and count arguments."""
from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from ..errors import CommandError, NoSuchMember, XcrashError
from ..layouts.derefs import deref_struct_lines
from ..layouts.symbols import listing_line
from ..layouts.types import definition_lines, member_definition_lines
from ..layouts.values import struct_lines
from ..results import Records
from ..symbols.types import Type
from ..targets import symbolinfo, typeinfo, values
from ..targets.typeinfo import TypeDefinition
from ..targets.values import StructContents
from .args import parse_number
from .base import Context
from .rd import word_lines

if TYPE_CHECKING:
    from ..memory.space import AddressSpace
    from ..targets.base import Target

#: x86_64 kernel virtual addresses start here (crash's IS_KVADDR)
KERNEL_SPACE = 0xFFFF800000000000


# -- layouts -------------------------------------------------------------------------------
def definitions_lines(records: Iterable[TypeDefinition], *, offsets: bool = False,
                      radix: int = 10, address: int | None = None,
                      member: str | None = None) -> Iterator[str]:
    for r in records:
        if member is not None:
            yield from member_definition_lines(r, member, radix=radix, address=address)
        else:
            yield from definition_lines(r, offsets=offsets, radix=radix, address=address)


def contents_lines(records: Iterable[StructContents], radix: int = 10) -> Iterator[str]:
    for r in records:
        yield from struct_lines(r, radix)


@dataclass
class CpuHeader:
    """``[1]: ffff975a8f523380``: a CPU's copy of a per-CPU structure (``offline``:
    crash's ``[OFFLINE]`` under ``set offline hide``)."""
    cpu: int
    address: int
    offline: bool = False


def cpu_header_lines(records: Iterable[CpuHeader]) -> Iterator[str]:
    for r in records:
        yield f"[{r.cpu}]: " + ("[OFFLINE]" if r.offline else f"{r.address:x}")


def after_blank(layout: Any, records: Iterable[Any]) -> Iterator[str]:
    """A layout with a blank line before it (crash's separation of structures)."""
    yield ""
    yield from layout(records)


@dataclass
class NotFound:
    """crash's answer to an address argument that is no symbol: the symbols whose
    names contain it (``possible alternatives``)."""
    word: str
    alternatives: list[symbolinfo.SymbolEntry] = field(default_factory=list)


def not_found_lines(records: Iterable[NotFound]) -> Iterator[str]:
    for r in records:
        yield f"symbol not found: {r.word}"
        yield "possible alternatives:"
        if not r.alternatives:
            yield "  (none found)"
        for e in r.alternatives:
            yield "  " + listing_line(e)


def deref_records(ctx: Context, target: Target, t: Type, address: int, members: list[str],
                  radix: int, space: AddressSpace) -> Records:
    """``struct -p``: the structure (or the members asked for), each pointer member with
    what it points at (each one read takes a value history number, as crash's)."""
    from ..targets.derefs import deref
    from .printing import History
    record = History.of(ctx).add
    contents = values.read_struct(target, t, address, members or None, space=space)
    names = members or [m.name for m in (contents.members or []) if m.name]
    derefs = {}
    for name in names:
        if "." in name or "[" in name:
            continue
        d = deref(target, t, address, name, record)
        if d is not None:
            derefs[name] = d
    contents.derefs = derefs
    return Records([contents], partial(deref_struct_lines, radix=radix))


def whole_readable(space: AddressSpace, address: int, size: int, members: list[str]) -> None:
    """gdb prints a structure read whole: one that cannot be read is crash's error."""
    from ..errors import MemoryError_
    try:
        space.read(address, max(size, 1))
    except MemoryError_:
        what = "user" if space.name == "user" else "kernel"
        raise CommandError(f"seek error: {what} virtual address: {address:x}  "
                           f"type: \"gdb_readmem_callback\"") from None


def raw_records(space: AddressSpace, address: int, length: int) -> Records:
    """crash's raw_data_dump: the bytes as ``rd`` shows them, in 8-byte words (a 1-, 2-
    or 4-byte member in its own size)."""
    from ..targets.memory import words
    unit = length if length in (1, 2, 4) else 8
    count = max((length + unit - 1) // unit, 1)
    return Records(words(space, address, count, unit),
                   partial(word_lines, start=address, unit=unit))


def list_offset(target: Target, text: str) -> int:
    """-l's offset: a number of bytes, or struct.member (its offset)."""
    if re.fullmatch(r"(0x)?[0-9a-fA-F]+", text) and "." not in text:
        return parse_number(text, 10) if text.isdigit() else int(text, 16)
    type_name, _, member = text.partition(".")
    t = None
    for kind in ("struct", "union"):
        t = typeinfo.find_aggregate(target, type_name, kind)
        if t is not None:
            break
    if t is None or not member:
        raise CommandError(f"invalid -l option: {text}")
    try:
        return member_offset(t, member)
    except CommandError:
        raise CommandError(f"invalid -l option: {text}") from None


def member_offset(t: Type, path: str) -> int:
    """The byte offset of a member path (``se.on_rq``, ``bits[1]``) in ``t``."""
    try:
        return typeinfo.path_offset(t, path)[0]
    except (NoSuchMember, CommandError):
        raise CommandError(f"invalid data structure reference: {plain_name(t)}.{path}") from None


def member_size(t: Type, path: str) -> int:
    return typeinfo.path_offset(t, path)[1].byte_size


def top_level_name(t: Type, name: str) -> bool:
    try:
        t.member(name)
        return True
    except NoSuchMember:
        return False                # the answer asked for


def plain_name(t: Type) -> str:
    s = t.strip_typedefs()
    return s.name or t.name or "?"


def count_of(word: str) -> int:
    try:
        return int(word, 16) if word.lower().startswith("0x") else int(word, 10)
    except ValueError:
        raise CommandError(f"invalid count: {word}") from None


def symbol_of(target: Target, word: str) -> Any:
    try:
        return target.symbol(word)
    except XcrashError:
        return None                 # no such symbol: crash lists the near names


def is_symbol(target: Target, word: str) -> bool:
    return symbol_of(target, word) is not None


def check_kernel_address(target: Target, address: int, word: str,
                          opts: dict[str, Any]) -> None:
    from ..targets.linux.kernel import LinuxTarget
    if opts["user"] or not isinstance(target, LinuxTarget):
        return
    if address < KERNEL_SPACE:
        raise CommandError(f"invalid kernel virtual address: {word}")
