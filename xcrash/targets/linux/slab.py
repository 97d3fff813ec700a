"""SLUB slab caches and their counts: the records behind `kmem -s` (where an address lies
in slab memory is ``slabobjects.py``'s, every slab of a cache ``slablists.py``'s).

For every ``struct kmem_cache`` on ``slab_caches`` the object and slab totals come
from the per-node counters (``kmem_cache_node.nr_slabs``/``total_objects``, kept with
CONFIG_SLUB_DEBUG); the free objects are counted as the allocator sees them:

* each CPU's active slab: ``objects - inuse`` plus the objects on the CPU's lockless
  freelist (``kmem_cache_cpu.freelist``, a chain through each free object at
  ``kmem_cache.offset``, obfuscated with CONFIG_SLAB_FREELIST_HARDENED as
  ``ptr ^ s->random ^ swab(address of the pointer)``);
* each CPU's partial slabs (``kmem_cache_cpu.partial``, linked by ``slab.next``);
* each node's partial slabs (``kmem_cache_node.partial``): ``objects - inuse``.

Allocated = total - free, which is what crash prints.  Linux 5.17 split ``struct
slab`` out of ``struct page``; both layouts are read.  SLAB and SLOB kernels are
refused with a clear error.  What could not be read is said in each record's
``problems`` (crash's ``kmem: NAME: ...`` lines).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from collections.abc import Iterable, Iterator

from ...arch import PAGE_SIZE
from ...caveats import Unreadable, caveat
from ...errors import MemoryError_, NoSuchType, XcrashError
from ...objects import CorruptList, list_for_each
from ..base import cached_per_target

if TYPE_CHECKING:
    from ...symbols.types import Type
    from .kernel import LinuxTarget

MASK64 = 0xFFFFFFFFFFFFFFFF
SLAB_RED_ZONE = 0x400
SLAB_STORE_USER = 0x10000
#: more slabs than this on one CPU's partial list is a loop in a damaged dump
CPU_PARTIAL_LIMIT = 100_000


class SlabError(XcrashError):
    """The kernel's slab allocator cannot be read."""


@dataclass
class SlabCache:
    """A line of `kmem -s`: one ``struct kmem_cache`` and its counts."""
    cache: int                # struct kmem_cache
    name: str | Unreadable
    objsize: int              # kmem_cache.object_size: what the caller asked for
    size: int                 # kmem_cache.size: object plus metadata and padding
    objects_per_slab: int
    slab_size: int            # bytes: PAGE_SIZE << order
    slabs: int
    total: int
    free: int
    #: what could not be read (the counts leave it out): crash's "kmem: NAME: ..." lines
    problems: list[str]
    allocated: int = field(init=False)

    def __post_init__(self) -> None:
        self.allocated = self.total - self.free


def say_problems(cache: SlabCache) -> None:
    """A WARNING for each part of a cache that could not be read (its counts leave
    it out)."""
    for problem in cache.problems:
        caveat(f"slab cache {cache.name}: {problem}: not counted")


def _swab64(value: int) -> int:
    return int.from_bytes(value.to_bytes(8, "little"), "big")


