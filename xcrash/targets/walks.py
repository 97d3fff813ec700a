"""Linked structures walked by address, for ``list`` and ``tree``: a chain of next
pointers, a ``list_head`` list, a red-black tree, an XArray (radix tree) or a maple
tree.  Each entry is a :class:`~xcrash.targets.values.StructContents`: its address
and, when asked (``-s``), the structure or the members there.

A walk that breaks (a pointer that cannot be read, a loop) after some entries
ends with a caveat saying where; one that breaks before the first is an error.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..caveats import caveat
from ..errors import CommandError, MemoryError_, XcrashError
from ..objects import LIST_LIMIT, CorruptList, list_for_each
from ..symbols.types import Type
from .values import StructContents, read_fast, read_struct

if TYPE_CHECKING:
    from .base import Target

TREE_KINDS = ("rbtree", "radix", "xarray", "maple")


def chain(target: Target, start: int, offset: int) -> Iterator[int]:
    """``start``, then the address held at ``offset`` in each entry, up to a NULL
    or the start again (crash's ``list``); a loop elsewhere is corruption."""
    read = target.space.read_u64
    seen: set[int] = set()
    addr = start
    while addr and addr not in seen:
        if len(seen) >= LIST_LIMIT:
            raise CorruptList(start, addr, f"more than {LIST_LIMIT} entries")
        seen.add(addr)
        yield addr
        addr = read(addr + offset)
        if addr in seen and addr != start:
            raise CorruptList(start, addr, "loop that does not return to the start")


class ListEnd(CommandError):
    """crash's end of a list walk that went wrong after some entries: ``invalid list
    entry``, ``duplicate list entry``, a loop Brent's algorithm found."""


def crash_list(target: Target, start: int, next_offset: int, *, end: int = 0,
               head_format: bool = False, brent: bool = False) -> Iterator[int]:
    """The nodes of a list as crash's do_list walks it: from ``start``, each next
    pointer at ``next_offset``, until NULL, ``end``, the start, the node itself or
    the first node again (after the first).  A NULL in a list_head list, a node that
    cannot be read or one seen twice ends the walk with crash's error; with ``brent``,
    a loop is measured (R. P. Brent's algorithm, crash's -B) and said in the error."""
    read = target.space.read_u64

    def follow(node: int) -> int:
        at = node + next_offset
        try:
            return read(at)
        except MemoryError_:
            # crash's readmem error for the next pointer it could not read
            what = "invalid" if at < 0xFFFF800000000000 else "seek error:"
            raise ListEnd(f"{what} kernel virtual address: {at:x}  type: \"list entry\""
                          ) from None

    first = follow(start)
    seen: set[int] = set()
    node = start
    count = 0
    tortoise = hare = start
    power, length = 2, 0
    if brent:
        hare = follow(hare)
    looping = False
    while True:
        if not looping:
            yield node
        if not brent and node in seen:
            raise ListEnd(f"duplicate list entry: {node:x}")
        seen.add(node)
        count += 1
        if count > LIST_LIMIT:
            raise ListEnd(f"more than {LIST_LIMIT} entries: list entry {node:x}")
        last = node
        node = follow(node)
        if node == 0:
            if head_format:
                raise ListEnd("invalid list entry: 0")
            return
        if node in (end, start, last) or (node == first and count != 1):
            return
        if not brent:
            continue
        if not looping:
            if count > 1 and tortoise == hare:
                looping = True
                tortoise = hare = start
                for _ in range(length):
                    hare = follow(hare)
                steps = 0
                while tortoise != hare:
                    tortoise, hare = follow(tortoise), follow(hare)
                    steps += 1
                raise ListEnd(f"loop detected, loop length: {length}; length from start to "
                              f"loop: {steps:x}; duplicate list entry: {tortoise:x}")
            if power == length:
                tortoise, power, length = hare, power * 2, 0
            hare = node
            length += 1


def list_head_entries(target: Target, head: int, offset: int) -> Iterator[int]:
    """The entries of the list headed by the ``struct list_head`` at ``head``: each
    node less ``offset`` (where the list_head sits in an entry)."""
    for node in list_for_each(target, head):
        yield node - offset


def tree_entries(target: Target, kind: str, start: int, *, node_offset: int = 0,
                 linear: bool = False, start_is_node: bool = False) -> Iterator[int]:
    """The entries of the tree rooted at ``start`` (``kind`` one of TREE_KINDS): a
    red-black tree's nodes less ``node_offset`` (crash's order: node, left, right;
    in key order with ``linear``); the stored entries of an XArray (radix trees are
    XArrays since Linux 4.20) or a maple tree, in index order."""
    from .linux import maple, rbtree, xarray
    if kind == "rbtree":
        top = start if start_is_node else rbtree.rb_root_node(target, start)
        walk = rbtree.rb_inorder if linear else rbtree.rb_preorder
        return (node - node_offset for node in walk(target, top))
    if kind == "maple":
        return (entry for _first, _last, entry in maple.entries(target, start))
    return (entry for _index, entry in xarray.entries(target, start))


def shown(target: Target, addresses: Iterator[int], what: str, t: Type | None = None,
          members: list[str] | None = None) -> Iterator[StructContents]:
    """Each address of a walk as a record: with a type ``t``, the structure there
    (or its ``members``).  ``what`` names the walk in the caveat or error that says
    where it broke."""
    count = 0
    try:
        for address in addresses:
            count += 1
            if t is None:
                yield StructContents(address)
            else:
                yield read_struct(target, t, address, members, header=t.display_name())
    except XcrashError as err:      # a read that failed, a loop, a damaged tree node
        if not count:
            raise CommandError(f"{what}: {err}") from None
        caveat(f"{what}: {err}: the entries past {count} are left out")


@dataclass
class WalkEntry:
    """An entry of ``list`` or ``tree``: its address, and with -s/-S each structure
    asked for there (``StructContents``, or with -S the members read raw:
    ``FastMember`` lists); ``position``: ``tree -p``'s place in the tree."""
    address: int
    structs: list[Any] = field(default_factory=list)
    #: ``tree -p``'s line: ``  position: root/l``, ``  index: 3  position: root/0/3``
    position: str | None = None
    #: the address line in hex (else decimal: a maple tree's, in crash 9.0.2's radix)
    hexadecimal: bool = field(default=True, metadata={"json": False})
    #: the address line shown (not under a maple tree's -v dump)
    address_shown: bool = field(default=True, metadata={"json": False})


@dataclass
class ShownStruct:
    """A -s/-S argument: the type and the members to show (none: the whole type)."""
    type: Type
    members: list[str]
    fast: bool = False


def walk_entries(target: Target, addresses: Iterator[int], what: str,
                 shows: list[ShownStruct], offset: int = 0,
                 positions: Iterator[str] | None = None) -> Iterator[WalkEntry]:
    """Each address of a walk as a record; each structure asked for read ``offset``
    below it (the -l offset of a list).  A read that fails after some entries ends the
    walk with a caveat; crash's own ends of a list (ListEnd) are errors after them."""
    count = 0
    try:
        for address in addresses:
            count += 1
            entry = WalkEntry(address)
            if positions is not None:
                entry.position = next(positions, None)
            for show in shows:
                at = address - offset
                if show.fast and show.members:
                    entry.structs.append(read_fast(target, show.type, at, show.members))
                else:
                    entry.structs.append(read_struct(target, show.type, at, show.members or None,
                                                     header=show.type.display_name()))
            yield entry
    except ListEnd:
        raise
    except XcrashError as err:      # a read that failed, a loop, a damaged tree node
        if not count:
            raise CommandError(f"{what}: {err}") from None
        caveat(f"{what}: {err}: the entries past {count} are left out")
