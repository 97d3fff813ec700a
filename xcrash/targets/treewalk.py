"""The walks of crash's ``tree`` command, with what ``-p`` and ``-v`` show: each entry's
position (a red-black node's ``root/l/r`` path; an XArray's index and ``root/1/26``
path; a maple tree's running count, path and slot), and a maple tree's nodes and
ranges as crash's ``-v`` dumps them.

crash walks an XArray slot by slot from the root (a slot tagged internal is a child
node, its tag cleared), a red-black tree node, left, right (or in key order), a
maple tree node by node, pivot by pivot (its ``maple_tree.c``).
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..objects import CorruptList
from .linux.maple import MAPLE_ARANGE_64, MAPLE_DENSE, MAPLE_LEAF_64, MAPLE_RANGE_64, \
    CorruptMapleTree, is_node

if TYPE_CHECKING:
    from .base import Target

RB_LIMIT = 4_000_000
NODE_LIMIT = 1_000_000
ULONG_MAX = (1 << 64) - 1


@dataclass
class TreeStep:
    """An entry of a tree walk: its address, and what -p shows of its place."""
    address: int
    position: str | None = None


@dataclass
class TreeLine:
    """A line of a maple tree's -v dump (a node, a range and what it holds)."""
    text: str


def rbtree(target: Target, top: int, linear: bool, node_offset: int) -> Iterator[TreeStep]:
    """The entries of the red-black tree under node ``top`` (each node less
    ``node_offset``): node, left, right, or with ``linear`` in key order."""
    left = target.offsetof("struct rb_node", "rb_left")
    right = target.offsetof("struct rb_node", "rb_right")
    read = target.space.read_u64
    seen: set[int] = set()

    def visit(node: int, pos: str) -> Iterator[TreeStep]:
        stack: list[tuple[int, str, int]] = [(node, pos, 0)]
        while stack:
            n, p, state = stack.pop()
            if state == 0:
                if n in seen:
                    raise CorruptList(top, n, "duplicate tree entry")
                if len(seen) >= RB_LIMIT:
                    raise CorruptList(top, n, f"more than {RB_LIMIT} tree entries")
                seen.add(n)
                if linear:
                    stack.append((n, p, 1))
                    child = read(n + left)
                    if child:
                        stack.append((child, p + "/l", 0))
                    continue
                yield TreeStep(n - node_offset, p)
                right_child, left_child = read(n + right), read(n + left)
                if right_child:
                    stack.append((right_child, p + "/r", 0))
                if left_child:
                    stack.append((left_child, p + "/l", 0))
            else:
                yield TreeStep(n - node_offset, p)
                child = read(n + right)
                if child:
                    stack.append((child, p + "/r", 0))
    if top:
        yield from visit(top, "root")


