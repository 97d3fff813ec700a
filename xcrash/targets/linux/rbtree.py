"""Red-black trees (lib/rbtree.c): the one walker of ``struct rb_node`` trees.

A tree is reached from its ``struct rb_root`` (``rb_node``: the top node) or from
a node.  Nodes are walked by their ``rb_left``/``rb_right`` pointers, bounded and
cycle-checked: a node met twice, or more than :data:`RB_LIMIT` nodes, is
corruption and raises :class:`~xcrash.objects.CorruptList` after the good nodes.

- :func:`rb_inorder`: in key order, leftmost first (the kernel's ``rb_first`` /
  ``rb_next``; crash's ``tree -l``); run queues, timers and mounts walk this way;
- :func:`rb_preorder`: node, left subtree, right subtree, the order crash's
  ``tree`` prints by default.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from ...objects import CorruptList
from ..base import cached_per_target

if TYPE_CHECKING:
    from ..base import Target

#: more nodes than this in one tree is corruption
RB_LIMIT = 4_000_000


@cached_per_target
def _links(target: Target) -> tuple[int, int]:
    """(offset of rb_left, offset of rb_right) in struct rb_node."""
    return target.offsetof("struct rb_node", "rb_left"), target.offsetof("struct rb_node",
                                                                          "rb_right")


def rb_root_node(target: Target, root: int) -> int:
    """The top node of the tree whose ``struct rb_root`` is at ``root`` (0: empty)."""
    return target.space.read_u64(root + target.offsetof("struct rb_root", "rb_node"))


def rb_inorder(target: Target, top: int) -> Iterator[int]:
    """The rb_node addresses of the tree under node ``top``, in key order."""
    left, right = _links(target)
    read = target.space.read_u64
    stack: list[int] = []
    seen: set[int] = set()
    node = top
    while stack or node:
        while node:
            _visit(seen, top, node)
            stack.append(node)
            node = read(node + left)
        node = stack.pop()
        yield node
        node = read(node + right)


def rb_preorder(target: Target, top: int) -> Iterator[int]:
    """The rb_node addresses of the tree under node ``top``: each node before its
    left subtree, then its right subtree (crash's ``tree`` order)."""
    left, right = _links(target)
    read = target.space.read_u64
    seen: set[int] = set()
    stack = [top]
    while stack:
        node = stack.pop()
        if not node:
            continue
        _visit(seen, top, node)
        children = [read(node + right), read(node + left)]
        yield node
        stack += children


def _visit(seen: set[int], top: int, node: int) -> None:
    if node in seen:
        raise CorruptList(top, node, "duplicate tree entry (a loop)")
    if len(seen) >= RB_LIMIT:
        raise CorruptList(top, node, f"more than {RB_LIMIT} tree entries")
    seen.add(node)
