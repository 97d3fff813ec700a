"""Every slab of a SLUB cache (`kmem -S`): each CPU's active and partial slabs, each
node's partial list and, when the kernel tracks it, its full list."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING
from collections.abc import Callable, Collection, Iterable, Iterator

from ...errors import MemoryError_
from ...objects import CorruptList, list_for_each
from .slab import (MASK64, SLAB_STORE_USER, IgnoredCache, RawCache, SlabCache, SlubReader,
                   raw_caches, slub_reader)
from .slabobjects import SlabPage, describe_slab

if TYPE_CHECKING:
    from .kernel import LinuxTarget


@dataclass
class CpuSlabs:
    cpu: int
    kmem_cache_cpu: int
    active: SlabPage | None
    partial: list[SlabPage]


@dataclass
class NodeSlabs:
    node: int
    address: int                  # struct kmem_cache_node
    slabs: int
    partial_count: int
    per_cpu: int                  # active CPU slabs on this node
    partial: list[SlabPage]
    full: list[SlabPage] | None   # None: not tracked (no SLAB_STORE_USER)


@dataclass(kw_only=True)
class CacheSlabs(SlabCache):
    """`kmem -S`: a cache with every slab: each CPU's active and partial slabs, each
    node's partial list and, when tracked, its full list."""
    cpus: list[CpuSlabs]
    nodes: list[NodeSlabs]
    #: slabs that could not be read (pages missing from the dump)
    slab_problems: list[str]


def cache_slabs(target: LinuxTarget, names: Iterable[str] | None = None,
                cpus: Collection[int] | None = None,
                ignore: Collection[str] = ()) -> Iterator[CacheSlabs | IgnoredCache]:
    """Every cache (or those in ``names``, in that order) with its slabs, one cache at
    a time (an unknown name or a kernel without SLUB raises at once); only the CPUs in
    ``cpus`` (None: all) shown and counted in a node's PER-CPU; the caches named in
    ``ignore`` not read (kmem -I)."""
    r = slub_reader(target)
    return (IgnoredCache(raw.address, raw.name) if raw.name in ignore
            else _cache_slabs(target, r, raw, cpus) for raw in raw_caches(target, names))


def _cache_slabs(target: LinuxTarget, r: SlubReader, raw: RawCache,
                 cpus: Collection[int] | None) -> CacheSlabs:
    problems: list[str] = []

    def describe(page: int) -> SlabPage | None:
        try:
            return describe_slab(target, r, raw, page)
        except MemoryError_ as e:
            problems.append(f"slab {page:x}: {e}")
            return None

    shown = []
    per_node: dict[int, int] = {}
    # 7.0+: CPUs hold free objects in sheaves, no slabs: no CPU slabs to list
    for n, offset in enumerate(r.cpu_offsets if raw.cpu_slab else ()):
        if cpus is not None and n not in cpus:
            continue
        kcc = (raw.cpu_slab + offset) & MASK64
        active = None
        partial: list[SlabPage] = []
        try:
            page = r.space.read_u64(kcc + r.k_slab)
            active = describe(page) if page else None
            for link in r.cpu_partial(kcc):
                sp = describe(link)
                if sp is not None:
                    partial.append(sp)
        except (MemoryError_, CorruptList) as e:
            problems.append(f"cpu {n}: {e}")
        if active is not None:
            per_node[active.node] = per_node.get(active.node, 0) + 1
        shown.append(CpuSlabs(n, kcc, active, partial))
    nodes = []
    for i, node in enumerate(raw.nodes):
        try:
            partial = _node_list(r, node + r.n_partial, describe, problems)
            full = None
            if raw.flags & SLAB_STORE_USER and r.n_full is not None:
                full = _node_list(r, node + r.n_full, describe, problems)
            nodes.append(NodeSlabs(i, node, r.space.read_u64(node + r.n_nr_slabs),
                                   r.space.read_u64(node + r.n_nr_partial), per_node.get(i, 0),
                                   partial, full))
        except MemoryError_ as e:
            problems.append(f"node {i}: {e}")
    cache = r.cache(raw)
    return CacheSlabs(**{f.name: getattr(cache, f.name) for f in dataclasses.fields(SlabCache)
                         if f.init},
                      cpus=shown, nodes=nodes, slab_problems=problems)


def _node_list(r: SlubReader, head: int, describe: Callable[[int], SlabPage | None],
               problems: list[str]) -> list[SlabPage]:
    """The slabs on a node's partial or full list (a damaged list: those before the
    damage, and a problem line)."""
    out = []
    try:
        for link in list_for_each(r.target, head):
            sp = describe(link - r.s_list)
            if sp is not None:
                out.append(sp)
    except CorruptList as e:
        problems.append(str(e))
    return out