class SlubReader:
    """Offsets and raw reads for one kernel's SLUB structures, resolved once."""

    def __init__(self, target: LinuxTarget) -> None:
        self.target = target
        self.space = target.space
        if target.symbols.get("slab_caches") is None:
            raise SlabError("no slab_caches symbol: not a slab-allocator kernel")
        try:
            cache_t = target.type("struct kmem_cache")
            node_t = target.type("struct kmem_cache_node")
            cpu_t = target.type("struct kmem_cache_cpu")
        except NoSuchType:
            raise SlabError("this kernel does not use SLUB (no struct kmem_cache_cpu); "
                            "only SLUB caches can be listed") from None
        try:
            slab_t = target.type("struct slab")
            if not slab_t.has_member("slab_cache"):
                slab_t = target.type("struct page")     # a struct slab that is not SLUB's
        except NoSuchType:
            slab_t = target.type("struct page")         # before Linux 5.17

        def off(t: Type, name: str) -> int:
            return t.offsetof(name)

        def maybe(t: Type, name: str) -> int | None:
            return t.offsetof(name) if t.has_member(name) else None

        self.c_list = off(cache_t, "list")
        self.c_name = off(cache_t, "name")
        self.c_object_size = off(cache_t, "object_size")
        self.c_size = off(cache_t, "size")
        self.c_offset = off(cache_t, "offset")
        self.c_oo = off(cache_t, "oo")
        self.c_cpu_slab = off(cache_t, "cpu_slab")
        self.c_node = off(cache_t, "node")
        # kmem_cache is allocated only up to node[nr_node_ids]: what follows is not ours
        declared = cache_t.member("node")[1].type.strip_typedefs().length or 1
        nr_node_ids = target.symbols.get("nr_node_ids")
        self.nr_nodes = (min(target.space.read_u32(nr_node_ids.address), declared)
                         if nr_node_ids is not None else declared)
        self.c_flags = off(cache_t, "flags")
        self.c_red_left_pad = maybe(cache_t, "red_left_pad")
        self.c_random = maybe(cache_t, "random")
        self.n_nr_partial = off(node_t, "nr_partial")
        self.n_partial = off(node_t, "partial")
        self.n_full = maybe(node_t, "full")
        if not node_t.has_member("total_objects"):
            raise SlabError("kmem_cache_node has no total_objects (kernel built without "
                            "CONFIG_SLUB_DEBUG): slab totals are not kept")
        self.n_nr_slabs = off(node_t, "nr_slabs")
        self.n_total_objects = off(node_t, "total_objects")
        self.k_freelist = off(cpu_t, "freelist")
        self.k_slab = off(cpu_t, "slab" if cpu_t.has_member("slab") else "page")
        self.k_partial = maybe(cpu_t, "partial")
        self.s_list = off(slab_t, "slab_list" if slab_t.has_member("slab_list") else "lru")
        self.s_next = maybe(slab_t, "next")
        self.s_counters = off(slab_t, "counters")
        self.s_freelist = off(slab_t, "freelist")
        self.s_cache = off(slab_t, "slab_cache")
        self.cpu_offsets = target.per_cpu_offsets or [0]
        self._node_ranges: list[tuple[int, int, int]] | None = None
        self._node_problem = ""

    def node_of(self, pfn: int) -> int:
        """The memory node holding page frame ``pfn``."""
        if self._node_ranges is None:
            from .meminfo import pgdats
            try:
                self._node_ranges = [(int(p.node_start_pfn),
                                      int(p.node_start_pfn) + int(p.node_spanned_pages),
                                      int(p.node_id)) for p in pgdats(self.target)]
            except MemoryError_ as err:
                self._node_ranges = []
                self._node_problem = f"memory nodes unreadable ({err}): slabs shown on node 0"
        if self._node_problem:
            caveat(self._node_problem)
        return next((node for start, end, node in self._node_ranges if start <= pfn < end), 0)

    # -- one slab -----------------------------------------------------------------
    def slab_counts(self, slab: int) -> tuple[int, int]:
        """(inuse, objects) of one slab: the 16- and 15-bit fields of ``counters``."""
        counters = self.space.read_u32(slab + self.s_counters)
        return counters & 0xFFFF, (counters >> 16) & 0x7FFF

    def freelist(self, cache: RawCache, first: int, limit: int) -> Iterator[int]:
        """The free objects chained from ``first`` (at most ``limit``, loops stopped:
        a freelist holds at most the slab's objects, each once)."""
        seen: set[int] = set()
        obj = first
        while obj and obj not in seen and len(seen) < limit:
            seen.add(obj)
            yield obj
            where = obj + cache.offset
            stored = self.space.read_u64(where)
            obj = stored if cache.random is None else stored ^ cache.random ^ _swab64(where)

    def cpu_partial(self, kcc: int) -> Iterator[int]:
        """The slabs on one CPU's partial list (``slab.next`` chain, NULL-ended)."""
        if self.k_partial is None or self.s_next is None:
            return
        link = self.space.read_u64(kcc + self.k_partial)
        seen: set[int] = set()
        while link:
            if link in seen or len(seen) >= CPU_PARTIAL_LIMIT:
                raise CorruptList(kcc + self.k_partial, link, "loop in the CPU partial list")
            seen.add(link)
            yield link
            link = self.space.read_u64(link + self.s_next)

    # -- one cache -----------------------------------------------------------------
    def cache(self, raw: RawCache) -> SlabCache:
        problems: list[str] = []
        free = 0
        for cpu, offset in enumerate(self.cpu_offsets):
            kcc = (raw.cpu_slab + offset) & MASK64
            try:
                free += self._cpu_free(raw, kcc)
            except (MemoryError_, CorruptList) as e:
                problems.append(f"cpu {cpu} slab: {e}")
        slabs = total = 0
        for node in raw.nodes:
            try:
                slabs += self.space.read_u64(node + self.n_nr_slabs)
                total += self.space.read_u64(node + self.n_total_objects)
                free += self._partial_free(node, problems)
            except MemoryError_ as e:
                problems.append(f"node {node:#x}: {e}")
        return SlabCache(cache=raw.address, name=raw.name, objsize=raw.object_size,
                         size=raw.size, objects_per_slab=raw.objects, slab_size=raw.slab_size,
                         slabs=slabs, total=total, free=free, problems=problems)

    def _cpu_free(self, raw: RawCache, kcc: int) -> int:
        free = 0
        slab = self.space.read_u64(kcc + self.k_slab)
        if slab:
            inuse, objects = self.slab_counts(slab)
            free += max(objects - inuse, 0)
            first = self.space.read_u64(kcc + self.k_freelist)
            free += sum(1 for _ in self.freelist(raw, first, objects or raw.objects))
        for partial in self.cpu_partial(kcc):
            inuse, objects = self.slab_counts(partial)
            free += max(objects - inuse, 0)
        return free

    def _partial_free(self, node: int, problems: list[str]) -> int:
        head = node + self.n_partial
        expected = self.space.read_u64(node + self.n_nr_partial)
        free = 0
        link = self.space.read_u64(head)
        seen = 0
        while link != head:
            if seen > expected + 1000:
                problems.append(f"node {node:#x}: partial list longer than nr_partial ({expected})")
                break
            inuse, objects = self.slab_counts(link - self.s_list)
            free += max(objects - inuse, 0)
            link = self.space.read_u64(link)
            seen += 1
        return free


