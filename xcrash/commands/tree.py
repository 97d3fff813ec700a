"""tree: the entries of a red-black tree, radix tree, XArray or maple tree.

The walks and the entries' records come from ``targets/walks.py``
(``targets/linux/rbtree.py``, ``xarray.py``, ``maple.py``); the layout from
``layouts/values.py``.
"""
from __future__ import annotations

from functools import partial

from ..errors import CommandError
from ..layouts.values import entry_lines
from ..results import Records
from ..targets import walks
from .base import Command, Context, Option
from .listcmd import offset_of, shown_type, start_of

SPELLINGS = {"rbtree": ("rb", "rbtree"), "radix": ("ra", "radix"), "xarray": ("x", "xarray"),
             "maple": ("m", "maple")}


def _tree_type(text: str | None) -> str:
    if not text:
        return "rbtree"
    for name, spellings in SPELLINGS.items():
        if text in spellings or (len(text) >= 2 and name.startswith(text)):
            return name
    raise CommandError(f"tree: invalid tree type: {text} (radix, xarray, rbtree or maple)")


class Tree(Command):
    name = "tree"
    arguments = "start"
    summary = "walk a red-black tree, radix tree, XArray or maple tree"
    group = "memory"
    description = """\
Prints each entry of a tree, one address per line (with -s, the structure or
the members at it), as crash's `tree` does.  `start` is the tree's root
(struct rb_root, radix_tree_root, xarray or maple_tree): an address, a symbol or
an expression.  A red-black tree prints in crash's order (node, left subtree,
right subtree) unless -l; its entries are each rb_node less the -o offset.
Offsets are numbers or struct.member.  Radix trees are XArrays since Linux 4.20
and are walked as such (crash 8.0.6 says they "do not exist" on these kernels).
Maple and XArray entries print in index order.
"""
    example = ("tree -t rbtree -o vmap_area.rb_node vmap_area_root\n"
               "tree -t xarray irq_desc_tree\n"
               "tree -t radix -s irq_desc.irq_data.irq irq_desc_tree")
    options = (Option("-t", "type", "the tree type: rbtree (default), radix, xarray or maple "
                      "(rb, ra, x, m)", takes_value=True, metavar="type"),
               Option("-r", "root_offset", "start is a structure holding the root at this offset",
                      takes_value=True, metavar="offset"),
               Option("-o", "node_offset", "rbtree: where the rb_node sits in each entry",
                      takes_value=True, metavar="offset"),
               Option("-s", "show", "show each entry as that structure (or those members)",
                      takes_value=True, metavar="struct[.member,...]"),
               Option("-l", "linear", "rbtree: in key order (leftmost first)"),
               Option("-N", "node", "rbtree: start is a node (rb_node), not the root"))

    def run(self, ctx: Context, args: list[str]) -> Records:
        opts, rest = self.parse(args)
        if len(rest) != 1:
            raise CommandError(f"usage: {self.usage()}")
        target = ctx.target
        kind = _tree_type(opts["type"])
        if kind != "rbtree":
            if opts["node_offset"] or opts["linear"]:
                raise CommandError(f"tree: -o and -l are for red-black trees, not {kind} trees")
            if opts["node"]:
                raise CommandError("tree: -N is supported for red-black trees only")
        start = start_of(target, rest[0]) + offset_of(target, opts["root_offset"])
        t, members = shown_type(target, opts["show"])
        entries = walks.tree_entries(target, kind, start, node_offset=offset_of(
            target, opts["node_offset"]), linear=opts["linear"], start_is_node=opts["node"])
        return Records(walks.shown(target, entries, "tree", t, members),
                       partial(entry_lines, radix=int(ctx.settings.get("radix", 10))))


COMMANDS = [Tree]
