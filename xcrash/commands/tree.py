"""tree: the entries of a red-black tree, radix tree, XArray or maple tree.

The walks, with what -p and -v show, come from ``targets/treewalk.py``; each entry's
structures (-s/-S) from ``targets/walks.py``; the layout from ``layouts/values.py``.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import partial
from typing import Any

from ..errors import CommandError, XcrashError
from ..layouts.values import walk_lines
from ..results import Records
from ..targets import treewalk, walks
from ..targets.treewalk import TreeLine, TreeStep
from .base import Command, Context, Option
from .listcmd import offset_of, shown_struct, start_of

SPELLINGS = {"rbtree": ("rb", "rbtree"), "radix": ("ra", "radix"), "xarray": ("x", "xarray"),
             "maple": ("m", "maple")}
NAMES = {"rbtree": "rbtrees", "radix": "Xarrays", "xarray": "Xarrays", "maple": "maple trees"}


def _tree_type(text: str | None) -> str:
    """crash's -t: a word starting with ra, rb, x or m."""
    if not text:
        return "rbtree"
    for name, prefix in (("radix", "ra"), ("rbtree", "rb"), ("xarray", "x"), ("maple", "m")):
        if text.startswith(prefix):
            return name
    raise CommandError(f"invalid tree type: {text}")


def tree_lines(records: Iterable[Any], radix: int = 10) -> Iterator[str]:
    """A maple tree's -v lines as they come, the entries as ``list`` shows them."""
    for r in records:
        if isinstance(r, TreeLine):
            yield r.text
        else:
            yield from walk_lines([r], radix)


class Tree(Command):
    name = "tree"
    synopsis = ("tree [-t [radix|xarray|rbtree|maple]] [-r offset] "
                "[-[s|S] struct[.member[,member]]] -[x|d] [-o offset] [-l] [-p] [-v] [-N] start")
    summary = "walk a red-black tree, radix tree, XArray or maple tree"
    group = "memory"
    description = """\
Prints each entry of a tree, one address per line (with -s, the structure or the
members at it; -S the members read straight from memory), as crash's `tree` does.
`start` is the tree's root (struct rb_root, radix_tree_root, xarray or maple_tree):
an address, a symbol or an expression; -r gives the root's offset in the structure
at start; -N makes start a node.  A red-black tree prints in crash's order (node,
left subtree, right subtree) unless -l (key order); its entries are each rb_node
less the -o offset.  -p shows each entry's position (a red-black node's path from
the root; an XArray's or maple tree's index, path and slot); -v dumps a maple
tree's nodes and ranges.  A maple tree's entries print in the output radix, as
crash 9.0.2 prints them (8.0.6: hexadecimal).  Radix trees are XArrays since
Linux 4.20 and are walked as such.
"""
    example = ("tree -t rbtree -o vmap_area.rb_node vmap_area_root\n"
               "tree -t xarray irq_desc_tree -p\n"
               "tree -t radix -s irq_desc.irq_data.irq irq_desc_tree")
    options = (Option("-t", "type", "the tree type: rbtree (default), radix, xarray or maple "
                      "(rb, ra, x, m)", takes_value=True, metavar="type"),
               Option("-r", "root_offset", "start is a structure holding the root at this offset",
                      takes_value=True, metavar="offset"),
               Option("-o", "node_offset", "rbtree: where the rb_node sits in each entry",
                      takes_value=True, metavar="offset"),
               Option("-s", "show", "show each entry as that structure (or those members)",
                      takes_value=True, repeat=True, metavar="struct[.member,...]"),
               Option("-S", "fast", "the same, members read straight from memory",
                      takes_value=True, repeat=True, metavar="struct[.member,...]"),
               Option("-x", "hex", "values in hexadecimal"),
               Option("-d", "dec", "values in decimal"),
               Option("-l", "linear", "rbtree: in key order (leftmost first)"),
               Option("-p", "position", "each entry's position in the tree"),
               Option("-v", "verbose", "maple trees: dump every node and range"),
               Option("-N", "node", "start is a node, not the root"))
    exclusive = (("hex", "dec"), ("show", "fast"), ("root_offset", "node"))

    def run(self, ctx: Context, args: list[str]) -> Records:
        opts, rest = self.parse(args)
        if not rest:
            raise CommandError(f"a starting address is required; usage: {self.usage()}")
        if len(rest) > 1:
            raise CommandError(f"too many arguments entered; usage: {self.usage()}")
        target = ctx.target
        kind = _tree_type(opts["type"])
        if kind != "rbtree":
            if opts["linear"]:
                raise CommandError(f"-l option is not applicable to {NAMES[kind]}")
            if opts["node_offset"] is not None:
                raise CommandError(f"-o option is not applicable to {NAMES[kind]}")
        if kind != "maple" and opts["verbose"]:
            raise CommandError(f"-v option is not applicable to {NAMES[kind]}")
        try:
            start = start_of(target, rest[0])
        except CommandError:
            raise CommandError(f"invalid start argument: {rest[0]}") from None
        if not opts["node"]:
            start += offset_of(target, opts["root_offset"], "-r argument")
        shows = [shown_struct(target, spec) for spec in opts["show"]] + \
            [shown_struct(target, spec, fast=True) for spec in opts["fast"]]
        output = int(ctx.settings.get("radix", 10))
        radix = 16 if opts["hex"] else 10 if opts["dec"] else output
        steps: Iterator[TreeStep | TreeLine]
        if kind == "rbtree":
            top = start if opts["node"] else _read(target, start, "rb_root rb_node")
            steps = treewalk.rbtree(target, top, opts["linear"],
                                    offset_of(target, opts["node_offset"]))
        elif kind == "maple":
            steps = treewalk.maple(target, start, not opts["node"], verbose=opts["verbose"],
                                   radix=radix)
        else:
            steps = treewalk.xarray(target, start, not opts["node"])
        entries = _entries(target, steps, shows, opts["position"],
                           hexa=kind != "maple" or radix == 16,
                           address_shown=not (kind == "maple" and opts["verbose"]),
                           rbtree=kind == "rbtree")
        return Records(entries, partial(tree_lines, radix=radix if kind == "maple" else
                                        (16 if opts["hex"] else 10 if opts["dec"] else output)))


def _read(target: Any, address: int, what: str) -> int:
    try:
        return int(target.space.read_u64(address))
    except XcrashError as err:
        raise CommandError(f"{what}: {err}") from None


def _entries(target: Any, steps: Iterator[TreeStep | TreeLine], shows: list[Any],
             position: bool, *, hexa: bool, address_shown: bool,
             rbtree: bool) -> Iterator[Any]:
    """Each step as a record: a -v line, or the entry with its structures (its address
    line, in hex or the output radix, and with -p its position line)."""
    pending: list[TreeLine] = []

    def addresses() -> Iterator[int]:
        for step in steps:
            if isinstance(step, TreeLine):
                pending.append(step)
                continue
            positions.append(step.position)
            yield step.address
    positions: list[str | None] = []
    for entry in walks.walk_entries(target, addresses(), "tree", shows):
        yield from pending
        pending.clear()
        where = positions.pop(0)
        if position and where is not None:
            entry.position = f"  position: {where}" if rbtree else where
        entry.hexadecimal = hexa
        entry.address_shown = address_shown
        yield entry
    yield from pending


COMMANDS = [Tree]