def xarray(target: Target, start: int, is_root: bool) -> Iterator[TreeStep]:
    """The entries of an XArray (a radix tree since 4.20): ``start`` its ``struct
    xarray`` (``is_root``) or a node pointer (-N); positions as crash's -p shows them."""
    node_t = target.type("struct xa_node")
    slots_t = node_t.member("slots")[1].type.strip_typedefs()
    nslots = slots_t.length or 64
    chunk_shift = nslots.bit_length() - 1
    mask = nslots - 1
    shift_off, slots_off = node_t.offsetof("shift"), node_t.offsetof("slots")
    read = target.space.read_u64
    if is_root:
        node = read(start + target.offsetof("struct xarray", "xa_head"))
        internal = node & 3 == 2
        node &= ~3
        height = (target.space.read_u8(node + shift_off) // chunk_shift + 1) if internal and node \
            else 0
    else:
        node = start & ~3 if start & 3 == 2 else start
        height = target.space.read_u8(node + shift_off) // chunk_shift + 1
    if height == 0:
        if node:
            yield TreeStep(node, "  index: 0  position: direct/0")
        return
    seen: set[int] = set()

    def walk(n: int, h: int, path: str, index: int) -> Iterator[TreeStep]:
        if n in seen or len(seen) > NODE_LIMIT:
            raise CorruptList(start, n, "duplicate tree node")
        seen.add(n)
        raw = target.space.read(n + slots_off, 8 * nslots)
        for off in range(nslots):
            slot = int.from_bytes(raw[8 * off:8 * off + 8], "little")
            if not slot:
                continue
            if slot & 3 == 2:
                slot &= ~2
            if h == 1:
                i = index | off
                yield TreeStep(slot, f"  index: {i}  position: {path}/{i & mask}")
            else:
                yield from walk(slot, h - 1, f"{path}/{off}",
                                index | (off << ((h - 1) * chunk_shift)))
    yield from walk(node, height, "root", 0)


class _MapleLayout:
    def __init__(self, target: Target) -> None:
        self.kinds: dict[int, tuple[int, int, int, int]] = {}
        for kind, name in ((MAPLE_RANGE_64, "struct maple_range_64"),
                           (MAPLE_ARANGE_64, "struct maple_arange_64")):
            t = target.type(name)
            self.kinds[kind] = (t.offsetof("pivot"), _len(t, "pivot"), t.offsetof("slot"),
                                _len(t, "slot"))
        self.kinds[MAPLE_LEAF_64] = self.kinds[MAPLE_RANGE_64]
        node_t = target.type("struct maple_node")
        self.node_size = node_t.byte_size
        self.parent = node_t.offsetof("parent")
        self.kinds[MAPLE_DENSE] = (0, 0, node_t.offsetof("slot"), _len(node_t, "slot"))
        a = target.type("struct maple_arange_64")
        self.gap = a.offsetof("gap")
        self.ngaps = _len(a, "gap")
        self.meta = a.offsetof("meta")
        meta_t = target.type("struct maple_metadata")
        self.meta_end, self.meta_gap = meta_t.offsetof("end"), meta_t.offsetof("gap")
        self.max = {MAPLE_DENSE: _len(node_t, "slot"), MAPLE_LEAF_64: ULONG_MAX,
                    MAPLE_RANGE_64: ULONG_MAX, MAPLE_ARANGE_64: ULONG_MAX}


def _len(t: object, name: str) -> int:
    return t.member(name)[1].type.strip_typedefs().length or 0    # type: ignore[attr-defined]


def maple(target: Target, start: int, is_root: bool, *, verbose: bool = False,
          radix: int = 10) -> Iterator[TreeStep | TreeLine]:
    """The entries of a maple tree (``start`` its ``struct maple_tree``, or with -N a
    node pointer), crash's positions (a running count, the path, the slot), and with
    ``verbose`` crash's dump of each node and range, numbers in ``radix``."""
    layout = _MapleLayout(target)
    read = target.space.read
    counter = [0]
    seen: set[int] = set()

    def num(v: int) -> str:
        return f"{v:x}" if radix == 16 else str(v)

    def ptr(v: int) -> str:
        return f"{v:#x}" if v else "(nil)"

    def rng(lo: int, hi: int, depth: int) -> str:
        pad = " " * (2 * depth)
        return f"{pad}{num(lo)}: " if lo == hi else f"{pad}{num(lo)}-{num(hi)}: "

    def entry(e: int, lo: int, hi: int, depth: int, index: int,
              path: str) -> Iterator[TreeStep | TreeLine]:
        if verbose:
            if e & 1:
                v = e >> 1
                shown = (f"value {v:#x} [{e:#x}]" if radix == 16 else f"value {v} [{e:#x}]")
            elif e == 0x406:                    # XA_ZERO_ENTRY
                shown = f"zero ({257:#x})" if radix == 16 else "zero (257)"
            elif e & 3 == 2 and e < 4096:
                shown = f"UNKNOWN ENTRY ({e:#x})"
            else:
                shown = f"{e:#x}" if radix == 16 else str(e)
            yield TreeLine(rng(lo, hi, depth) + shown)
        if not e:
            return
        counter[0] += 1
        shown_index = f"{counter[0]:x}" if radix == 16 else str(counter[0])
        yield TreeStep(e, f"  index: {shown_index}  position: {path}/{index}")

    def node(enode: int, lo: int, hi: int, depth: int,
             path: str) -> Iterator[TreeStep | TreeLine]:
        addr = enode & ~0xFF
        kind = (enode >> 3) & 0xF
        if addr in seen or len(seen) > NODE_LIMIT:
            raise CorruptMapleTree(f"maple node {addr:#x} met twice: a loop?")
        seen.add(addr)
        if kind not in layout.kinds:
            yield TreeLine(" UNKNOWN TYPE")
            return
        raw = read(addr, layout.node_size)
        u64 = lambda off: int.from_bytes(raw[off:off + 8], "little")
        pivot_off, npivots, slot_off, nslots = layout.kinds[kind]
        slots = [u64(slot_off + 8 * i) for i in range(nslots)]
        pivots = [u64(pivot_off + 8 * i) for i in range(npivots)]
        head = ""
        if verbose:
            head = (rng(lo, hi, depth) + f"node {addr:#x} depth {depth} type {kind} parent "
                    + ptr(u64(layout.parent)))
        if kind == MAPLE_DENSE:
            if verbose:
                yield TreeLine(head)
            for i, s in enumerate(slots):
                prefix = "OUT OF RANGE: " if lo + i > hi else ""
                for item in entry(s, lo + i, lo + i, depth, i, path):
                    if prefix and isinstance(item, TreeLine):
                        item.text = prefix + item.text
                        prefix = ""
                    yield item
            return
        if verbose:
            contents = " contents: "
            if kind == MAPLE_ARANGE_64:
                gaps = [u64(layout.gap + 8 * i) for i in range(layout.ngaps)]
                contents += "".join(num(g) + " " for g in gaps)
                contents += f"| {raw[layout.meta + layout.meta_end]:02X} " \
                            f"{raw[layout.meta + layout.meta_gap]:02X}| "
            contents += "".join(f"{ptr(slots[i])} {num(pivots[i])} "
                                for i in range(nslots - 1)) + ptr(slots[nslots - 1])
            yield TreeLine(head + contents)
        leaf = kind == MAPLE_LEAF_64
        first = lo
        for i in range(nslots):
            last = hi
            if i < nslots - 1:
                last = pivots[i]
            elif not slots[i] and (kind == MAPLE_ARANGE_64 or hi != layout.max[kind]):
                break
            if last == 0 and i > 0:
                break
            if leaf:
                yield from entry(slots[i], first, last, depth + 1, i, path)
            elif slots[i]:
                yield from node(slots[i], first, last, depth + 1, f"{path}/{i}")
            if last == hi:
                break
            if last > hi:
                yield TreeLine(f"node {addr + slot_off:#x} last ({last}) > max ({hi}) "
                               f"at pivot {i}!")
                break
            first = last + 1

    if not is_root:
        yield from node(start, 0, layout.max.get((start >> 3) & 0xF, ULONG_MAX), 0, "direct")
        return
    tree_t = target.type("struct maple_tree")
    raw = read(start, tree_t.byte_size)
    root = int.from_bytes(raw[tree_t.offsetof("ma_root"):tree_t.offsetof("ma_root") + 8],
                          "little")
    flags = int.from_bytes(raw[tree_t.offsetof("ma_flags"):tree_t.offsetof("ma_flags") + 4],
                           "little")
    if verbose:
        height = (flags & 0x7C) >> 2
        yield TreeLine(f"maple_tree({start:x}) flags {flags:X}, height {height} root {root:#x}")
        yield TreeLine("")
    if not is_node(root):
        yield from entry(root, 0, 0, 0, 0, "")
    elif root:
        yield from node(root, 0, layout.max.get((root >> 3) & 0xF, ULONG_MAX), 0, "root")
