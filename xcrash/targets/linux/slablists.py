"""Every slab of a SLUB cache (`kmem -S`): each CPU's active and partial slabs, each
node's partial list and, when the kernel tracks it, its full list."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING
from collections.abc import Callable, Iterable, Iterator

from ...errors import MemoryError_
from ...objects import CorruptList, list_for_each
from .slab import MASK64, SLAB_STORE_USER, RawCache, SlabCache, SlubReader, raw_caches, slub_reader
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


def cache_slabs(target: LinuxTarget, names: Iterable[str] | None = None) -> Iterator[CacheSlabs]:
    """Every cache (or those in ``names``, in that order) with its slabs, one cache at
    a time (an unknown name or a kernel without SLUB raises at once)."""
    r = slub_reader(target)
    return (_cache_slabs(target, r, raw) for raw in raw_caches(target, names))


def _cache_slabs(target: LinuxTarget, r: SlubReader, raw: RawCache) -> CacheSlabs:
    problems: list[str] = []

    def describe(page: int) -> SlabPage | None:
        try:
            return describe_slab(target, r, raw, page)
        except MemoryError_ as e:
            problems.append(f"slab {page:x}: {e}")
            return None

    cpus = []
    per_node: dict[int, int] = {}
    # 7.0+: CPUs hold free objects in sheaves, no slabs: no CPU slabs to list
    for n, offset in enumerate(r.cpu_offsets if raw.cpu_slab else ()):
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
        cpus.append(CpuSlabs(n, kcc, active, partial))
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
                      cpus=cpus, nodes=nodes, slab_problems=problems)


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