@cached_per_target
def slub_reader(target: LinuxTarget) -> SlubReader:
    """The SLUB reader of a target (its offsets resolved once)."""
    return SlubReader(target)


class RawCache:
    """The few fields of one ``struct kmem_cache`` the counts need."""

    def __init__(self, r: SlubReader, address: int) -> None:
        sp = r.space
        self.address = address
        name = sp.read_u64(address + r.c_name)
        self.name: str | Unreadable
        try:
            self.name = sp.read_cstring(name, 64).decode("utf-8", "replace") if name else "(unnamed)"
        except MemoryError_ as err:
            caveat(f"name of kmem_cache {address:x} unreadable ({err}): shown as ?")
            self.name = Unreadable(str(err))
        self.object_size = sp.read_u32(address + r.c_object_size)
        self.size = sp.read_u32(address + r.c_size)
        self.offset = sp.read_u32(address + r.c_offset)
        oo = sp.read_u32(address + r.c_oo)
        self.objects = oo & 0xFFFF
        self.slab_size = PAGE_SIZE << (oo >> 16)
        self.cpu_slab = sp.read_u64(address + r.c_cpu_slab)
        self.random = sp.read_u64(address + r.c_random) if r.c_random is not None else None
        self.flags = sp.read_u32(address + r.c_flags)
        self.red_left_pad = (sp.read_u32(address + r.c_red_left_pad)
                             if self.flags & SLAB_RED_ZONE and r.c_red_left_pad is not None else 0)
        nodes = [sp.read_u64(address + r.c_node + 8 * i) for i in range(r.nr_nodes)]
        self.nodes = [n for n in nodes if n]


@cached_per_target
def cache_addresses(target: LinuxTarget) -> list[int]:
    """Every ``struct kmem_cache`` on ``slab_caches``, in list order (newest first)."""
    r = slub_reader(target)
    head = target.address_of("slab_caches")
    return [link - r.c_list for link in list_for_each(target, head)]


@cached_per_target
def cache_set(target: LinuxTarget) -> frozenset[int]:
    """The caches' addresses, to tell whether a slab's ``slab_cache`` is one."""
    return frozenset(cache_addresses(target))


def raw_caches(target: LinuxTarget, names: Iterable[str] | None) -> list[RawCache]:
    """The caches to show: all, in list order, or those named, in the order asked
    (caches of the same name in list order; an unknown name is an error before
    anything is shown)."""
    r = slub_reader(target)
    raws = [RawCache(r, address) for address in cache_addresses(target)]
    if names is None:
        return raws
    by_name: dict[str, list[RawCache]] = {}
    for raw in raws:
        if isinstance(raw.name, str):
            by_name.setdefault(raw.name, []).append(raw)     # crash shows every namesake
    wanted = list(names)
    missing = [n for n in wanted if n not in by_name]
    if missing:
        raise SlabError(f"no slab cache named {', '.join(missing)} (`kmem -s` lists them)")
    return [raw for n in wanted for raw in by_name[n]]


def slab_caches(target: LinuxTarget, names: Iterable[str] | None = None) -> Iterator[SlabCache]:
    """The SLUB caches (only those in ``names``, in that order, when given) with their
    counts, one at a time (an unknown name or a kernel without SLUB raises at once)."""
    r = slub_reader(target)
    return (r.cache(raw) for raw in raw_caches(target, names))


def cache_names(target: LinuxTarget) -> set[str]:
    """The names of the slab caches (to tell a cache name from an address)."""
    r = slub_reader(target)
    return {raw.name for raw in (RawCache(r, a) for a in cache_addresses(target))
            if isinstance(raw.name, str)}
