"""XArrays and radix trees (a radix_tree_root is an xarray since 4.20): every
index with its entry.

``xa_head`` is the entry for index 0 unless it is a node pointer (low bits
``10`` and above 4096: ``struct xa_node`` at the pointer minus 2).  A node has
64 slots; ``shift`` says which bits of the index choose the slot.  Entries with
low bits ``10`` below 4096 are internal (sibling and retry markers) and skipped.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from ...errors import XcrashError

if TYPE_CHECKING:
    from ..base import Target

NODE_LIMIT = 1_000_000
#: slots of a node (XA_CHUNK_SHIFT 6)
XA_CHUNK = 64


class CorruptXArray(XcrashError):
    pass


def _is_internal(entry: int) -> bool:
    return entry & 3 == 2


def entries(target: Target, xarray_address: int) -> Iterator[tuple[int, int]]:
    """(index, entry) of every stored entry of the xarray at ``xarray_address``."""
    head = target.space.read_u64(xarray_address + target.offsetof("struct xarray", "xa_head"))
    if not head:
        return
    if not (_is_internal(head) and head > 4096):
        yield 0, head
        return
    node_t = target.type("struct xa_node")
    nslots = node_t.member("slots")[1].type.strip_typedefs().length
    if nslots is None:
        raise XcrashError("struct xa_node.slots: an array without a length")
    layout = (node_t.offsetof("shift"), node_t.offsetof("slots"), nslots)
    yield from _node_entries(target, layout, head - 2, 0, [0])


def lookup(target: Target, xarray_address: int, index: int) -> int | None:
    """The entry stored at ``index`` (None: none), down one path of nodes."""
    head = target.space.read_u64(xarray_address + target.offsetof("struct xarray", "xa_head"))
    if not (_is_internal(head) and head > 4096):
        return (head or None) if index == 0 else None
    node_t = target.type("struct xa_node")
    shift_off, slots_off = node_t.offsetof("shift"), node_t.offsetof("slots")
    node = head - 2
    for _ in range(16):                         # 64 bits of index, 6 a level
        shift = target.space.read_u8(node + shift_off)
        slot = index >> shift
        if slot >= XA_CHUNK:
            return None                         # beyond what the tree spans
        entry = target.space.read_u64(node + slots_off + 8 * slot)
        index &= (1 << shift) - 1
        if not _is_internal(entry):
            return entry or None
        if entry <= 4096 or not shift:
            return None                         # a sibling or retry marker
        node = entry - 2
    raise CorruptXArray(f"xarray {xarray_address:#x}: deeper than an index allows (a loop?)")


def _node_entries(target: Target, layout: tuple[int, int, int], node: int, base: int,
                  visited: list[int]) -> Iterator[tuple[int, int]]:
    """The entries under one node, in index order."""
    visited[0] += 1
    if visited[0] > NODE_LIMIT:
        raise CorruptXArray(f"xarray node {node:#x}: more than {NODE_LIMIT} nodes (a loop?)")
    shift_off, slots_off, nslots = layout
    shift = target.space.read_u8(node + shift_off)
    raw = target.space.read(node + slots_off, 8 * nslots)
    for i in range(nslots):
        entry = int.from_bytes(raw[8 * i:8 * i + 8], "little")
        if not entry:
            continue
        index = base + (i << shift)
        if _is_internal(entry):
            if entry > 4096 and shift:          # a child node
                yield from _node_entries(target, layout, entry - 2, index, visited)
            continue                            # sibling / retry markers
        yield index, entry
