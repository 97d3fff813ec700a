"""tree: the entries of a red-black tree, radix tree, XArray or maple tree."""
from __future__ import annotations

from typing import Any, Iterator

from ..errors import CommandError, MemoryError_, XcrashError
from ..objects import CorruptList
from .base import Command, Context, Option, Result, Text
from .listcmd import ListCmd, entry_lines

TYPES = {"rbtree": ("rb", "rbtree"), "radix": ("ra", "radix"), "xarray": ("x", "xarray"),
         "maple": ("m", "maple")}


def _tree_type(text: str | None) -> str:
    if not text:
        return "rbtree"
    for name, spellings in TYPES.items():
        if text in spellings or (len(text) >= 2 and name.startswith(text)):
            return name
    raise CommandError(f"tree: invalid tree type: {text} (radix, xarray, rbtree or maple)")


class Tree(Command):
    name = "tree"
    synopsis = ("tree [-t rbtree|radix|xarray|maple] [-r offset] [-o offset] [-s struct[.member,...]] "
                "[-l] [-N] start")
    summary = "walk a red-black tree, radix tree, XArray or maple tree"
    group = "memory"
    description = """\
Prints each entry of a tree, one address per line (with -s, the structure or
the members at it), as crash's `tree` does.
  -t type          rbtree (default), radix, xarray or maple (rb, ra, x, m)
  start            the tree's root (struct rb_root, radix_tree_root, xarray or
                   maple_tree): an address, a symbol or an expression
  -r offset        start is a structure holding the root at this offset
                   (a number or struct.member)
  -N               start is a node (rb_node) rather than the root
  -o offset        rbtree: where the rb_node sits in each entry (number or
                   struct.member); entries print as node - offset
  -l               rbtree: in key order (leftmost first); the default is
                   crash's order (node, left subtree, right subtree)
  -s struct[.m,..] show each entry as that structure or those members
Radix trees are XArrays since Linux 4.20 and are walked as such (crash 8.0.6
says they "do not exist" on these kernels).  Maple and XArray entries print
in index order.
"""
    example = ("tree -t rbtree -o vmap_area.rb_node vmap_area_root\n"
               "tree -t xarray irq_desc_tree\n"
               "tree -t radix -s irq_desc.irq_data.irq irq_desc_tree")
    options = (Option("-t", "type", "tree type", takes_value=True),
               Option("-r", "root_offset", "offset of the root in start", takes_value=True),
               Option("-o", "node_offset", "offset of the rb_node in each entry", takes_value=True),
               Option("-s", "show", "structure to show per entry", takes_value=True),
               Option("-l", "linear", "rbtree in key order"),
               Option("-N", "node", "start is a node"))

    def run(self, ctx: Context, args: list[str]) -> Result:
        opts, rest = self.parse(args)
        if len(rest) != 1:
            raise CommandError(f"usage: {self.usage()}")
        target = ctx.target
        kind = _tree_type(opts["type"])
        start = ListCmd._start(target, rest[0]) + ListCmd._offset(target, opts["root_offset"])
        entries: list[int] = []
        problem = None
        try:
            entries = list(self._entries(target, kind, start, opts))
        except CorruptList as err:
            problem = f"tree: {err}"
        except (MemoryError_, XcrashError) as err:
            problem = f"tree: {err}"
        lines = entry_lines(ctx, entries, opts["show"])
        if problem:
            if not entries:
                raise CommandError(problem)
            lines.append(problem)
        return Text("\n".join(lines), [{"address": a} for a in entries])

    @staticmethod
    def _entries(target: Any, kind: str, start: int, opts: dict[str, Any]) -> Iterator[int]:
        if kind == "rbtree":
            offset = ListCmd._offset(target, opts["node_offset"])
            from ..targets.linux.rbtree import rb_inorder, rb_preorder, rb_root_node
            node = start if opts["node"] else rb_root_node(target, start)
            walk = rb_inorder if opts["linear"] else rb_preorder
            for rb in walk(target, node):
                yield rb - offset
            return
        if opts["node_offset"] or opts["linear"]:
            raise CommandError(f"tree: -o and -l are for red-black trees, not {kind} trees")
        if opts["node"]:
            raise CommandError("tree: -N is supported for red-black trees only")
        if kind == "maple":
            from ..targets.linux.maple import entries as maple_entries
            for _first, _last, entry in maple_entries(target, start):
                yield entry
            return
        from ..targets.linux.xarray import entries as xa_entries
        for _index, entry in xa_entries(target, start):
            yield entry


COMMANDS = [Tree]
