"""Chosen members of struct pages, as crash's `kmem -m member[,member]` shows them.

A member is named as in C, a member of a member with a dot (``lru.next``).  crash
reads a pointer, an integer (a bit-field's bits), a structure (a counter such as
``_mapcount`` as one int, else its longs or ints) or a bool; any other kind of member
is an error.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from collections.abc import Iterable, Iterator

from ...arch import PAGE_SHIFT, PAGE_SIZE
from ...caveats import Unreadable, caveat
from ...errors import CommandError, MemoryError_, NoSuchMember
from ...symbols.types import Kind
from . import pages

if TYPE_CHECKING:
    from .kernel import LinuxTarget

#: crash's MAXARGS: the most members a list may name
MAX_MEMBERS = 100


@dataclass(frozen=True)
class MemberSpec:
    """How one member is read and written: ``kind`` is pointer, int, struct or bool."""
    name: str
    kind: str
    offset: int
    length: int
    signed: bool = False
    bit_offset: int = 0
    bit_size: int = 0
    #: crash's radix for an integer (16 for flags, 10 for counters, else the output radix)
    radix: int = 10


#: one member's value: an integer, a structure's longs or ints, or a bool's byte
Value = int | tuple[int, ...] | Unreadable


@dataclass
class PageMembers:
    """One struct page: its address and the chosen members' values, in order."""
    page: int
    values: list[Value]
    specs: list[MemberSpec] = field(metadata={"json": False})


def member_specs(target: LinuxTarget, text: str, radix: int) -> list[MemberSpec]:
    """The members of a comma-separated list, checked as crash checks them."""
    if text.count(",") + 1 > MAX_MEMBERS:
        raise CommandError("kmem: too many members in comma-separated list")
    if text.endswith((",", ".")):
        raise CommandError(f"kmem: invalid format: {text}")
    names = text.replace(",", " ").split()
    if not names:
        raise CommandError(f"kmem: invalid page struct member list format: {text}")
    page_t = target.type("struct page")
    specs = []
    for name in names:
        try:
            bit_offset, mtype, member = page_t.member_path(name)
        except NoSuchMember:
            raise CommandError(f"kmem: invalid page struct member: {name}") from None
        t = mtype.strip_typedefs()
        kind = {Kind.POINTER: "pointer", Kind.INT: "int", Kind.STRUCT: "struct"}.get(t.kind, "")
        if t.kind is Kind.INT and t.encoding == "bool":
            kind = "bool"
        last = name.rsplit(".", 1)[-1]
        r = 16 if last == "flags" else 10 if last.startswith(("_count", "_mapcount")) \
            else radix
        specs.append(MemberSpec(name, kind, bit_offset // 8, t.byte_size, t.signed,
                                member.bit_offset if member.bit_size else 0, member.bit_size,
                                r))
    return specs


def _unsupported(spec: MemberSpec) -> CommandError:
    return CommandError(f"kmem: unsupported page member reference: page.{spec.name}")


def check_supported(specs: list[MemberSpec]) -> None:
    """crash's error for a member it cannot show (an array, a union, an enum, ...)."""
    for s in specs:
        if s.kind == "" or s.kind == "int" and s.length not in (1, 2, 4, 8) or \
                s.kind == "struct" and not s.name.rsplit(".", 1)[-1].startswith(
                    ("_count", "_mapcount")) and s.length % 4 and s.length != 2:
            raise _unsupported(s)


def _value(raw: bytes, at: int, s: MemberSpec) -> Value:
    chunk = raw[at + s.offset:at + s.offset + s.length]
    if s.kind == "pointer":
        return int.from_bytes(chunk[:8], "little")
    if s.kind == "bool":
        return chunk[0]
    if s.kind == "int":
        value = int.from_bytes(chunk, "little")
        if s.bit_size:
            value = (value >> (s.bit_offset % 8)) & ((1 << s.bit_size) - 1)
        return value
    if s.name.rsplit(".", 1)[-1].startswith(("_count", "_mapcount")):
        return int.from_bytes(chunk[:4], "little", signed=True)
    unit = 8 if s.length % 8 == 0 else 4 if s.length % 4 == 0 else 2
    return tuple(int.from_bytes(chunk[i:i + unit], "little") for i in range(0, s.length, unit))


def page_members(target: LinuxTarget, page: int, specs: list[MemberSpec]) -> PageMembers:
    """The members of the struct page at ``page`` (a failed read raises)."""
    raw = target.space.read(page, pages.page_size_of_struct(target))
    return PageMembers(page, [_value(raw, 0, s) for s in specs], specs)


def every_page_members(target: LinuxTarget, pfn_ranges: Iterable[tuple[int, int]],
                       specs: list[MemberSpec]) -> Iterator[PageMembers]:
    """The members of every struct page of ``pfn_ranges``, a vmemmap page at a time; a
    struct page the dump lacks shows ? (one WARNING at the end)."""
    size = pages.page_size_of_struct(target)
    base = pages.vmemmap_base(target)
    per_chunk = PAGE_SIZE // size if PAGE_SIZE % size == 0 else 1
    lost, first_error = 0, ""
    for start, end in pfn_ranges:
        for first in range(start - start % per_chunk, end, per_chunk):
            try:
                raw = target.space.read(base + first * size, per_chunk * size)
            except MemoryError_ as err:
                raw, first_error = b"", first_error or str(err)
            for pfn in range(max(first, start), min(first + per_chunk, end)):
                if raw:
                    yield PageMembers(base + pfn * size,
                                      [_value(raw, (pfn - first) * size, s) for s in specs],
                                      specs)
                else:
                    lost += 1
                    yield PageMembers(base + pfn * size,
                                      [Unreadable(first_error)] * len(specs), specs)
    if lost:
        caveat(f"{lost} struct pages not in the dump (first: {first_error}): shown with ?")


def page_of(target: LinuxTarget, address: int, physical: bool) -> int:
    """The struct page an address argument of `kmem -p`/`-m` names: a struct page
    itself, a kernel virtual address's page, else (or with -P) a physical address's."""
    if not physical and address >= 1 << 63:
        if pages.is_page_struct(target, address):
            return address
        paddr = target.translate(address).paddr
        if paddr is None:
            raise CommandError(f"kmem: cannot determine page for {address:x}")
        address = paddr
    if address >> PAGE_SHIFT >= pages.max_pfn(target):
        raise CommandError(f"kmem: {address:x}: physical address not found in mem map")
    return pages.phys_to_page(target, address)
