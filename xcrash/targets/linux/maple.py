"""Maple trees (Linux 6.1+): the ranges and entries stored in one, in index order.

The root pointer (``ma_root``) is a node when bit 1 is set (and it is above
4096); child pointers in the slots of inner nodes always are (bit 2 set).  A
node pointer's low 8 bits hold the type in bits 3-6: dense (0), leaf_64 (1),
range_64 (2), arange_64 (3); clearing them gives the node's address.  range/arange nodes
hold ``pivot[]`` (the last index of each slot; the node's maximum for the last
slot) and ``slot[]``; dense and leaf nodes hold entries, the others children.
A pivot of 0 after the first slot ends the node.  Layouts come from the
kernel's own types (``struct maple_range_64`` / ``maple_arange_64``).
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from ...errors import XcrashError

if TYPE_CHECKING:
    from ...symbols.types import Type
    from ..base import Target

MAPLE_NODE_MASK = 0xFF
MAPLE_DENSE, MAPLE_LEAF_64, MAPLE_RANGE_64, MAPLE_ARANGE_64 = range(4)
ULONG_MAX = (1 << 64) - 1
MAX_NODES = 1_000_000        # a bigger tree is a loop in a damaged dump


class CorruptMapleTree(XcrashError):
    pass


def is_node(entry: int) -> bool:
    return entry & 3 == 2 and entry > 4096


class _Layout:
    """(pivot offset, pivots, slot offset, slots) of each node type, in bytes and counts."""

    def __init__(self, target: Target) -> None:
        self.kinds: dict[int, tuple[int, int, int, int]] = {}
        for kind, name in ((MAPLE_RANGE_64, "struct maple_range_64"),
                           (MAPLE_ARANGE_64, "struct maple_arange_64")):
            t = target.type(name)
            self.kinds[kind] = (t.offsetof("pivot"), _length(t, "pivot"),
                                t.offsetof("slot"), _length(t, "slot"))
        self.kinds[MAPLE_LEAF_64] = self.kinds[MAPLE_RANGE_64]
        node_t = target.type("struct maple_node")
        self.kinds[MAPLE_DENSE] = (0, 0, node_t.offsetof("slot"), _length(node_t, "slot"))


def _length(t: Type, array: str) -> int:
    """The number of elements of the array member ``array`` of ``t``."""
    length = t.member(array)[1].type.strip_typedefs().length
    if length is None:
        raise XcrashError(f"{t.display_name()}.{array}: an array without a length")
    return length


def entries(target: Target, tree_address: int) -> Iterator[tuple[int, int, int]]:
    """(first index, last index, entry) of every non-NULL entry of the tree at
    ``tree_address`` (a ``struct maple_tree``), in index order."""
    root = target.space.read_u64(tree_address + target.offsetof("struct maple_tree", "ma_root"))
    if not root:
        return
    if not is_node(root):
        yield 0, 0, root
        return
    layout = _Layout(target)
    visited = [0]
    yield from _walk(target, layout, root, 0, ULONG_MAX, visited)


def _walk(target: Target, layout: _Layout, enode: int, low: int, high: int,
          visited: list[int]) -> Iterator[tuple[int, int, int]]:
    visited[0] += 1
    if visited[0] > MAX_NODES:
        raise CorruptMapleTree(f"maple tree with more than {MAX_NODES} nodes: a loop?")
    node = enode & ~MAPLE_NODE_MASK
    kind = (enode >> 3) & 0xF
    if kind not in layout.kinds:
        raise CorruptMapleTree(f"maple node {node:#x}: unknown type {kind}")
    pivot_off, npivots, slot_off, nslots = layout.kinds[kind]
    raw = target.space.read(node, slot_off + 8 * nslots)
    slots = [int.from_bytes(raw[slot_off + 8 * i:slot_off + 8 * i + 8], "little")
             for i in range(nslots)]
    if kind == MAPLE_DENSE:
        for i, slot in enumerate(slots):
            if slot and low + i <= high:
                yield low + i, low + i, slot
        return
    pivots = [int.from_bytes(raw[pivot_off + 8 * i:pivot_off + 8 * i + 8], "little")
              for i in range(npivots)]
    leaf = kind == MAPLE_LEAF_64
    first = low
    for i, slot in enumerate(slots):
        last = pivots[i] if i < npivots else high
        if i > 0 and last == 0:
            break
        if slot:
            if leaf:
                if slot >= 4096 and slot & 3 != 2:    # not metadata or an internal value
                    yield first, last, slot
            else:                     # a child node: address | type << 3 | 4
                yield from _walk(target, layout, slot, first, last, visited)
        if last >= high:
            break
        first = last + 1
