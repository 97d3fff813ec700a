"""Linked structures walked by address, for ``list`` and ``tree``: a chain of next
pointers, a ``list_head`` list, a red-black tree, an XArray (radix tree) or a maple
tree.  Each entry is a :class:`~xcrash.targets.values.StructContents`: its address
and, when asked (``-s``), the structure or the members there.

A walk that breaks (a pointer that cannot be read, a loop) after some entries
ends with a caveat saying where; one that breaks before the first is an error.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from ..caveats import caveat
from ..errors import CommandError, XcrashError
from ..objects import LIST_LIMIT, CorruptList, list_for_each
from ..symbols.types import Type
from .values import StructContents, read_struct

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
